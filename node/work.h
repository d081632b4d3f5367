/*
 * work.h - what the handlers share: the queue of work received and not
 * yet started (messages, and SETUPs that apply to the messages after
 * them), the settings in force, and how a reply is sent (SPEC §9).
 *
 * The queue holds copies, in order of receipt, in one buffer: appending
 * and taking from the front are O(1), and its size in bytes is what the
 * node bounds before it stops reading its connection.
 */
#ifndef FANOUT_NODE_WORK_H
#define FANOUT_NODE_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "groups.h"
#include "proto.h"

enum work_type { WORK_MSG, WORK_SETUP };

/* A SETUP's fields. Times in milliseconds; timeout_ms 0 means no time
   limit; max_reply_bytes is at most PROTO_MAX_PAYLOAD. */
struct work_setup {
	enum handler_kind kind;
	uint32_t timeout_ms, stop_timeout_ms, max_reply_bytes;
};

/* One queued item, as work_peek() shows it. */
struct work_item {
	enum work_type type;
	uint64_t seq;         /* WORK_MSG */
	uint64_t deadline_ns; /* WORK_MSG: receipt + timeout (CLOCK_MONOTONIC),
	                         UINT64_MAX for none */
	struct work_setup setup; /* WORK_SETUP */
	/* The payload (WORK_MSG) or the command words, each ending in NUL
	   (WORK_SETUP), followed by a NUL of its own; valid until the next
	   work_push or work_pop. */
	const uint8_t *data;
	uint32_t len; /* bytes at data, its own NUL not counted */
};

struct work_queue {
	struct buf items;
};

/* Append an item (its data copied). Return 0, or -1 when memory runs out
   (the queue is unchanged). */
int work_push(struct work_queue *q, const struct work_item *it);

/* Show the first item in *it; return false when the queue is empty. */
bool work_peek(const struct work_queue *q, struct work_item *it);

/* Drop the first item (the queue must not be empty). */
void work_pop(struct work_queue *q);

/* Return the bytes the queue holds. */
static inline size_t work_bytes(const struct work_queue *q)
{
	return buf_used(&q->items);
}

/* Release the memory. */
void work_free(struct work_queue *q);

/* What every handler answers with and through. */
struct work_ctx {
	uint32_t index;        /* this node's, in every reply */
	struct buf *out;       /* the connection's output: replies go here */
	struct groups groups;  /* process groups on their way out */
	struct work_setup set; /* in force for the message being handled */
	char **argv;           /* the pipe handler's command, NULL-ended */
};

/* Queue the REPLY r for the connection (r->index is filled in). On a
   lack of memory, the reply is sent without its output (counted as
   dropped) rather than not at all; return -1 if even that fails. */
int work_reply(struct work_ctx *w, struct proto_reply *r);

/* Answer message seq EXITED 2 with the line "fanout: " why, without
   having run it (a message the handler cannot take). */
int work_refuse(struct work_ctx *w, uint64_t seq, const char *why);

/* Answer message seq EXITED 127, as a shell does for a command it cannot
   run, with the line "cannot run 'what': " and strerror(errno). */
int work_cannot_run(struct work_ctx *w, uint64_t seq, const char *what);

/* Fill r's how and code from a waitpid(2) status: EXITED with the exit
   status, or SIGNALED with the signal. */
void work_ended(int status, struct proto_reply *r);

/* Close *fd if it is open, and mark it closed (-1). */
void work_close(int *fd);

/* Write what b holds to non-blocking fd, as much as it takes now.
   Return 0 (all written, or EAGAIN), or -1 (errno; e.g. EPIPE). */
int work_flush(int fd, struct buf *b);

/* A time-out, once: when deadline_ns has passed and *timed_out is not
   set yet, set it and stop pid's process group (SIGTERM, then SIGKILL
   after stop_timeout_ms). Return the deadline still ahead, or
   UINT64_MAX when none is. */
uint64_t work_time_out(struct work_ctx *w, pid_t pid, uint64_t deadline_ns,
                       bool *timed_out);

#endif
