/*
 * stats.h - order statistics of the bench's samples.
 */
#ifndef FANOUT_BENCH_STATS_H
#define FANOUT_BENCH_STATS_H

/* Return the p-th percentile (p in 0..100, nearest rank) of v[0..k),
   k >= 1, in v's unit. Sorts v in place. */
double stats_percentile(double *v, unsigned k, unsigned p);

/* Return the median of v[0..k), k >= 1: the middle value, or the mean of
   the two middle ones when k is even. Sorts v in place. */
double stats_median(double *v, unsigned k);

#endif
