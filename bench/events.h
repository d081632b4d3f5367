/*
 * events.h - what the orchestrator says on its standard output under
 * --json: one JSON object a line, read here line by line with a deadline
 * and searched for the few fields the bench checks.
 *
 * The search is by pattern, not a JSON parser: the reader shares the
 * CPUs with what it measures, so it must stay cheap, and the
 * orchestrator's events are flat objects of its own making.
 */
#ifndef FANOUT_BENCH_EVENTS_H
#define FANOUT_BENCH_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

/* The patterns searched for, spelled out at compile time: EVENT("ready")
   for event_is(), FIELD("ms") for event_num() and event_int(). */
#define EVENT(name) "\"event\":\"" name "\""
#define FIELD(name) "\"" name "\":"

/* Lines from the orchestrator's standard output. */
struct reader {
	int fd; /* non-blocking, the reader's caller owns it */
	size_t off, len;
	char buf[CHUNK];
};

/* Start reading lines from fd, a non-blocking descriptor, into r. */
void reader_init(struct reader *r, int fd);

/* Return the next line of r, NUL-terminated, without its newline; it is
   valid until the next call. Return NULL with a message at EOF, on a read
   error, on a line longer than CHUNK bytes, or after TIMEOUT_MS without
   a byte. */
char *reader_line(struct reader *r);

/* Return whether line is the event whose pattern (EVENT()) is ev. */
bool event_is(const char *line, const char *ev);

/* Return the number after pattern key (FIELD()) in line, or NAN if it
   has none; prints nothing. */
double event_num(const char *line, const char *key);

/* Return the whole number after pattern key (FIELD()) in line, or -1 if
   it has none; digits that would overflow are left out. Prints nothing. */
long long event_int(const char *line, const char *key);

/* Return the "ms" of line, the orchestrator's own time in milliseconds,
   if it is the broadcast event of sequence number seq, MSG_BYTES bytes,
   acked by all n of n nodes. Otherwise return -1 with a message. */
double event_broadcast_ms(const char *line, uint64_t seq, unsigned n);

/* Return the "reply_ms" of line, the orchestrator's time from sending to
   the last reply, if it is the broadcast event of sequence number seq,
   bytes bytes, acked and replied by all n of n nodes, whose every reply
   group ended clean (status 0, no signal, not timed out, co-process not
   restarted, nothing dropped) with output output (as JSON spells it,
   without quotes). Store its "ms", the ack time, in *ack_ms. Otherwise
   return -1 with a message. */
double event_replied_ms(const char *line, uint64_t seq, unsigned bytes,
                        unsigned n, const char *output, double *ack_ms);

#endif
