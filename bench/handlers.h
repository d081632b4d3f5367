/*
 * handlers.h - the handlers section (SPEC §9, §10): the orchestrator
 * with `--handler exec`, `shell` and `pipe` (cat), each node running
 * every broadcast line and replying, next to pdsh and clush running the
 * same command. What each figure means is told at the top of bench.c.
 */
#ifndef FANOUT_BENCH_HANDLERS_H
#define FANOUT_BENCH_HANDLERS_H

#include "bench.h"
#include "children.h"

/* The handler runs of one fleet size. */
struct handlers;

/* Prepare the handler runs of n nodes (1..MAX_N) of bench b, whose
   children go into ch; both must outlive the result. Return it, or NULL
   when memory runs out (errno ENOMEM; prints nothing). */
struct handlers *handlers_new(const struct bench *b, struct children *ch,
                              unsigned n);

/* One run: the exec and shell lock-step rounds and the pipe handler's
   pipelined lines, each with a fleet of its own, then pdsh and clush
   when found (NAN when not). Fill fig[0..NHFIG). Return 0, or -1 with a
   message and every child killed and reaped. */
int handlers_rep(struct handlers *h, double *fig);

/* Free what handlers_new() made; NULL is fine. */
void handlers_free(struct handlers *h);

#endif
