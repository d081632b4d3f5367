/*
 * node.h - the record of one node: who it is, and one part per module
 * that keeps something about it.
 *
 * Each part has one writer, named on it; every other module only reads
 * it. The node's state is written by fleet_set_state() alone, which keeps
 * the fleet's count of ready nodes. A node is an index into the fleet
 * (fleet.h); no part points back to a module: a watcher callback finds
 * its node from the watcher (container_of) and its module from w->arg.
 */
#ifndef FANOUT_NODE_H
#define FANOUT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backoff.h"
#include "buf.h"
#include "loop.h"

enum node_state {
	NODE_STARTING,   /* spawned, not yet listening */
	NODE_READY,      /* listening (or silent about it), not connected */
	NODE_CONNECTING, /* a connect job is on it */
	NODE_CONNECTED,  /* handshake done, in the broadcast set */
	NODE_LOST,       /* connection closed, process not yet reaped */
	NODE_STOPPING,   /* surplus after a reload: BYE and SIGTERM sent */
	NODE_DOWN,       /* reaped; up.restart_ns says if it starts again */
};

#define NODE_LAST_LINE  512
#define NODE_LAST_LINES 3  /* a failing node's last words, quoted */
#define RTT_KEEP        64 /* round trips kept per node for /status */

/* The process (written by fleet.c). */
struct proc {
	pid_t pid;           /* of the last process started, 0 if none */
	bool running;        /* that process exists and is not reaped */
	pid_t pgid;          /* its process group while any member may live (the
	                        leader gone or not), else 0 */
	unsigned generation; /* unique per start across the fleet */
	int ready_fd, out_fd; /* -1 when closed */
	struct watcher w_ready, w_out;
	struct buf text; /* output line being assembled */
	char last_lines[NODE_LAST_LINES][NODE_LAST_LINE]; /* a ring */
	unsigned nlines; /* lines printed since it started */
	int wait_status; /* from waitpid(2), once reaped */
	bool far;        /* started by its host's launcher (SPEC §8): pid is
	                    the one there, pgid 0 */
	bool far_group;  /* a far node's group may live on its host, until
	                    reported empty */
	bool far_queued; /* its start waits for its host's next launch */
	bool lost_host;  /* it ended with its host's launcher: said once
	                    for all of them, and started again with the
	                    host, not counted against its own restarts */
};

/* The connection and its accounting (written by links.c). */
struct link {
	int sock; /* -1 when closed */
	struct watcher w_sock;
	struct buf in, out; /* a partial frame read; frames to write */
	bool joined;        /* was connected once: it counts in broadcasts */
	uint64_t first_seq; /* the first broadcast this record could be sent:
	                       older ones are another record's at its index */
	uint64_t acked, missed, late, corrupt, last_rtt_ns;
	uint32_t rtt_us[RTT_KEEP]; /* the last round trips, in us */
	unsigned rtt_count;        /* round trips recorded, ever */
};

/* Keeping it running (written by supervisor.c). */
struct upkeep {
	uint64_t restart_ns; /* when to start it again, 0 if not */
	uint64_t term_ns;    /* when a stopping node gets SIGTERM, 0 if not */
	uint64_t termed_ns;  /* when its group last got SIGTERM, 0 if not */
	uint64_t stop_ns;    /* when a stopping node gets SIGKILL, 0 if not */
	uint64_t forget_ns;  /* when a group that outlived SIGKILL is given
	                        up, 0 if not */
	struct backoff backoff;
	unsigned total_restarts;
};

struct node {
	unsigned index, port;
	const char *host;      /* where it listens (the configuration's) */
	enum node_state state; /* fleet_set_state() only */
	struct proc proc;
	struct link link;
	struct upkeep up;
};

/* The node whose part member is at p, e.g. node_of(w, link.w_sock). */
#define node_of(p, member)                                                     \
	((struct node *)(void *)((char *)(p)-offsetof(struct node, member)))

#endif
