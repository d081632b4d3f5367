/*
 * pipe.h - the pipe handler (SPEC §9): one long-lived co-process, the
 * SETUP's command, in a process group of its own; each message and a
 * newline go to its stdin, and each line it writes to its stdout is the
 * answer to the oldest message not yet answered (EXITED 0, the line
 * without its newline). Its stderr is the node's.
 *
 * Messages are pipelined: up to PIPE_WINDOW written and unanswered,
 * written without blocking, so a co-process like cat answers many per
 * round trip. Lines that come while nothing is unanswered are dropped
 * and said once on stderr. A co-process that dies (or is stopped for a
 * time-out) answers the oldest unanswered message with how it ended; the
 * ones written after it, which a co-process answering in order never
 * began, are kept and written again to the next co-process, whose first
 * reply is flagged restarted. It is started again at once the first time,
 * then no sooner than 100 ms after it started, doubling up to 5 s while it
 * keeps dying within a second (a bad command must not spin).
 */
#ifndef FANOUT_NODE_PIPE_H
#define FANOUT_NODE_PIPE_H

#include <poll.h>
#include <stdbool.h>

#include "buf.h"
#include "work.h"

#define PIPE_WINDOW   64
#define PIPE_POLL_MAX 2

struct pipe_co {
	pid_t pid;         /* the co-process and its group; 0: none */
	int in_fd, out_fd; /* our ends; -1 when closed */
	struct buf wq;     /* messages not yet written */
	struct buf line;   /* an answer line so far, up to max_reply_bytes */
	uint32_t line_dropped;
	struct {
		uint64_t seq, deadline_ns;
		uint8_t *data; /* a copy, to write again after a death */
		uint32_t len;
	} sent[PIPE_WINDOW]; /* unanswered messages, a ring from first */
	unsigned first, nsent;
	bool timed_out; /* its group got SIGTERM: the first one overran */
	bool died;      /* ended with nothing unanswered: the next reply
	                   says so */
	bool said;      /* surplus lines were said for this co-process */
	uint64_t started_ns, restart_ns;
	uint32_t backoff_ms;
};

/* Set p up with no co-process. */
void pipe_init(struct pipe_co *p);

/* Return whether nothing is unanswered. */
static inline bool pipe_idle(const struct pipe_co *p)
{
	return p->nsent == 0;
}

/* Return whether p can take a message now (window not full, not being
   stopped, not waiting to be started again). */
bool pipe_can_take(const struct pipe_co *p);

/* Queue message m for the co-process (started first if needed; the
   caller checked pipe_can_take). A message with a newline, which would
   be two lines, is answered EXITED 2 without being sent; 127 when the
   command cannot be started, with why. */
/* Start the co-process now, before any message, when it is not running:
   a command that cannot run is said at once, and what it prints before
   its first message is known to answer nothing (surplus, dropped). */
void pipe_warm(struct pipe_co *p, struct work_ctx *w);

void pipe_begin(struct pipe_co *p, struct work_ctx *w,
                const struct work_item *m);

/* Write what is queued for the co-process, as much as it takes now. */
void pipe_flush(struct pipe_co *p);

/* Fill pfd with what to poll (at most PIPE_POLL_MAX); return how many. */
int pipe_poll_set(const struct pipe_co *p, struct pollfd *pfd);

/* Act on the n poll results in pfd (as pipe_poll_set() filled it). */
void pipe_events(struct pipe_co *p, struct work_ctx *w,
                 const struct pollfd *pfd, int n);

/* A child was reaped: if it is the co-process, answer what it left
   unanswered and return true. */
bool pipe_reaped(struct pipe_co *p, struct work_ctx *w, pid_t pid, int status);

/* Stop the co-process when its oldest message is past its deadline.
   Return the next deadline or restart time (ns), or UINT64_MAX. */
uint64_t pipe_tick(struct pipe_co *p, struct work_ctx *w);

/* Let the co-process go (its command changed, the node stops): close its
   pipes and SIGTERM its group (grace_ms); nothing unanswered is
   answered. */
void pipe_close(struct pipe_co *p, struct work_ctx *w, uint32_t grace_ms);

/* Release the memory (after pipe_close). */
void pipe_free(struct pipe_co *p);

#endif
