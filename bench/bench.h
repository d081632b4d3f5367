/*
 * bench.h - what the parts of the bench share: its limits, the figures it
 * measures, its settings, and how much work each fleet size gets. The
 * theory of the measurements is at the top of bench.c.
 */
#ifndef FANOUT_BENCH_H
#define FANOUT_BENCH_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>

#define MSG_BYTES    32          /* one message, without its newline */
#define CHUNK        (64 * 1024) /* floor I/O, orchestrator lines, at most */
#define TIMEOUT_MS   60000       /* longest wait without progress */
#define MAX_N        4096        /* the orchestrator's own limit */
#define MAX_SIZES    16
#define MAX_REPS     1000
#define MAX_ROUNDS   200
#define DELIVERIES   100000 /* pipelined deliveries per run, at least */
#define DEFAULT_PORT 20000  /* below the usual ephemeral range */

/* Every figure, fanout's then the floor's; one row per repetition. */
enum fig {
	F_START,  /* fanout start-up, fork to the ready event, ms */
	F_READY,  /* the ready event's own ms */
	F_P50,    /* lock-step round p50, the broadcast event's ms */
	F_P99,    /* lock-step round p99 */
	F_WALL50, /* lock-step round p50 seen from here: write to event */
	F_RATE,   /* pipelined acked deliveries per second */
	F_RCPU,   /* share of one CPU the bench's reader took meanwhile */
	F_DOWN,   /* teardown, input closed to orchestrator reaped, ms */
	F_SHUT,   /* the shutdown event's own ms */
	F_ORSS,   /* orchestrator peak RSS (VmHWM), MiB */
	F_NRSS,   /* one node's RSS (VmRSS), MiB */
	L_START,  /* floor start-up, first fork to all connected, ms */
	L_P50,
	L_P99,
	L_RATE,
	L_DOWN,
	NFIG
};

/* The settings of a run, fixed once main() has set up. */
struct bench {
	char orch[PATH_MAX];    /* the orchestrator, absolute */
	char dir[64];           /* our temporary directory */
	char conf[96], log[96]; /* its configuration and its stderr */
	unsigned sizes[MAX_SIZES], nsizes, reps;
	int port;
	bool json, verbose;
	sigset_t oldmask; /* the signal mask children get back */
};

/* Return the number of lock-step rounds for n nodes. */
static inline unsigned rounds_for(unsigned n)
{
	return n <= 100 ? 200 : 50;
}

/* Return the number of pipelined messages for n nodes: DELIVERIES / n
   rounded up, at least 100. */
static inline unsigned pipelined_for(unsigned n)
{
	unsigned m = (DELIVERIES + n - 1) / n;

	return m < 100 ? 100 : m;
}

#endif
