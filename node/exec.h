/*
 * exec.h - the exec handler (SPEC §9): each message runs as
 * `/bin/sh -c MESSAGE` in a process group of its own, stdin /dev/null,
 * stdout and stderr one pipe, captured together in order.
 *
 * The reply goes when /bin/sh is reaped, with what the pipe holds then:
 * everything it wrote before it exited is there, and waiting for the end
 * of file would wait for any background process that holds the pipe.
 * What it left in its group then gets SIGTERM, and SIGKILL after
 * stop_timeout_ms.
 */
#ifndef FANOUT_NODE_EXEC_H
#define FANOUT_NODE_EXEC_H

#include <poll.h>
#include <stdbool.h>

#include "capture.h"
#include "work.h"

struct exec_job {
	pid_t pid;  /* /bin/sh, its group's id; 0 when idle */
	int out_fd; /* our end of its output pipe; -1 once at EOF */
	struct capture cap;
	uint64_t seq, deadline_ns;
	bool timed_out; /* its group got SIGTERM at the deadline */
};

/* Set e up idle. */
void exec_init(struct exec_job *e);

/* Return whether e can take a message. */
static inline bool exec_idle(const struct exec_job *e)
{
	return e->pid == 0;
}

/* Start message m (e idle). A message that cannot be run is answered at
   once: EXITED 2 for one with a NUL byte, 127 when /bin/sh cannot be
   started. */
void exec_begin(struct exec_job *e, struct work_ctx *w,
                const struct work_item *m);

/* Fill p with what to poll (at most 1 entry); return how many. */
int exec_poll_set(const struct exec_job *e, struct pollfd *p);

/* Act on the poll results in p (as exec_poll_set() filled it). */
void exec_events(struct exec_job *e, const struct pollfd *p);

/* A child was reaped: if it is ours, reply and return true. */
bool exec_reaped(struct exec_job *e, struct work_ctx *w, pid_t pid, int status);

/* Stop a command past its deadline. Return the next deadline (ns), or
   UINT64_MAX. */
uint64_t exec_tick(struct exec_job *e, struct work_ctx *w);

/* The node stops: SIGTERM the running command's group (grace_ms), and
   forget it unanswered. */
void exec_stop(struct exec_job *e, struct work_ctx *w, uint32_t grace_ms);

/* Release the memory. */
void exec_free(struct exec_job *e);

#endif
