/* stats.c - see stats.h. */
#include "stats.h"

#include <stdlib.h>

/* Order doubles for qsort; return <0, 0 or >0. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double stats_percentile(double *v, unsigned k, unsigned p)
{
	unsigned rank = (p * k + 99) / 100;

	qsort(v, k, sizeof(*v), cmp_double);
	return v[rank > 0 ? rank - 1 : 0];
}

double stats_median(double *v, unsigned k)
{
	qsort(v, k, sizeof(*v), cmp_double);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}
