/*
 * floor.h - the floor: the same work as fanout with no protocol and no
 * exec, what the machine allows. N forked children each listen on
 * 127.0.0.1:BASE+i and ack every 32-byte message with 16 bytes; the
 * bench drives them over epoll. What each figure means is told at the
 * top of bench.c.
 */
#ifndef FANOUT_BENCH_FLOOR_H
#define FANOUT_BENCH_FLOOR_H

#include "bench.h"
#include "children.h"

/* The floor runs of one fleet size. */
struct floor_run;

/* Prepare the floor runs of n children (1..MAX_N) of bench b, whose
   children go into ch; both must outlive the result. Return it, or NULL
   when memory runs out (errno ENOMEM; prints nothing). */
struct floor_run *floor_new(const struct bench *b, struct children *ch,
                            unsigned n);

/* One run: fork the children and connect to them all, run the lock-step
   rounds and the pipelined messages, close every socket and reap every
   child. Fill the floor's figures (L_START to L_DOWN) of fig. Return 0,
   or -1 with a message and every child killed and reaped
   (children_kill_all()). */
int floor_rep(struct floor_run *f, double *fig);

/* Free what floor_new() made; NULL is fine. */
void floor_free(struct floor_run *f);

#endif
