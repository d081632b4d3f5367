/*
 * outcome.h - how the run is going and how it will end: broadcasts
 * counted, whether anything was incomplete, why it stops, and the exit
 * status that follows (SPEC §4).
 *
 * Every module that sees a failure records it here through these
 * functions; main.c alone turns the result into the exit status. Pure:
 * no I/O.
 */
#ifndef FANOUT_OUTCOME_H
#define FANOUT_OUTCOME_H

#include <stdbool.h>
#include <stdint.h>

enum stop_reason { STOP_NONE, STOP_EOF, STOP_EXIT, STOP_SIGNAL, STOP_ERROR };

struct outcome {
	uint64_t sent;   /* broadcasts reported */
	uint64_t clean;  /* of those, acked by every node (and, with a
	                   handler, replied to with status 0 by every node) */
	bool replies;    /* some of them wanted replies */
	bool incomplete; /* an ack missing, a node died, a line refused */
	enum stop_reason stop;
	int stop_signal; /* SIGINT or SIGTERM, with STOP_SIGNAL */
	int interrupts;  /* SIGINTs and SIGTERMs received, echoes not */
	int last_signal; /* the last one, its source and when (ns): to tell */
	int last_source; /* an echo from a repeat */
	uint64_t last_signal_ns;
};

/* Ask for the run to stop for reason (not STOP_SIGNAL: see below). The
   first reason stands, but an error outranks end of input and exit (it
   makes the status 1), and a signal outranks them all. */
void outcome_stop(struct outcome *o, enum stop_reason reason);

#define OUTCOME_ECHO_MS 100 /* an echo comes at most this late */

/* A SIGINT or SIGTERM arrived at now_ns from source (the sending pid,
   0 for the kernel: a terminal's Ctrl-C): count it, and stop for the
   first one. Within OUTCOME_ECHO_MS the same signal again is one
   interrupt delivered twice, not a second one, when it comes from the
   kernel and from parent (our parent pid: a wrapper that forwards a
   Ctrl-C, as `timeout --foreground` does), in either order, or twice
   from one process (`timeout` signals its child, then its group). Two
   from the terminal, or from two other processes, are two. */
void outcome_signal(struct outcome *o, int signo, int source, int parent,
                    uint64_t now_ns);

/* Whether a stop was asked for. */
static inline bool outcome_stopping(const struct outcome *o)
{
	return o->stop != STOP_NONE;
}

/* Something did not fully succeed: the run will exit 1. */
static inline void outcome_fail(struct outcome *o)
{
	o->incomplete = true;
}

/* Count a reported broadcast, which wanted replies or not; went_well
   says every node acked it (and, when replies were wanted, replied with
   status 0): else the run fails (exit 1). */
void outcome_broadcast(struct outcome *o, bool went_well, bool replies);

/* Return the exit status of a run that got past start-up, and its reason
   for the shutdown event ("eof", "exit", "signal", "error") in *reason:
   128 + the signal after one; 1 if anything was incomplete or an error
   stopped it; else 0. */
int outcome_status(const struct outcome *o, const char **reason);

/* Return the exit status start-up ends with after a signal. */
int outcome_signal_status(const struct outcome *o);

#endif
