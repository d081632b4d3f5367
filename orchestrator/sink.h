/*
 * sink.h - one of the orchestrator's standard output streams, written
 * without ever blocking the event loop (SPEC §13).
 *
 * A pipe, a FIFO or a terminal is reopened through /proc/self/fd as a
 * file description of our own, made non-blocking: O_NONBLOCK on the one
 * we inherited would change it for the shell that shares it. Where that
 * reopening is refused (a pipe of another user), a pipe or FIFO is made
 * non-blocking in place and put back at the end, and a terminal is
 * written as it is (only its user stalls it). A socket is written with
 * MSG_DONTWAIT. A regular file or /dev/null cannot stall and is written
 * on the descriptor as it came (a reopened file would lose its offset
 * and O_APPEND).
 *
 * Text is queued, and written by sink_flush() (once per loop round, so a
 * burst costs one write) or once SINK_BATCH_BYTES wait; what the reader
 * does not take is written as it becomes writable. Text that must not be lost
 * (reports, errors) is always queued; droppable text (node output) is dropped,
 * and counted, once SINK_DROP_BYTES wait. Past SINK_FULL_BYTES the sink is
 * full: the caller stops producing (input pauses). A reader that goes away
 * (EPIPE) ends the stream: everything after is dropped, and sink_gone() says
 * so.
 */
#ifndef FANOUT_SINK_H
#define FANOUT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "loop.h"

#define SINK_BATCH_BYTES                                                       \
	(64u << 10)                 /* queued: written without waiting         \
	                               for the loop's flush */
#define SINK_DROP_BYTES (1u << 20)  /* queued: droppable text is dropped */
#define SINK_FULL_BYTES (16u << 20) /* queued: the producer pauses */

struct sink {
	int fd;            /* written to; -1 before sink_open() */
	bool own;          /* fd is our own reopened description, to close */
	int restore;       /* fd's flags to put back at sink_close(), or -1 */
	bool direct;       /* a regular file or a device that never stalls */
	bool socket;       /* written with send(MSG_DONTWAIT) */
	bool tty;          /* the stream is a terminal */
	bool gone;         /* the reader went away, or the stream failed */
	struct buf q;      /* what the reader has not taken yet */
	uint64_t dropped;  /* lines dropped since sink_take_dropped() */
	uint64_t told_ns;  /* when sink_take_dropped() last returned some */
	struct watcher w;  /* writability, while q is not empty */
	struct loop *loop; /* NULL until sink_watch() */
};

/* Set s up for descriptor fd (1 or 2), as above. Never fails: when the
   stream cannot be reopened it is written as it is. */
void sink_open(struct sink *s, int fd);

/* Let s wait for writability through loop (until then, what does not go
   at once is queued and tried again at the next put or flush). */
void sink_watch(struct sink *s, struct loop *loop);

/* Queue n bytes that must not be lost (written at the next flush). */
void sink_put(struct sink *s, const void *p, size_t n);

/* The same for droppable bytes (whole lines): dropped and counted
   instead when SINK_DROP_BYTES are already waiting. Return whether they
   were taken. */
bool sink_put_droppable(struct sink *s, const void *p, size_t n);

/* Write what can be written now. */
void sink_flush(struct sink *s);

/* Whether n more droppable bytes would be taken now. */
static inline bool sink_has_room(const struct sink *s, size_t n)
{
	return buf_used(&s->q) + n <= SINK_DROP_BYTES;
}

/* Whether SINK_FULL_BYTES or more wait for the reader. */
static inline bool sink_full(const struct sink *s)
{
	return buf_used(&s->q) >= SINK_FULL_BYTES;
}

/* Whether nothing waits for the reader. */
static inline bool sink_idle(const struct sink *s)
{
	return buf_used(&s->q) == 0;
}

/* Whether the reader went away (or the stream failed for good). */
static inline bool sink_gone(const struct sink *s)
{
	return s->gone;
}

/* Return the count of dropped lines once the reader is taking again (a
   quarter of SINK_DROP_BYTES or less waits), at most once a second, and
   reset it; else return 0. */
uint64_t sink_take_dropped(struct sink *s);

/* At exit: write what waits, waiting for the reader, until stop_fd (-1
   for none) becomes readable and stop(arg) (NULL: always) says to stop,
   or, with idle_ms >= 0, idle_ms pass without progress. */
void sink_drain(struct sink *s, int idle_ms, int stop_fd,
                bool (*stop)(void *arg), void *arg);

/* Stop watching and release the queue and our descriptor. */
void sink_close(struct sink *s);

#endif
