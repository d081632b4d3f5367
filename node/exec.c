/* exec.c - see exec.h. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "clock.h"
#include "io.h"

void exec_init(struct exec_job *e)
{
	*e = (struct exec_job){.out_fd = -1};
}

void exec_begin(struct exec_job *e, struct work_ctx *w,
                const struct work_item *m)
{
	char *argv[] = {"/bin/sh", "-c", (char *)m->data, NULL};
	int out[2], err;

	if (memchr(m->data, '\0', m->len)) {
		(void)work_refuse(w, m->seq,
		                  "a message with a NUL byte "
		                  "cannot be a command; not run");
		return;
	}
	if (child_pipe(out, 0) < 0)
		goto fail;
	e->pid = child_spawn(argv, (const int[]){-1, out[1], out[1]}, 3);
	err = errno;
	close(out[1]);
	if (e->pid < 0) {
		close(out[0]);
		errno = err;
		goto fail;
	}
	e->out_fd = out[0];
	e->seq = m->seq;
	e->deadline_ns = m->deadline_ns;
	e->timed_out = false;
	capture_reset(&e->cap, w->set.max_reply_bytes);
	return;
fail:
	e->pid = 0;
	(void)work_cannot_run(w, m->seq, "/bin/sh");
}

int exec_poll_set(const struct exec_job *e, struct pollfd *p)
{
	if (e->out_fd < 0)
		return 0;
	p[0] = (struct pollfd){.fd = e->out_fd, .events = POLLIN};
	return 1;
}

void exec_events(struct exec_job *e, const struct pollfd *p)
{
	if (e->out_fd >= 0 && p[0].revents && capture_read(&e->cap, e->out_fd))
		work_close(&e->out_fd);
}

bool exec_reaped(struct exec_job *e, struct work_ctx *w, pid_t pid, int status)
{
	struct proto_reply r = {.seq = e->seq};

	if (pid != e->pid || pid == 0)
		return false;
	if (e->out_fd >= 0)
		capture_drain(&e->cap, e->out_fd);
	work_close(&e->out_fd);
	work_ended(status, &r);
	if (e->timed_out) {
		/* An exit of its own after SIGTERM (a trap) still ends it
		   because of the signal. */
		r.code = r.how == REPLY_SIGNALED ? r.code : SIGTERM;
		r.how = REPLY_TIMED_OUT;
	}
	r.output = buf_head(&e->cap.kept);
	r.len = (uint32_t)buf_used(&e->cap.kept);
	r.dropped = e->cap.dropped;
	(void)work_reply(w, &r);
	/* What it left behind in its group (none: nothing is sent). */
	groups_stop(&w->groups, e->pid, w->set.stop_timeout_ms);
	e->pid = 0;
	return true;
}

uint64_t exec_tick(struct exec_job *e, struct work_ctx *w)
{
	if (e->pid == 0)
		return UINT64_MAX;
	return work_time_out(w, e->pid, e->deadline_ns, &e->timed_out);
}

void exec_stop(struct exec_job *e, struct work_ctx *w, uint32_t grace_ms)
{
	if (e->pid > 0)
		groups_stop(&w->groups, e->pid, grace_ms);
	work_close(&e->out_fd);
	e->pid = 0;
}

void exec_free(struct exec_job *e)
{
	work_close(&e->out_fd);
	capture_free(&e->cap);
}
