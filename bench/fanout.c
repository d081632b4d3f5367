/* fanout.c - see fanout.h. */
#include "fanout.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "events.h"
#include "io.h"
#include "log.h"
#include "proc.h"
#include "stats.h"

#define LOG_PART 1024 /* bytes shown of each end of a long log */

struct fanout {
	const struct bench *b;
	struct children *ch; /* ch->orch: the orchestrator, while it runs */
	unsigned n;          /* nodes */
	char *lines;         /* pipelined_for(n) lines of MSG_BYTES + 1 */
	int in;              /* its standard input, -1 when closed */
	uint64_t seq;        /* last broadcast acknowledged */
	struct reader out;   /* its standard output, fd -1 when closed */
};

/* The writer thread of the pipelined run. */
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
   room each time; return 0 or -1 with a message naming what. */
static int write_all(int fd, const void *p, size_t n, const char *what)
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
			log_errno("write to %s", what);
			return -1;
		}
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		int rc = poll(&pf, 1, TIMEOUT_MS);
		if (rc == 0) {
			log_msg("%s took no input for %d s", what,
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

/* Write message number i, tagged, as a 32-byte line into out (33 bytes):
   the tag, a blank, then i in zero-padded decimal. */
static void make_line(char *out, const char *tag, unsigned long long i)
{
	size_t t = strlen(tag);

	memcpy(out, tag, t);
	out[t] = ' ';
	for (size_t k = MSG_BYTES; k-- > t + 1; i /= 10)
		out[k] = (char)('0' + i % 10);
	out[MSG_BYTES] = '\n';
}

struct fanout *fanout_new(const struct bench *b, struct children *ch,
                          unsigned n)
{
	unsigned m = pipelined_for(n);
	struct fanout *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->b = b;
	f->ch = ch;
	f->n = n;
	f->in = f->out.fd = -1;
	f->lines = malloc((size_t)m * (MSG_BYTES + 1));
	if (!f->lines) {
		free(f);
		return NULL;
	}
	for (unsigned i = 0; i < m; i++)
		make_line(f->lines + (size_t)i * (MSG_BYTES + 1), "pipe",
		          i + 1);
	return f;
}

void fanout_free(struct fanout *f)
{
	if (f) {
		free(f->lines);
		free(f);
	}
}

/* Exec the orchestrator in the child with in and out as its standard input
   and output and logfd as its error. Never returns. */
static void orch_exec(const struct fanout *f, int in, int out, int logfd,
                      pid_t parent)
{
	const struct bench *b = f->b;
	char nbuf[16], pbuf[16];

	snprintf(nbuf, sizeof(nbuf), "%u", f->n);
	snprintf(pbuf, sizeof(pbuf), "%d", b->port);
	if (children_setup_child(&b->oldmask, parent) < 0)
		_exit(127);
	if (dup2(logfd, 2) < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
	    chdir(b->dir) < 0) {
		log_errno("orchestrator's descriptors");
		_exit(127);
	}
	execl(b->orch, b->orch, "-c", b->conf, "-n", nbuf, "-p", pbuf, "--json",
	      "-q", (char *)NULL);
	log_errno("exec %s", b->orch);
	_exit(127);
}

/* Start the orchestrator; return 0 or -1 with a message. */
static int orch_spawn(struct fanout *f)
{
	int in[2], out[2], logfd;
	pid_t parent = getpid();

	logfd = open(f->b->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		log_errno("%s", f->b->log);
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
	f->ch->orch = fork();
	if (f->ch->orch == 0)
		orch_exec(f, in[0], out[1], logfd, parent);
	close(logfd);
	close(in[0]);
	close(out[1]);
	f->in = in[1];
	reader_init(&f->out, out[0]);
	f->seq = 0;
	if (f->ch->orch < 0) {
		log_errno("fork");
		f->ch->orch = 0;
		return -1;
	}
	fd_set_nonblock(f->in, true);
	fd_set_nonblock(f->out.fd, true);
	return 0;
}

/* Close our ends of the orchestrator's pipes. */
static void orch_close(struct fanout *f)
{
	if (f->in >= 0)
		close(f->in);
	if (f->out.fd >= 0)
		close(f->out.fd);
	f->in = f->out.fd = -1;
}

/* Run k lock-step rounds, each line written once the previous one is
   reported; store the p50 and p99 of the rounds in fig. Return 0 or -1. */
static int fanout_rounds(struct fanout *f, unsigned k, double *fig)
{
	double ms[MAX_ROUNDS], wall[MAX_ROUNDS];
	char line[MSG_BYTES + 1];

	for (unsigned i = 0; i < k; i++) {
		uint64_t t0 = clock_ns();
		const char *ev;

		make_line(line, "round", f->seq + 1);
		if (write_all(f->in, line, sizeof(line), "orchestrator") < 0)
			return -1;
		ev = reader_line(&f->out);
		if (!ev ||
		    (ms[i] = event_broadcast_ms(ev, f->seq + 1, f->n)) < 0)
			return -1;
		wall[i] = clock_ms_since(t0);
		f->seq++;
	}
	fig[F_P50] = stats_percentile(ms, k, 50);
	fig[F_P99] = stats_percentile(ms, k, 99);
	fig[F_WALL50] = stats_percentile(wall, k, 50);
	return 0;
}

/* The writer thread: write all its lines at once. */
static void *feed(void *arg)
{
	struct feeder *w = arg;

	w->t0 = clock_ns();
	w->rc = write_all(w->fd, w->data, w->len, "orchestrator");
	return NULL;
}

/* Pipeline the first m lines (33 bytes each) and read their m events;
   store the acked deliveries per second in fig. Return 0 or -1. */
static int fanout_pipelined(struct fanout *f, unsigned m, double *fig)
{
	struct feeder w = {
	    .fd = f->in, .data = f->lines, .len = (size_t)m * (MSG_BYTES + 1)};
	uint64_t t1, cpu = thread_cpu_ns();
	pthread_t th;
	int rc = 0, err;

	err = pthread_create(&th, NULL, feed, &w);
	if (err) {
		errno = err;
		log_errno("pthread_create");
		return -1;
	}
	for (unsigned i = 0; i < m && rc == 0; i++) {
		const char *ev = reader_line(&f->out);

		if (!ev || event_broadcast_ms(ev, f->seq + 1, f->n) < 0)
			rc = -1;
		else
			f->seq++;
	}
	t1 = clock_ns();
	cpu = thread_cpu_ns() - cpu;
	if (rc < 0)
		children_kill_all(f->ch); /* so that the writer stops at once */
	pthread_join(th, NULL);
	if (rc < 0 || w.rc < 0)
		return -1;
	fig[F_RATE] = (double)m * f->n / ((double)(t1 - w.t0) / 1e9);
	fig[F_RCPU] = (double)cpu / (double)(t1 - w.t0);
	return 0;
}

/* Store the orchestrator's peak RSS and one node's RSS in fig; return 0
   or -1. */
static int fanout_memory(const struct fanout *f, double *fig)
{
	long hwm = children_status_kb(f->ch->orch, "VmHWM"), rss = -1;
	pid_t node;

	if (children_of(f->ch->orch, &node, 1) == 1)
		rss = children_status_kb(node, "VmRSS");
	if (hwm < 0 || rss < 0) {
		log_msg("cannot read the %s's memory in /proc",
		        hwm < 0 ? "orchestrator" : "nodes");
		return -1;
	}
	fig[F_ORSS] = hwm / 1024.0;
	fig[F_NRSS] = rss / 1024.0;
	return 0;
}

/* Close the orchestrator's input, read its shutdown event and reap it;
   store the teardown times in fig. Return 0 or -1. */
static int fanout_teardown(struct fanout *f, double *fig)
{
	uint64_t t0 = clock_ns();
	const char *ev;
	char how[64];
	int st;

	close(f->in);
	f->in = -1;
	ev = reader_line(&f->out);
	if (!ev)
		return -1;
	if (!event_is(ev, EVENT("shutdown")) ||
	    event_int(ev, FIELD("status")) != 0) {
		log_msg("expected a clean shutdown event, got: %s", ev);
		return -1;
	}
	fig[F_SHUT] = event_num(ev, FIELD("ms"));
	if (children_reap(&f->ch->orch, &st, 1) < 0)
		return -1;
	fig[F_DOWN] = clock_ms_since(t0);
	if (children_orphans_left())
		return -1;
	if (st != 0) {
		proc_status_str(st, how, sizeof(how));
		log_msg("orchestrator %s", how);
		return -1;
	}
	return 0;
}

/* Copy len bytes of fd from offset off to standard error; return 0 or -1. */
static int copy_out(int fd, off_t off, size_t len)
{
	char text[LOG_PART];
	ssize_t r =
	    pread(fd, text, len < sizeof(text) ? len : sizeof(text), off);

	if (r <= 0)
		return -1;
	(void)!write(STDERR_FILENO, text, (size_t)r);
	return 0;
}

/* Show the orchestrator's standard error: all of it, or when long its
   beginning (the first fault) and its end (the last words). */
static void show_log(const struct bench *b)
{
	int fd = open(b->log, O_RDONLY | O_CLOEXEC);
	off_t end;

	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > 0)
		log_msg("the orchestrator's standard error said:");
	if (end <= 2 * LOG_PART) {
		copy_out(fd, 0, (size_t)end);
	} else {
		copy_out(fd, 0, LOG_PART);
		dprintf(STDERR_FILENO, "\n[... %lld bytes ...]\n",
		        (long long)end - 2 * LOG_PART);
		copy_out(fd, end - LOG_PART, LOG_PART);
	}
	close(fd);
}

int fanout_rep(struct fanout *f, double *fig)
{
	uint64_t t0 = clock_ns();
	const char *ev;

	if (orch_spawn(f) < 0)
		goto fail;
	ev = reader_line(&f->out);
	if (!ev)
		goto fail;
	if (!event_is(ev, EVENT("ready")) ||
	    event_int(ev, FIELD("nodes")) != f->n) {
		log_msg("expected ready with %u nodes, got: %s", f->n, ev);
		goto fail;
	}
	fig[F_START] = clock_ms_since(t0);
	fig[F_READY] = event_num(ev, FIELD("ms"));
	if (fanout_rounds(f, rounds_for(f->n), fig) < 0 ||
	    fanout_pipelined(f, pipelined_for(f->n), fig) < 0 ||
	    fanout_memory(f, fig) < 0 || fanout_teardown(f, fig) < 0)
		goto fail;
	orch_close(f);
	return 0;
fail:
	children_kill_all(f->ch);
	orch_close(f);
	show_log(f->b);
	log_msg("fanout with %u nodes failed", f->n);
	return -1;
}
