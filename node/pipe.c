/* pipe.c - see pipe.h. */
#include "pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "child.h"
#include "clock.h"
#include "io.h"
#include "log.h"

#define READ_CHUNK     65536
#define READ_ROUNDS    16
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define QUICK_DEATH_MS 1000 /* a co-process that lived less kept dying */

void pipe_init(struct pipe_co *p)
{
	*p = (struct pipe_co){.in_fd = -1, .out_fd = -1};
}

bool pipe_can_take(const struct pipe_co *p)
{
	return !p->timed_out && p->nsent < PIPE_WINDOW &&
	       (p->pid > 0 || clock_ns() >= p->restart_ns);
}

/* Arm the next start after a co-process ended (or could not start). */
static void back_off(struct pipe_co *p)
{
	uint64_t now = clock_ns();

	if (now - p->started_ns >= MS_NS(QUICK_DEATH_MS))
		p->backoff_ms = 0;
	else if (p->backoff_ms == 0)
		p->backoff_ms = BACKOFF_MIN_MS;
	else if ((p->backoff_ms *= 2) > BACKOFF_MAX_MS)
		p->backoff_ms = BACKOFF_MAX_MS;
	p->restart_ns = p->started_ns + MS_NS(p->backoff_ms);
}

/* Start the co-process; return 0, or -1 with errno. */
static int start(struct pipe_co *p, struct work_ctx *w)
{
	int in[2], out[2], err;

	if (!w->argv) {
		errno = ENOENT;
		return -1;
	}
	if (child_pipe(in, 1) < 0)
		return -1;
	if (child_pipe(out, 0) < 0) {
		err = errno;
		close(in[0]);
		close(in[1]);
		errno = err;
		return -1;
	}
	p->started_ns = clock_ns();
	p->pid = child_spawn(w->argv, (const int[]){in[0], out[1], 2}, 3);
	err = errno;
	close(in[0]);
	close(out[1]);
	if (p->pid < 0) {
		close(in[1]);
		close(out[0]);
		p->pid = 0;
		errno = err;
		return -1;
	}
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->timed_out = false;
	p->said = false;
	return 0;
}

/* Forget the oldest unanswered message. */
static void forget_first(struct pipe_co *p)
{
	free(p->sent[p->first].data);
	p->sent[p->first].data = NULL;
	p->first = (p->first + 1) % PIPE_WINDOW;
	p->nsent--;
}

/* Answer the oldest unanswered message with r (its seq filled here). */
static void answer_first(struct pipe_co *p, struct work_ctx *w,
                         struct proto_reply *r)
{
	r->seq = p->sent[p->first].seq;
	if (p->died)
		r->flags |= REPLY_F_RESTARTED;
	p->died = false;
	forget_first(p);
	(void)work_reply(w, r);
}

/* Answer the kept messages whose deadline has passed: never run. */
static void expire_kept(struct pipe_co *p, struct work_ctx *w)
{
	while (p->nsent > 0 && p->sent[p->first].deadline_ns <= clock_ns()) {
		struct proto_reply r = {.how = REPLY_TIMED_OUT};
		p->died = false; /* it ran on no co-process */
		answer_first(p, w, &r);
	}
}

/* Start a co-process, the kept messages (those a dead one was sent after
   the one it answered last, so never began) written to it first.
   Return 0, or -1 with errno (the kept are answered then: it cannot
   run). */
static int restart(struct pipe_co *p, struct work_ctx *w)
{
	expire_kept(p, w);
	for (unsigned k = 0; k < p->nsent; k++) {
		unsigned i = (p->first + k) % PIPE_WINDOW;
		if (buf_append(&p->wq, p->sent[i].data, p->sent[i].len) < 0 ||
		    buf_append(&p->wq, "\n", 1) < 0)
			break; /* out of memory: start() fails alike */
	}
	if (start(p, w) == 0)
		return 0;
	int err = errno;
	buf_consume(&p->wq, buf_used(&p->wq));
	while (p->nsent > 0) {
		errno = err;
		(void)work_cannot_run(w, p->sent[p->first].seq,
		                      w->argv ? w->argv[0] : "");
		p->died = false;
		forget_first(p);
	}
	back_off(p);
	errno = err;
	return -1;
}

void pipe_warm(struct pipe_co *p, struct work_ctx *w)
{
	if (p->pid > 0)
		return;
	if (restart(p, w) < 0)
		log_msg("handler_command: cannot run '%s': %s",
		        w->argv ? w->argv[0] : "", strerror(errno));
}

void pipe_begin(struct pipe_co *p, struct work_ctx *w,
                const struct work_item *m)
{
	if (memchr(m->data, '\n', m->len)) {
		(void)work_refuse(w, m->seq,
		                  "a message with a newline would "
		                  "be two lines; not sent");
		return;
	}
	if (p->pid == 0 && restart(p, w) < 0) {
		(void)work_cannot_run(w, m->seq, w->argv ? w->argv[0] : "");
		return;
	}
	uint8_t *copy = malloc(m->len ? m->len : 1);
	if (!copy || buf_append(&p->wq, m->data, m->len) < 0 ||
	    buf_append(&p->wq, "\n", 1) < 0) {
		free(copy);
		(void)work_refuse(w, m->seq, "out of memory; not sent");
		return;
	}
	memcpy(copy, m->data, m->len);
	unsigned i = (p->first + p->nsent++) % PIPE_WINDOW;
	p->sent[i].seq = m->seq;
	p->sent[i].deadline_ns = m->deadline_ns;
	p->sent[i].data = copy;
	p->sent[i].len = m->len;
}

void pipe_flush(struct pipe_co *p)
{
	/* A co-process that closed its stdin is dying or will time out. */
	if (p->in_fd >= 0 && work_flush(p->in_fd, &p->wq) < 0) {
		work_close(&p->in_fd);
		buf_consume(&p->wq, buf_used(&p->wq));
	}
}

int pipe_poll_set(const struct pipe_co *p, struct pollfd *pfd)
{
	int n = 0;

	if (p->out_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
	if (p->in_fd >= 0 && buf_used(&p->wq) > 0)
		pfd[n++] = (struct pollfd){.fd = p->in_fd, .events = POLLOUT};
	return n;
}

/* A whole answer line is in p->line: answer with it, or count it as
   surplus when nothing is unanswered. */
static void line_done(struct pipe_co *p, struct work_ctx *w,
                      unsigned long *surplus)
{
	if (p->nsent == 0) {
		(*surplus)++;
	} else {
		struct proto_reply r = {.how = REPLY_EXITED};
		r.output = buf_head(&p->line);
		r.len = (uint32_t)buf_used(&p->line);
		r.dropped = p->line_dropped;
		answer_first(p, w, &r);
	}
	buf_consume(&p->line, buf_used(&p->line));
	p->line_dropped = 0;
}

/* Split n bytes of output into answer lines. */
static void take_output(struct pipe_co *p, struct work_ctx *w, const uint8_t *b,
                        size_t n, unsigned long *surplus)
{
	while (n > 0) {
		const uint8_t *nl = memchr(b, '\n', n);
		size_t part = nl ? (size_t)(nl - b) : n;
		/* A SETUP may have lowered the bound under a line begun. */
		size_t used = buf_used(&p->line), max = w->set.max_reply_bytes;
		size_t room = used >= max ? 0 : max - used;
		size_t keep = part < room ? part : room;

		if (keep > 0 && buf_append(&p->line, b, keep) < 0)
			keep = 0;
		p->line_dropped += (uint32_t)(part - keep);
		if (nl)
			line_done(p, w, surplus);
		part += nl ? 1 : 0;
		b += part;
		n -= part;
	}
}

/* Read the co-process's output: up to limit bytes (-1: what comes). */
static void read_output(struct pipe_co *p, struct work_ctx *w, long limit)
{
	uint8_t chunk[READ_CHUNK];
	unsigned long surplus = 0;

	for (int i = 0; i < READ_ROUNDS && p->out_fd >= 0 && limit != 0; i++) {
		size_t want = limit > 0 && (size_t)limit < sizeof(chunk)
		                  ? (size_t)limit
		                  : sizeof(chunk);
		ssize_t r = io_read(p->out_fd, chunk, want);
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			work_close(&p->out_fd); /* it is ending: wait to reap */
			break;
		}
		take_output(p, w, chunk, (size_t)r, &surplus);
		if (limit > 0)
			limit -= r;
	}
	if (surplus > 0 && !p->said) {
		log_msg("handler answered %lu line%s nobody asked for; dropped",
		        surplus, surplus == 1 ? "" : "s");
		p->said = true;
	}
}

void pipe_events(struct pipe_co *p, struct work_ctx *w,
                 const struct pollfd *pfd, int n)
{
	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == p->out_fd)
			read_output(p, w, -1);
		else if (pfd[i].fd == p->in_fd)
			pipe_flush(p);
	}
}

/* Close the pipes and SIGTERM the group; the unanswered are kept. */
static void end(struct pipe_co *p, struct work_ctx *w, uint32_t grace_ms)
{
	work_close(&p->in_fd);
	work_close(&p->out_fd);
	buf_consume(&p->wq, buf_used(&p->wq));
	buf_consume(&p->line, buf_used(&p->line));
	p->line_dropped = 0;
	if (p->pid > 0)
		groups_stop(&w->groups, p->pid, grace_ms);
	p->pid = 0;
	p->timed_out = false;
}

/* End the co-process and forget the unanswered. */
static void drop(struct pipe_co *p, struct work_ctx *w, uint32_t grace_ms)
{
	end(p, w, grace_ms);
	while (p->nsent > 0)
		forget_first(p);
}

bool pipe_reaped(struct pipe_co *p, struct work_ctx *w, pid_t pid, int status)
{
	int left = 0;

	if (pid != p->pid || pid == 0)
		return false;
	/* Lines it wrote before it ended are answers all the same. */
	if (p->out_fd >= 0 && ioctl(p->out_fd, FIONREAD, &left) == 0)
		read_output(p, w, left);
	if (p->nsent > 0) {
		struct proto_reply r = {.flags = REPLY_F_RESTARTED};
		work_ended(status, &r);
		if (clock_ns() >= p->sent[p->first].deadline_ns) {
			r.code = r.how == REPLY_SIGNALED ? r.code : SIGTERM;
			r.how = REPLY_TIMED_OUT;
		}
		answer_first(p, w, &r);
	}
	p->died = true; /* the next reply comes from another co-process */
	end(p, w, w->set.stop_timeout_ms);
	back_off(p);
	return true;
}

/* With no co-process: the kept messages wait for the next one, started
   once its back-off allows. Return the next deadline. */
static uint64_t tick_idle(struct pipe_co *p, struct work_ctx *w)
{
	uint64_t now = clock_ns();

	expire_kept(p, w);
	if (p->nsent > 0 && now >= p->restart_ns && restart(p, w) == 0)
		return p->sent[p->first].deadline_ns;
	if (p->nsent > 0 && p->sent[p->first].deadline_ns < p->restart_ns)
		return p->sent[p->first].deadline_ns;
	return p->restart_ns > now ? p->restart_ns : UINT64_MAX;
}

uint64_t pipe_tick(struct pipe_co *p, struct work_ctx *w)
{
	if (p->pid == 0)
		return tick_idle(p, w);
	if (p->nsent == 0)
		return UINT64_MAX;
	return work_time_out(w, p->pid, p->sent[p->first].deadline_ns,
	                     &p->timed_out);
}

void pipe_close(struct pipe_co *p, struct work_ctx *w, uint32_t grace_ms)
{
	drop(p, w, grace_ms);
	/* Another command, or none: nothing to back off from. */
	p->backoff_ms = 0;
	p->restart_ns = 0;
	p->died = false;
}

void pipe_free(struct pipe_co *p)
{
	buf_free(&p->wq);
	buf_free(&p->line);
}
