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

/* The handlers section's figures (SPEC §9, §10); one row per
   repetition. Rounds are medians over a repetition's rounds; each
   handler's three round figures come in this order, filled at once. */
enum hfig {
	H_EXEC,       /* exec round, the broadcast event's reply_ms */
	H_EXEC_ACK,   /* its ms, the ack time */
	H_EXEC_WALL,  /* exec round seen from here: write to event */
	H_SHELL,      /* shell round, as for exec */
	H_SHELL_ACK,  /* its ack time */
	H_SHELL_WALL, /* write to event */
	H_PIPE_RATE,  /* pipe handler (cat), pipelined replies per second */
	H_PIPE_RCPU,  /* share of one CPU the bench's reader took meanwhile */
	H_PDSH,       /* pdsh -R exec ... true, fork to reap, ms */
	H_CLUSH,      /* clush -R exec ... true, likewise */
	NHFIG
};

/* The detached section's figures (issue 13); one row per repetition. */
enum dfig {
	D_SEND,  /* `orchestrator send NAME x` to a running fleet, ms */
	D_PLAIN, /* `orchestrator -n N` fed one line, then EOF, ms */
	NDFIG
};

/* The tools timed beside the handlers. */
enum tool { T_PDSH, T_CLUSH, NTOOLS };

/* The settings of a run, fixed once main() has set up. */
struct bench {
	char orch[PATH_MAX];    /* the orchestrator, absolute */
	char dir[64];           /* our temporary directory */
	char conf[96], log[96]; /* its configuration; its or a tool's stderr */
	char sockdir[96];       /* where its fleets put their sockets */
	char hconf[96];         /* the configuration of handler runs */
	char fleet[32];         /* the detached section's fleet's name */
	char dsock[128];        /* its control socket, in sockdir */
	char dlog[128];         /* its log (XDG_STATE_HOME = dir) */
	char dlock[128], plock[128]; /* its name's lock; the plain runs' */
	char tool[NTOOLS][PATH_MAX]; /* each tool on PATH, "" when not */
	unsigned sizes[MAX_SIZES], nsizes, reps;
	int port;
	bool json, verbose;
	bool handlers;    /* the handlers section instead of fanout's */
	bool detached;    /* the detached section instead of fanout's */
	sigset_t oldmask; /* the signal mask children get back */
};

/* Return the number of lock-step rounds for n nodes. */
static inline unsigned rounds_for(unsigned n)
{
	return n <= 100 ? 200 : 50;
}

/* Return the number of lock-step rounds of a handler for n nodes: fewer
   than rounds_for(), as each costs n processes (exec) or n replies. */
static inline unsigned handler_rounds_for(unsigned n)
{
	return n <= 100 ? 100 : 20;
}

/* Return the number of pipelined messages for n nodes: DELIVERIES / n
   rounded up, at least 100. */
static inline unsigned pipelined_for(unsigned n)
{
	unsigned m = (DELIVERIES + n - 1) / n;

	return m < 100 ? 100 : m;
}

#endif
