/*
 * orch.h - the orchestrator's state, shared by its modules.
 *
 * One struct orch per run, owned by main.c. Every field is touched only by
 * the main thread; the connect pool (connector.c) works on its own copies
 * and hands results back under its mutex.
 */
#ifndef FANOUT_ORCH_H
#define FANOUT_ORCH_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "inflight.h"
#include "loop.h"
#include "net.h"
#include "pidmap.h"
#include "proto.h"
#include "token.h"

/* Exit statuses (SPEC §4), fixed once and for all. */
enum {
	EXIT_OK = 0,
	EXIT_INCOMPLETE = 1, /* acks missing, or a node died */
	EXIT_UNAVAILABLE = 69,
	EXIT_CONFIG = 78,
	EXIT_SIGINT = 130,
	EXIT_SIGTERM = 143,
};

enum node_state {
	NODE_STARTING,   /* spawned, not yet listening */
	NODE_READY,      /* listening (or silent about it), not connected */
	NODE_CONNECTING, /* a connect job is on it */
	NODE_CONNECTED,  /* handshake done, in the broadcast set */
	NODE_LOST,       /* connection closed, process not yet reaped */
	NODE_STOPPING,   /* surplus after a reload: BYE and SIGTERM sent */
	NODE_DOWN,       /* reaped; restart_ns says if it starts again */
};

#define NODE_LAST_LINE  512
#define NODE_LAST_LINES 3  /* a failing node's last words, quoted */
#define RTT_KEEP        64 /* round trips kept per node for /status */

struct orch;

struct node {
	struct orch *o;
	unsigned index, port;
	pid_t pid;    /* of the last process started */
	bool running; /* that process exists and is not reaped */
	bool joined;  /* was connected once: it counts in broadcasts */
	enum node_state state;
	unsigned generation; /* bumped at each start */
	uint64_t restart_ns; /* when to start it again, 0 if not */
	uint64_t stop_ns;    /* when a stopping node gets SIGKILL, 0 if not */
	uint64_t window_ns;  /* start of the current restart window */
	unsigned restarts;   /* restarts in that window */
	unsigned total_restarts;
	int ready_fd, out_fd, sock; /* -1 when closed */
	struct watcher w_ready, w_out, w_sock;
	struct buf in, out; /* socket buffers */
	struct buf text;    /* output line being assembled */
	char last_lines[NODE_LAST_LINES][NODE_LAST_LINE]; /* a ring */
	unsigned nlines; /* lines the node printed since it started */
	int wait_status;
	uint64_t acked, missed, late, corrupt, last_rtt_ns;
	uint32_t rtt_us[RTT_KEEP]; /* the last round trips, in us */
	unsigned rtt_count;        /* round trips recorded, ever */
};

enum phase { PHASE_STARTING, PHASE_RUNNING, PHASE_DRAINING, PHASE_STOPPING };

enum stop_reason { STOP_NONE, STOP_EOF, STOP_EXIT, STOP_SIGNAL, STOP_ERROR };

struct orch {
	struct cli cli;
	struct config cfg;
	struct loop loop;
	struct watcher w_signal, w_stdin;
	struct node **nodes;
	unsigned n;        /* the fleet's size: nodes 0..n-1 */
	unsigned nalloc;   /* nodes allocated: n plus surplus still stopping */
	unsigned nready;   /* nodes in NODE_READY (fleet_set_state keeps it) */
	bool timers_armed; /* some node has restart_ns or stop_ns set */
	struct batch *batches; /* connect pools at work while running */
	struct pidmap pids;    /* running nodes by process id */
	struct net_addr host_addr[CONFIG_HOSTS_MAX]; /* by host, resolved */
	bool host_known[CONFIG_HOSTS_MAX];
	unsigned spawns; /* processes started: numbers generations */
	struct park {    /* the second spawning thread (fleet.c) */
		pthread_t thread;
		pthread_mutex_t mu;
		pthread_cond_t cv;
		bool started, done, quit;
	} park;
	struct {
		bool active;
		unsigned from, to;
		uint64_t t0_ns;
	} scale; /* a reload's change of size, until it is done */
	enum phase phase;
	bool console_ran; /* start-up succeeded and input was read */
	char node_path[PATH_MAX];
	uint8_t token[PROTO_TOKEN_LEN];
	char **node_env; /* environ plus what node_env.h names: */
	char env_vars[2][TOKEN_HEX_LEN + 32];
	uint64_t t0_ns;       /* start of the run */
	uint64_t progress_ns; /* when the start-up count was last drawn */

	struct inflight inflight;
	struct buf line; /* stdin bytes not yet a whole line */
	bool discarding; /* inside a line too long to send */
	bool unflushed;  /* broadcasts queued on sockets, not yet written */
	bool stdin_eof;
	bool stdin_plain; /* a regular file: epoll cannot watch it */
	uint64_t lineno;
	uint8_t *frame;   /* scratch: one encoded MSG frame */
	uint8_t *scratch; /* where acks are read (console.c) */

	FILE *human;                /* stdout, or stderr with --json */
	bool color;                 /* human output is a terminal, and
	                               NO_COLOR is not set */
	uint64_t sent, fully_acked; /* broadcasts reported, and how many
	                               were acked by every node */
	bool incomplete;            /* some ack was missing or a node died */
	enum stop_reason stop;
	int stop_signal;
	int interrupts;      /* SIGINTs and SIGTERMs received */
	bool reload_pending; /* SIGHUP or /reload: read the file again */
	struct node *failed; /* the node that broke start-up */
};

#endif
