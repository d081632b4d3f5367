/* shell.c - see shell.h. */
#include "shell.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "clock.h"
#include "io.h"

/* Redirections on a brace group are undone after it, so cd, variables
   and functions persist while the command never sees 3 or 4. `command`
   keeps the loop the shell's own: eval loses its special-builtin power
   to end the shell on a syntax error (which would lose the state), and
   a function a command defines named read or printf is not called. */
static const char SCRIPT[] =
    "while IFS= command read -r __fanout_cmd <&3; do "
    "{ command eval \"$__fanout_cmd\"; } 3<&- 4>&- </dev/null; "
    "command printf '%d\\n' \"$?\" >&4; done";

void shell_init(struct shell *s)
{
	*s = (struct shell){.cmd_fd = -1, .out_fd = -1, .status_fd = -1};
}

/* Close our ends of the shell's pipes and forget what was pending. */
static void close_pipes(struct shell *s)
{
	work_close(&s->cmd_fd);
	work_close(&s->out_fd);
	work_close(&s->status_fd);
	buf_consume(&s->cmds, buf_used(&s->cmds));
	buf_consume(&s->status, buf_used(&s->status));
}

/* Start the shell; return 0, or -1 with errno. */
static int start(struct shell *s)
{
	char *argv[] = {"/bin/sh", "-c", (char *)SCRIPT, NULL};
	int cmd[2] = {-1, -1}, out[2] = {-1, -1}, st[2] = {-1, -1}, err;

	if (child_pipe(cmd, 1) < 0 || child_pipe(out, 0) < 0 ||
	    child_pipe(st, 0) < 0) {
		s->pid = -1;
	} else {
		s->pid = child_spawn(
		    argv, (const int[]){-1, out[1], out[1], cmd[0], st[1]}, 5);
	}
	err = errno;
	/* The shell's ends are its own now. */
	work_close(&cmd[0]);
	work_close(&out[1]);
	work_close(&st[1]);
	if (s->pid < 0) {
		work_close(&cmd[1]);
		work_close(&out[0]);
		work_close(&st[0]);
		s->pid = 0;
		errno = err;
		return -1;
	}
	s->cmd_fd = cmd[1];
	s->out_fd = out[0];
	s->status_fd = st[0];
	return 0;
}

/* Reply to the command running, with what it printed. */
static void answer(struct shell *s, struct work_ctx *w, struct proto_reply *r)
{
	if (s->out_fd >= 0)
		capture_drain(&s->cap, s->out_fd);
	r->seq = s->seq;
	r->output = buf_head(&s->cap.kept);
	r->len = (uint32_t)buf_used(&s->cap.kept);
	r->dropped = s->cap.dropped;
	if (s->died)
		r->flags |= REPLY_F_RESTARTED;
	s->died = false;
	s->busy = false;
	(void)work_reply(w, r);
}

void shell_begin(struct shell *s, struct work_ctx *w, const struct work_item *m)
{
	if (memchr(m->data, '\n', m->len) || memchr(m->data, '\0', m->len)) {
		(void)work_refuse(w, m->seq,
		                  "a message with a newline or NUL "
		                  "byte cannot be one shell line; "
		                  "not run");
		return;
	}
	if (s->pid == 0 && start(s) < 0) {
		(void)work_cannot_run(w, m->seq, "/bin/sh");
		return;
	}
	capture_reset(&s->cap, w->set.max_reply_bytes);
	if (buf_append(&s->cmds, m->data, m->len) < 0 ||
	    buf_append(&s->cmds, "\n", 1) < 0) {
		(void)work_refuse(w, m->seq, "out of memory; not run");
		return;
	}
	s->busy = true;
	s->timed_out = false;
	s->seq = m->seq;
	s->deadline_ns = m->deadline_ns;
	if (work_flush(s->cmd_fd, &s->cmds) < 0)
		buf_consume(&s->cmds, buf_used(&s->cmds)); /* it is dying */
}

int shell_poll_set(const struct shell *s, struct pollfd *p)
{
	int n = 0;

	if (s->out_fd >= 0)
		p[n++] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
	if (s->status_fd >= 0)
		p[n++] = (struct pollfd){.fd = s->status_fd, .events = POLLIN};
	if (s->cmd_fd >= 0 && buf_used(&s->cmds) > 0)
		p[n++] = (struct pollfd){.fd = s->cmd_fd, .events = POLLOUT};
	return n;
}

/* Take one status line off s->status, if whole, into *code. */
static bool status_line(struct shell *s, uint16_t *code)
{
	uint8_t *nl = memchr(buf_head(&s->status), '\n', buf_used(&s->status));

	if (!nl)
		return false;
	*nl = '\0';
	*code = (uint16_t)atoi((char *)buf_head(&s->status));
	buf_consume(&s->status, (size_t)(nl - buf_head(&s->status)) + 1);
	return true;
}

/* Read the status lines there are; each one ends the command running. */
static void read_status(struct shell *s, struct work_ctx *w)
{
	char chunk[64];
	uint16_t code;

	while (s->status_fd >= 0) {
		ssize_t r = io_read(s->status_fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			work_close(&s->status_fd); /* the shell is ending */
			return;
		}
		(void)buf_append(&s->status, chunk, (size_t)r);
		while (status_line(s, &code)) {
			struct proto_reply rep = {.how = REPLY_EXITED,
			                          .code = code};
			if (s->busy)
				answer(s, w, &rep);
		}
	}
}

void shell_events(struct shell *s, struct work_ctx *w, const struct pollfd *p,
                  int n)
{
	for (int i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		/* Output first: what a command printed is in before its
		   status is seen. */
		if (p[i].fd == s->out_fd && capture_read(&s->cap, s->out_fd))
			work_close(&s->out_fd);
		else if (p[i].fd == s->cmd_fd &&
		         work_flush(s->cmd_fd, &s->cmds) < 0)
			work_close(&s->cmd_fd);
	}
	for (int i = 0; i < n; i++)
		if (p[i].revents && p[i].fd == s->status_fd)
			read_status(s, w);
}

bool shell_reaped(struct shell *s, struct work_ctx *w, pid_t pid, int status)
{
	if (pid != s->pid || pid == 0)
		return false;
	/* A command that ended before the shell did is answered as such. */
	read_status(s, w);
	if (s->busy) {
		struct proto_reply r = {.flags = REPLY_F_RESTARTED};
		work_ended(status, &r);
		if (s->timed_out) {
			r.code = r.how == REPLY_SIGNALED ? r.code : SIGTERM;
			r.how = REPLY_TIMED_OUT;
		}
		answer(s, w, &r);
	} else {
		s->died = true;
	}
	close_pipes(s);
	groups_stop(&w->groups, s->pid, w->set.stop_timeout_ms);
	s->pid = 0;
	return true;
}

uint64_t shell_tick(struct shell *s, struct work_ctx *w)
{
	if (!s->busy)
		return UINT64_MAX;
	return work_time_out(w, s->pid, s->deadline_ns, &s->timed_out);
}

void shell_close(struct shell *s, struct work_ctx *w, uint32_t grace_ms)
{
	close_pipes(s);
	if (s->pid > 0)
		groups_stop(&w->groups, s->pid, grace_ms);
	s->pid = 0;
	s->busy = false;
	s->died = false;
}

void shell_free(struct shell *s)
{
	buf_free(&s->cmds);
	buf_free(&s->status);
	capture_free(&s->cap);
}
