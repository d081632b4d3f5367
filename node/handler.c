/* handler.c - see handler.h. */
#include "handler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "log.h"
#include "proc.h"

#define KIDS_MAX 1024 /* children left, killed at once as the node stops */

void handler_init(struct handler *h, uint32_t index, struct buf *out)
{
	*h = (struct handler){.w = {.index = index, .out = out}};
	h->w.set.kind = h->received.kind = HANDLER_ACK;
	exec_init(&h->exec);
	shell_init(&h->shell);
	pipe_init(&h->pipe);
}

int handler_setup(struct handler *h, const struct frame *f)
{
	uint32_t max = f->u.setup.max_reply_bytes;
	struct work_item it = {
	    .type = WORK_SETUP,
	    .setup = {.kind = f->u.setup.handler,
	              .timeout_ms = f->u.setup.timeout_ms,
	              .stop_timeout_ms = f->u.setup.stop_timeout_ms,
	              .max_reply_bytes =
	                  max < PROTO_MAX_PAYLOAD ? max : PROTO_MAX_PAYLOAD},
	    .data = f->u.setup.command,
	    .len = f->u.setup.command_len};

	if (work_push(&h->q, &it) < 0)
		return -1;
	h->received = it.setup;
	h->commands |= it.setup.kind != HANDLER_ACK;
	return 0;
}

int handler_take(struct handler *h, const struct frame *m)
{
	uint32_t t = h->received.timeout_ms;
	struct work_item it = {.type = WORK_MSG,
	                       .seq = m->u.msg.seq,
	                       .deadline_ns =
	                           t > 0 ? clock_ns() + MS_NS(t) : UINT64_MAX,
	                       .data = m->u.msg.data,
	                       .len = m->u.msg.len};

	return work_push(&h->q, &it);
}

/* Make the command words of a SETUP h's pipe command (argv). Return 0,
   or -1 when memory runs out (no command then). */
static int set_command(struct handler *h, const uint8_t *words, uint32_t len)
{
	size_t n = 0;

	free(h->w.argv);
	free(h->words);
	h->w.argv = NULL;
	h->words = NULL;
	h->words_len = 0;
	for (uint32_t i = 0; i < len; i++)
		n += words[i] == '\0';
	if (n == 0)
		return 0;
	h->words = malloc(len);
	h->w.argv = calloc(n + 1, sizeof(char *));
	if (!h->words || !h->w.argv)
		return -1;
	memcpy(h->words, words, len);
	h->words_len = len;
	n = 0;
	for (uint32_t i = 0; i < len; i += (uint32_t)strlen(h->words + i) + 1)
		h->w.argv[n++] = h->words + i;
	return 0;
}

/* Return whether h's pipe command is the len bytes of words at words. */
static bool same_command(const struct handler *h, const uint8_t *words,
                         uint32_t len)
{
	return len == h->words_len &&
	       (len == 0 || !memcmp(h->words, words, len));
}

/* Put the SETUP it in force (no message is being handled). The shell or
   co-process of another handler, or of another command, goes. */
static void apply(struct handler *h, const struct work_item *it)
{
	const struct work_setup *set = &it->setup;

	if (set->kind != HANDLER_SHELL)
		shell_close(&h->shell, &h->w, h->w.set.stop_timeout_ms);
	if (set->kind != HANDLER_PIPE || !same_command(h, it->data, it->len))
		pipe_close(&h->pipe, &h->w, h->w.set.stop_timeout_ms);
	h->w.set = *set;
	if (!same_command(h, it->data, it->len) &&
	    set_command(h, it->data, it->len) < 0)
		log_errno("handler command");
	if (set->kind == HANDLER_PIPE)
		pipe_warm(&h->pipe, &h->w);
}

/* Return whether the handler in force has no message in hand. */
static bool idle(const struct handler *h)
{
	switch (h->w.set.kind) {
	case HANDLER_EXEC: return exec_idle(&h->exec);
	case HANDLER_SHELL: return shell_idle(&h->shell);
	case HANDLER_PIPE: return pipe_idle(&h->pipe);
	default: return true;
	}
}

/* Hand message m to the handler in force; return false when it cannot
   take one now (m stays queued). */
static bool begin(struct handler *h, const struct work_item *m)
{
	switch (h->w.set.kind) {
	case HANDLER_EXEC:
		if (!exec_idle(&h->exec))
			return false;
		exec_begin(&h->exec, &h->w, m);
		return true;
	case HANDLER_SHELL:
		if (!shell_idle(&h->shell))
			return false;
		shell_begin(&h->shell, &h->w, m);
		return true;
	case HANDLER_PIPE:
		if (!pipe_can_take(&h->pipe))
			return false;
		pipe_begin(&h->pipe, &h->w, m);
		return true;
	default: return true; /* received before a switch to ack: done */
	}
}

/* Take from the queue what can go now: SETUPs once the handler is idle,
   messages past their deadline (answered), messages the handler takes.
   Return the deadline of the first message left waiting, or UINT64_MAX. */
static uint64_t start_work(struct handler *h)
{
	uint64_t now = clock_ns();
	struct work_item it;

	while (work_peek(&h->q, &it)) {
		if (it.type == WORK_SETUP) {
			if (!idle(h))
				return UINT64_MAX;
			apply(h, &it);
		} else if (it.deadline_ns <= now) {
			struct proto_reply r = {.seq = it.seq,
			                        .how = REPLY_TIMED_OUT};
			(void)work_reply(&h->w, &r);
		} else if (!begin(h, &it)) {
			return it.deadline_ns;
		}
		work_pop(&h->q);
	}
	return UINT64_MAX;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t handler_run(struct handler *h)
{
	uint64_t next;

	/* The ack path: nothing to do, and nothing spent finding out. */
	if (h->w.set.kind == HANDLER_ACK && work_bytes(&h->q) == 0 &&
	    h->w.groups.n == 0)
		return UINT64_MAX;
	next =
	    min_u64(exec_tick(&h->exec, &h->w), shell_tick(&h->shell, &h->w));
	next = min_u64(next, pipe_tick(&h->pipe, &h->w));
	next = min_u64(next, start_work(h));
	/* Ticked again: work just started has deadlines too. */
	next = min_u64(next, exec_tick(&h->exec, &h->w));
	next = min_u64(next, shell_tick(&h->shell, &h->w));
	next = min_u64(next, pipe_tick(&h->pipe, &h->w));
	pipe_flush(&h->pipe);
	return min_u64(next, groups_tick(&h->w.groups));
}

int handler_poll_set(struct handler *h, struct pollfd *p)
{
	h->nexec = exec_poll_set(&h->exec, p);
	h->nshell = shell_poll_set(&h->shell, p + h->nexec);
	h->npipe = pipe_poll_set(&h->pipe, p + h->nexec + h->nshell);
	return h->nexec + h->nshell + h->npipe;
}

void handler_events(struct handler *h, const struct pollfd *p)
{
	if (h->nexec > 0)
		exec_events(&h->exec, p);
	shell_events(&h->shell, &h->w, p + h->nexec, h->nshell);
	pipe_events(&h->pipe, &h->w, p + h->nexec + h->nshell, h->npipe);
	h->nexec = h->nshell = h->npipe = 0;
}

void handler_reap(struct handler *h)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (!exec_reaped(&h->exec, &h->w, pid, status) &&
		    !shell_reaped(&h->shell, &h->w, pid, status))
			(void)pipe_reaped(&h->pipe, &h->w, pid, status);
}

/* Wait for SIGCHLD on signal_fd until deadline_ns; other signals are
   read and ignored (the node is stopping already). */
static void wait_child(int signal_fd, uint64_t deadline_ns)
{
	struct pollfd p = {.fd = signal_fd, .events = POLLIN};
	struct signalfd_siginfo si;

	if (poll(&p, 1, clock_ms_until(deadline_ns)) > 0)
		while (io_read(signal_fd, &si, sizeof(si)) == sizeof(si))
			;
}

/* Send sig to every child of ours, and to the group each leads: what
   commands started in sessions of their own and left to us, a child
   subreaper (and the jobs). Return how many children there were. */
static unsigned signal_children(int sig)
{
	pid_t kids[KIDS_MAX];
	unsigned n = proc_children(getpid(), kids, KIDS_MAX);

	for (unsigned i = 0; i < n; i++)
		if (getpgid(kids[i]) != kids[i] || kill(-kids[i], sig) < 0)
			kill(kids[i], sig);
	return n;
}

/* SIGKILL and reap children until none is left or end_ns; what is
   re-parented to us meanwhile (a killed child's orphans) is killed in
   turn. */
static void kill_children(int signal_fd, uint64_t end_ns)
{
	while (signal_children(SIGKILL) > 0 && clock_ns() < end_ns) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		wait_child(signal_fd, end_ns);
	}
}

void handler_stop(struct handler *h, int signal_fd, pid_t parent)
{
	bool now = getppid() != parent;
	uint32_t grace =
	    now ? 0 : min_u64(h->w.set.stop_timeout_ms, HANDLER_STOP_MS);
	/* Past the SIGKILLs, a short while for the killed to be reaped. */
	uint64_t end = clock_ns() + MS_NS(grace) + MS_NS(500);

	if (h->commands)
		signal_children(SIGTERM);
	exec_stop(&h->exec, &h->w, grace);
	shell_close(&h->shell, &h->w, grace);
	pipe_close(&h->pipe, &h->w, grace);
	groups_hurry(&h->w.groups, clock_ns() + MS_NS(grace));
	for (;;) {
		handler_reap(h);
		uint64_t next = groups_tick(&h->w.groups);
		if (h->w.groups.n == 0 || clock_ns() >= end)
			break;
		if (!now && getppid() != parent) {
			/* Orphaned meanwhile (its connection closes before the
			   parent-death signal comes): nobody waits now. */
			now = true;
			groups_hurry(&h->w.groups, clock_ns());
			end = clock_ns() + MS_NS(500);
			continue;
		}
		wait_child(signal_fd, min_u64(next, end));
	}
	if (h->commands)
		kill_children(signal_fd, clock_ns() + MS_NS(500));
	exec_free(&h->exec);
	shell_free(&h->shell);
	pipe_free(&h->pipe);
	work_free(&h->q);
	free(h->w.argv);
	free(h->words);
}
