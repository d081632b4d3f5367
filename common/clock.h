/* clock.h - monotonic time, the only clock fanout measures with. */
#ifndef FANOUT_CLOCK_H
#define FANOUT_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Return nanoseconds on CLOCK_MONOTONIC. */
static inline uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Return the milliseconds from now until deadline_ns, 0 if it has passed,
   rounded up so a poll never wakes just before its deadline. */
static inline int clock_ms_until(uint64_t deadline_ns)
{
	uint64_t now = clock_ns();

	if (deadline_ns <= now)
		return 0;
	uint64_t ms = (deadline_ns - now + 999999) / 1000000;
	return ms > 1000000000 ? 1000000000 : (int)ms;
}

/* Return the milliseconds elapsed since t0_ns (a clock_ns() reading). */
static inline double clock_ms_since(uint64_t t0_ns)
{
	return (double)(clock_ns() - t0_ns) / 1e6;
}

#define MS_NS(ms) ((uint64_t)(ms)*1000000u)

#endif
