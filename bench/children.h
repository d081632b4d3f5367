/*
 * children.h - the bench's child processes: which there are, what /proc
 * says of them, and killing and reaping every one of them on any way out.
 *
 * The bench is a child subreaper (PR_SET_CHILD_SUBREAPER) with SIGCHLD
 * blocked: nodes orphaned by a killed orchestrator come to it, and it
 * waits for children with sigtimedwait(2), each wait bounded by
 * TIMEOUT_MS.
 */
#ifndef FANOUT_BENCH_CHILDREN_H
#define FANOUT_BENCH_CHILDREN_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "bench.h"

/* The children to kill on the way out: the orchestrator (or pdsh or
   clush, timed in its place), a detached fleet's daemon (a child of
   ours once the process that started it has exited) and the floor's.
   The signal handler reads it too (see on_signal() in bench.c). */
struct children {
	pid_t orch;            /* the orchestrator or tool, 0 when none */
	pid_t daemon;          /* a detached fleet's, 0 when none */
	pid_t kid[MAX_N];      /* the floor's children, 0 once reaped */
	int kid_status[MAX_N]; /* their wait statuses, once reaped */
	unsigned nkids;        /* entries of kid[] in use */
};

/* Store into out[0..max) the children of pid, all its threads' (from
   /proc/PID/task/TID/children). Return how many; 0 also when pid is gone
   or /proc cannot be read. */
unsigned children_of(pid_t pid, pid_t *out, unsigned max);

/* Return the value in kB of the field key ("VmHWM", "VmRSS") of
   /proc/PID/status, or -1 if it cannot be read; prints nothing. */
long children_status_kb(pid_t pid, const char *key);

/* In a new child of parent: give back the signal dispositions the bench
   changed and the signal mask mask, and die with the bench
   (PR_SET_PDEATHSIG). Return 0, or -1: with a message if prctl(2) failed,
   without one if the bench is gone already (nobody is left to tell). */
int children_setup_child(const sigset_t *mask, pid_t parent);

/* Fork a child of bench b that runs argv[0] (a path) with argv, in b's
   temporary directory, with in, out and err as its standard input,
   output and error, and the bench's signal settings undone
   (children_setup_child()). Return its pid, or -1 with a message when
   fork(2) failed; a child that cannot exec says why on err and exits
   127. */
pid_t children_spawn(const struct bench *b, char *const argv[], int in, int out,
                     int err);

/* Show the log at path on standard error under "the WHOSE standard
   error said:": all of it, or when long its beginning (the first fault)
   and its end (the last words). Nothing when it is empty or missing. */
void children_show_log(const char *path, const char *whose);

/* Reap the children p[0..n) (0 for none, left alone), storing their wait
   statuses in st[] and zeroing their pids. Return 0 once all are reaped,
   or -1 with a message if TIMEOUT_MS passes first or waitpid(2) fails.
   Other children reaped meanwhile (nodes orphaned to us) are forgotten. */
int children_reap(pid_t *p, int *st, unsigned n);

/* Reap every child left, orphans included, until none is. Return 0, or
   -1 with a message naming one still there after TIMEOUT_MS. */
int children_reap_none_left(void);

/* Kill every child we have, and what it left to us, and reap them all;
   for the error paths and the end. The orchestrator and the daemon go
   first, their nodes (listed while still theirs) after them, so that
   their logs do not fill up with their deaths. Clears c. Prints a message if
   some are still there after TIMEOUT_MS. */
void children_kill_all(struct children *c);

/* Send SIGKILL to the orchestrator, the daemon and the floor's children
   of c, and do nothing else: async-signal-safe, for a signal handler.
   Nodes follow their orchestrator by their parent-death signal. */
void children_kill_now(const struct children *c);

/* Return whether the orchestrator, once reaped, left processes behind to
   us, with a message naming them then; children_kill_all() kills them. */
bool children_orphans_left(void);

#endif
