/* orch.c - see orch.h. */
#include "orch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "log.h"
#include "proc.h"

#define FIXED_ARGS 9 /* orch_spawn()'s own, the program included */
#define MAX_ARGS   8 /* further arguments, at most */

/* The writer thread of a pipelined run. */
struct feeder {
	int fd;
	const char *data;
	size_t len;
	uint64_t t0; /* just before the first write */
	int rc;
};

/* Return the CPU time the calling thread has used, in nanoseconds. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Write all n bytes to the non-blocking fd, waiting at most TIMEOUT_MS for
   room each time; return 0 or -1 with a message. */
static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = io_write(fd, c, n);

		if (w > 0) {
			c += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN) {
			log_errno("write to orchestrator");
			return -1;
		}
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		int rc = poll(&pf, 1, TIMEOUT_MS);
		if (rc == 0) {
			log_msg("orchestrator took no input for %d s",
			        TIMEOUT_MS / 1000);
			return -1;
		}
		if (rc < 0 && errno != EINTR) {
			log_errno("poll");
			return -1;
		}
	}
	return 0;
}

void orch_line(char *out, const char *tag, unsigned long long i)
{
	size_t t = strlen(tag);

	memcpy(out, tag, t);
	out[t] = ' ';
	for (size_t k = MSG_BYTES; k-- > t + 1; i /= 10)
		out[k] = (char)('0' + i % 10);
	out[MSG_BYTES] = '\n';
}

void orch_init(struct orch *o, const struct bench *b, struct children *ch,
               unsigned n)
{
	o->b = b;
	o->ch = ch;
	o->n = n;
	o->in = o->out.fd = -1;
	o->seq = 0;
}

/* Close our ends of the orchestrator's pipes. */
static void orch_close(struct orch *o)
{
	if (o->in >= 0)
		close(o->in);
	if (o->out.fd >= 0)
		close(o->out.fd);
	o->in = o->out.fd = -1;
}

/* Fork the orchestrator with conf and args, its pipes ours; return 0 or
   -1 with a message. */
static int orch_spawn(struct orch *o, const char *conf, const char *const *args)
{
	const struct bench *b = o->b;
	char nbuf[16], pbuf[16];
	const char *argv[FIXED_ARGS + MAX_ARGS + 1] = {
	    b->orch, "-c", conf, "-n", nbuf, "-p", pbuf, "--json", "-q"};
	int in[2], out[2], logfd, k = FIXED_ARGS;

	snprintf(nbuf, sizeof(nbuf), "%u", o->n);
	snprintf(pbuf, sizeof(pbuf), "%d", b->port);
	for (; args && *args && k < FIXED_ARGS + MAX_ARGS; args++)
		argv[k++] = *args;
	logfd = open(b->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		log_errno("%s", b->log);
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) < 0) {
		log_errno("pipe");
		close(logfd);
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		log_errno("pipe");
		close(logfd);
		close(in[0]);
		close(in[1]);
		return -1;
	}
	o->ch->orch =
	    children_spawn(b, (char *const *)argv, in[0], out[1], logfd);
	close(logfd);
	close(in[0]);
	close(out[1]);
	o->in = in[1];
	reader_init(&o->out, out[0]);
	o->seq = 0;
	if (o->ch->orch < 0) {
		o->ch->orch = 0;
		return -1;
	}
	fd_set_nonblock(o->in, true);
	fd_set_nonblock(o->out.fd, true);
	return 0;
}

int orch_start(struct orch *o, const char *conf, const char *const *args,
               double *wall_ms, double *ready_ms)
{
	uint64_t t0 = clock_ns();
	const char *ev;

	if (orch_spawn(o, conf, args) < 0)
		return -1;
	ev = orch_event(o);
	if (!ev)
		return -1;
	if (!event_is(ev, EVENT("ready")) ||
	    event_int(ev, FIELD("nodes")) != o->n) {
		log_msg("expected ready with %u nodes, got: %s", o->n, ev);
		return -1;
	}
	*wall_ms = clock_ms_since(t0);
	*ready_ms = event_num(ev, FIELD("ms"));
	return 0;
}

int orch_write(struct orch *o, const void *p, size_t len)
{
	return write_all(o->in, p, len);
}

char *orch_event(struct orch *o)
{
	return reader_line(&o->out);
}

/* The writer thread: write all its lines at once. */
static void *feed(void *arg)
{
	struct feeder *w = arg;

	w->t0 = clock_ns();
	w->rc = write_all(w->fd, w->data, w->len);
	return NULL;
}

int orch_pipeline(struct orch *o, const char *data, size_t len, unsigned m,
                  orch_check_fn *check, void *arg, struct orch_span *span)
{
	struct feeder w = {.fd = o->in, .data = data, .len = len};
	uint64_t cpu = thread_cpu_ns();
	pthread_t th;
	int rc = 0, err;

	err = pthread_create(&th, NULL, feed, &w);
	if (err) {
		errno = err;
		log_errno("pthread_create");
		return -1;
	}
	for (unsigned i = 0; i < m && rc == 0; i++) {
		const char *ev = orch_event(o);

		if (!ev || check(o, ev, i, arg) < 0)
			rc = -1;
		else
			o->seq++;
	}
	span->t1 = clock_ns();
	span->reader_cpu = thread_cpu_ns() - cpu;
	if (rc < 0)
		children_kill_all(o->ch); /* so that the writer stops at once */
	pthread_join(th, NULL);
	span->t0 = w.t0;
	return rc < 0 || w.rc < 0 ? -1 : 0;
}

int orch_stop(struct orch *o, double *down_ms, double *shut_ms)
{
	uint64_t t0 = clock_ns();
	const char *ev;
	int st;

	close(o->in);
	o->in = -1;
	ev = orch_event(o);
	if (!ev)
		return -1;
	if (!event_is(ev, EVENT("shutdown")) ||
	    event_int(ev, FIELD("status")) != 0) {
		log_msg("expected a clean shutdown event, got: %s", ev);
		return -1;
	}
	*shut_ms = event_num(ev, FIELD("ms"));
	if (children_reap(&o->ch->orch, &st, 1) < 0)
		return -1;
	*down_ms = clock_ms_since(t0);
	if (children_orphans_left())
		return -1;
	if (st != 0) {
		char how[64];

		proc_status_str(st, how, sizeof(how));
		log_msg("orchestrator %s", how);
		return -1;
	}
	orch_close(o);
	return 0;
}

void orch_fail(struct orch *o, const char *what)
{
	children_kill_all(o->ch);
	orch_close(o);
	children_show_log(o->b->log, "orchestrator's");
	log_msg("%s with %u nodes failed", what, o->n);
}
