/*
 * orch.h - one run of the real orchestrator, `orchestrator -c CONF -n N
 * -p BASE --json -q [ARG...]`, started in the bench's temporary directory
 * and driven through pipes on its standard input and output; its standard
 * error goes to a log shown on failure. The fanout and handlers sections
 * both measure through it.
 */
#ifndef FANOUT_BENCH_ORCH_H
#define FANOUT_BENCH_ORCH_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "children.h"
#include "events.h"

#define LINE_BYTES (MSG_BYTES + 1) /* one message and its newline */

struct orch {
	const struct bench *b;
	struct children *ch; /* ch->orch: the orchestrator, while it runs */
	unsigned n;          /* nodes */
	int in;              /* its standard input, -1 when closed */
	uint64_t seq;        /* last broadcast reported */
	struct reader out;   /* its standard output, fd -1 when closed */
};

/* What a pipelined run took: the first write, the last event, and the
   CPU the reading thread used meanwhile, in nanoseconds. */
struct orch_span {
	uint64_t t0, t1, reader_cpu;
};

/* Check the event ev of the i-th line of a pipelined run (broadcast
   o->seq + 1); return 0, or -1 with a message. */
typedef int orch_check_fn(const struct orch *o, const char *ev, unsigned i,
                          void *arg);

/* Write message number i, tagged, as a MSG_BYTES line into out
   (LINE_BYTES): the tag, a blank, then i in zero-padded decimal. */
void orch_line(char *out, const char *tag, unsigned long long i);

/* Prepare o for runs of n nodes of bench b, the orchestrator going into
   ch; both must outlive o. Starts nothing. */
void orch_init(struct orch *o, const struct bench *b, struct children *ch,
               unsigned n);

/* Start the orchestrator with configuration conf and the further
   arguments args (NULL-terminated; NULL for none), and read its ready
   event, checked to name all n nodes. Store the wall time from fork to
   that event in *wall_ms and the event's own "ms" in *ready_ms. Return
   0, or -1 with a message. */
int orch_start(struct orch *o, const char *conf, const char *const *args,
               double *wall_ms, double *ready_ms);

/* Write the len bytes at p (whole lines) to its input, waiting at most
   TIMEOUT_MS for room each time; return 0 or -1 with a message. */
int orch_write(struct orch *o, const void *p, size_t len);

/* Return its next output line (reader_line()): NULL with a message. */
char *orch_event(struct orch *o);

/* Pipeline m lines: a thread writes the len bytes at data at once while
   this one reads the m events, checks each with check(o, ev, i, arg) and
   counts it in o->seq. Store the times in *span. Return 0, or -1 with a
   message (the writer stopped: every child killed). */
int orch_pipeline(struct orch *o, const char *data, size_t len, unsigned m,
                  orch_check_fn *check, void *arg, struct orch_span *span);

/* Close its input, read its shutdown event, checked clean, and reap it,
   checked to have exited 0 and left nothing behind. Store the wall time
   from closing to reaping in *down_ms and the event's "ms" in *shut_ms.
   Return 0, or -1 with a message. */
int orch_stop(struct orch *o, double *down_ms, double *shut_ms);

/* After a failure of what: kill and reap every child, close the pipes,
   show the orchestrator's log, and say what failed with how many nodes. */
void orch_fail(struct orch *o, const char *what);

#endif
