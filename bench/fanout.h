/*
 * fanout.h - the real orchestrator, measured: `orchestrator -c FILE -n N
 * -p BASE --json -q` driven through pipes on its standard input and
 * output, its standard error going to a log shown on failure. What each
 * figure means is told at the top of bench.c.
 */
#ifndef FANOUT_BENCH_FANOUT_H
#define FANOUT_BENCH_FANOUT_H

#include "bench.h"
#include "children.h"

/* The fanout runs of one fleet size. */
struct fanout;

/* Prepare the fanout runs of n nodes (1..MAX_N) of bench b, whose
   orchestrator goes into ch; both must outlive the result. Return it, or
   NULL when memory runs out (errno ENOMEM; prints nothing). */
struct fanout *fanout_new(const struct bench *b, struct children *ch,
                          unsigned n);

/* One run: start the orchestrator, wait for its ready event, run the
   lock-step rounds and the pipelined messages, read its and a node's
   memory, and close its input and reap it. Fill fanout's figures (F_START
   to F_NRSS) of fig. Return 0, or -1 with a message, every child killed
   and reaped (children_kill_all()) and the orchestrator's log shown. */
int fanout_rep(struct fanout *f, double *fig);

/* Free what fanout_new() made; NULL is fine. */
void fanout_free(struct fanout *f);

#endif
