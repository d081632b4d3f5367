/*
 * handler.h - what a node does with each message once it is acked
 * (SPEC §9): nothing (ack), or hand it to the exec, shell or pipe handler
 * and send a REPLY when handling ends.
 *
 * Messages wait in a queue, in order of receipt, and are handled one at a
 * time (pipe: pipelined up to its window), while the connection is still
 * read and later messages acked at once. Each message's deadline is its
 * receipt plus handler_timeout_ms: one that passes it while waiting is
 * answered TIMED_OUT, code 0, without being run. A SETUP applies to the
 * messages received after it, once those before it are handled.
 *
 * Everything goes through the node's poll loop: the handler adds its
 * descriptors to the poll set, acts on their events, and is told when a
 * child is to be reaped (SIGCHLD) and when a deadline comes.
 */
#ifndef FANOUT_NODE_HANDLER_H
#define FANOUT_NODE_HANDLER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "exec.h"
#include "pipe.h"
#include "proto.h"
#include "shell.h"
#include "work.h"

/* The most descriptors handler_poll_set() adds. */
#define HANDLER_POLL_MAX (1 + SHELL_POLL_MAX + PIPE_POLL_MAX)
/* Stop reading the connection while this many bytes wait to be handled. */
#define HANDLER_QUEUE_MAX (64u << 20)
/* The longest the node waits for what it runs to stop when it stops. */
#define HANDLER_STOP_MS 1000

struct handler {
	struct work_ctx w;
	struct work_queue q;
	struct work_setup received; /* the last SETUP received */
	char *words;                /* w.argv points into it */
	uint32_t words_len;
	struct exec_job exec;
	struct shell shell;
	struct pipe_co pipe;
	int nexec, nshell, npipe; /* their entries in the last poll set */
	bool commands; /* a handler that runs commands was ever set up */
};

/* Set h up for node index, answering into out: handler ack until a
   SETUP comes. */
void handler_init(struct handler *h, uint32_t index, struct buf *out);

/* A SETUP came. Return 0, or -1 when memory runs out. */
int handler_setup(struct handler *h, const struct frame *setup);

/* Return whether messages are to be handled (the last SETUP received
   named a handler other than ack). */
static inline bool handler_takes(const struct handler *h)
{
	return h->received.kind != HANDLER_ACK;
}

/* A MSG came and was acked: queue it. Return 0, or -1 when memory runs
   out. */
int handler_take(struct handler *h, const struct frame *msg);

/* Return whether the queue is over HANDLER_QUEUE_MAX bytes: the node
   stops reading its connection until it drains. */
static inline bool handler_full(const struct handler *h)
{
	return work_bytes(&h->q) > HANDLER_QUEUE_MAX;
}

/* Add what to poll to p (room for HANDLER_POLL_MAX); return how many. */
int handler_poll_set(struct handler *h, struct pollfd *p);

/* Act on the poll results in p (as handler_poll_set() filled it). */
void handler_events(struct handler *h, const struct pollfd *p);

/* Reap every child that has ended (on SIGCHLD), answering for those that
   are handlers' and ignoring the others (orphans of what they ran). */
void handler_reap(struct handler *h);

/* Answer messages whose deadline passed in the queue, stop what overran,
   start what can start. Return the next deadline (ns), or UINT64_MAX. */
uint64_t handler_run(struct handler *h);

/* The node stops: every process group of what it runs gets SIGTERM, then
   after at most HANDLER_STOP_MS SIGKILL (at once when the node's parent
   is no longer parent: orphaned, nobody waits; looked at as it waits);
   once commands ran, so does every other child and its group (what
   they left in sessions of their own, re-parented to the node, a child
   subreaper: SPEC §12), until none is left. The ended are reaped
   (reading SIGCHLD on signal_fd), and the memory released. */
void handler_stop(struct handler *h, int signal_fd, pid_t parent);

#endif
