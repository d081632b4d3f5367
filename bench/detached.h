/*
 * detached.h - the detached section (issue 13): `orchestrator send NAME
 * x` to a fleet started once with --detach, next to a plain orchestrator
 * that starts, broadcasts the same line and stops. Every command is run
 * and timed by tools_run(); what each figure means is told at the top of
 * bench.c.
 */
#ifndef FANOUT_BENCH_DETACHED_H
#define FANOUT_BENCH_DETACHED_H

#include "bench.h"
#include "children.h"

struct detached {
	const struct bench *b;
	struct children *ch;    /* ch->daemon: the fleet's, while it runs */
	unsigned n;             /* nodes */
	unsigned long long seq; /* broadcasts sent to the fleet */
};

/* Prepare d for n nodes of bench b, whose children go into ch; both must
   outlive d. Starts nothing. */
void detached_init(struct detached *d, const struct bench *b,
                   struct children *ch, unsigned n);

/* Start the fleet b->fleet, `orchestrator -c CONF --detach --name FLEET
   -n N -p BASE`, checked to exit 0 naming its daemon, a child of ours
   from then on, kept in ch->daemon. Return 0, or -1 with a message and
   every child killed and reaped. */
int detached_start(struct detached *d);

/* One repetition: `orchestrator send FLEET x`, then `orchestrator -c
   CONF -n N -p BASE+N` fed the line x and EOF (BASE's ports are the
   fleet's); each checked to exit 0 and to report the line acked by all
   N nodes. Store their wall times from fork to reap in fig[D_SEND] and
   fig[D_PLAIN]. Return 0 or -1, as above. */
int detached_rep(struct detached *d, double *fig);

/* Stop the fleet, `orchestrator stop FLEET`, checked to exit 0 (the
   fleet's status) having reported every broadcast acked, and to leave
   nothing behind: no process, no socket. Return 0 or -1, as above. */
int detached_stop(struct detached *d);

#endif
