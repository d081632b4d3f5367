/*
 * fleet.h - the node processes: spawn, watch their output, reap, signal
 * their process groups.
 *
 * The fleet owns the node records (node.h), indexes 0..n-1, plus surplus
 * nodes n..nalloc-1 still stopping after a reload shrank it. Each node
 * runs in a process group of its own, so a Ctrl-C typed at the terminal
 * reaches the orchestrator only and teardown stays orderly. Its stdout
 * and stderr go to one pipe read a line at a time; its readiness byte
 * comes on a second pipe, seen by the node as descriptor 3.
 *
 * With [cluster] launcher every node is far (SPEC §8): its host's
 * launcher (hosts.h) starts it there, and its start, readiness, output,
 * end and group come back as reports, signals go as orders; the records
 * are the same, and so is everything above this module. A far node's
 * pid is the one on its host: never signalled from here.
 */
#ifndef FANOUT_FLEET_H
#define FANOUT_FLEET_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hosts.h"
#include "loop.h"
#include "node.h"
#include "out.h"
#include "pidmap.h"
#include "proto.h"
#include "template.h"
#include "token.h"

#define FLEET_INHERITED_MAX 64

struct fleet {
	struct node **nodes;
	unsigned n;         /* the fleet's size: nodes 0..n-1 */
	unsigned nalloc;    /* nodes allocated: n plus surplus still stopping */
	unsigned nready;    /* nodes in NODE_READY (fleet_set_state keeps it) */
	unsigned lingering; /* nodes reaped whose process group may live */

	/* What it works with, set by fleet_init(). */
	struct loop *loop;
	struct out *out;
	const struct config *cfg;
	const char *log_dir; /* --log-dir, or NULL */

	struct pidmap pids;                   /* running nodes by process id */
	pid_t inherited[FLEET_INHERITED_MAX]; /* our children before the
	                                         first node: not strays */
	unsigned ninherited;
	unsigned spawns; /* processes started: numbers generations */
	char node_path[PATH_MAX];
	struct template command; /* [node] command, split into words */
	char **node_env;         /* environ plus what node_env.h names: */
	char env_vars[2][TOKEN_HEX_LEN + 32];
	const uint8_t *token; /* the run's (PROTO_TOKEN_LEN bytes) */
	void (*on_exit)(void *arg, struct node *nd); /* a node ended */
	void *exit_arg;
	bool far;      /* [cluster] launcher: every node is far */
	bool started;  /* fleet_started(): start-up is over */
	bool stopping; /* fleet_stopping(): hosts close as they empty */
	struct hosts hosts;
	const char *host_names[CONFIG_HOSTS_MAX];
	struct park { /* the second spawning thread */
		pthread_t thread;
		pthread_mutex_t mu;
		pthread_cond_t cv;
		bool started, done, quit;
	} park;
};

/* Set f up: note the children we already have (not ours to stop),
   locate node beside our own executable (unless cfg names a command),
   build the environment nodes get, with token, and with a launcher the
   hosts. on_exit(arg, nd) is called for every node that ends (reaped,
   reported ended by its host, or lost with it). Call before any node is
   started. Return 0 or -1 with a message in err. */
int fleet_init(struct fleet *f, struct loop *loop, struct out *out,
               const struct config *cfg, const char *log_dir,
               const uint8_t token[PROTO_TOKEN_LEN],
               void (*on_exit)(void *arg, struct node *nd), void *arg,
               char *err, size_t errlen);

/* Release what fleet_init() and fleet_add() allocated. */
void fleet_free(struct fleet *f);

/* Make the fleet n nodes, allocating records for indexes nalloc..n-1
   (none are started). Return 0 or -1 (out of memory). */
int fleet_add(struct fleet *f, unsigned n);

/* Free the last allocated node (not running) and shrink the fleet. */
void fleet_drop_last(struct fleet *f);

/* Start node nd and watch its pipes. Return 0, or -1 with a message in
   err (the command could not be run). */
int fleet_spawn(struct fleet *f, struct node *nd, char *err, size_t errlen);

/* Start every node of the fleet, from two threads when there are many.
   Return 0, or -1 with *failed the index of a node that could not be
   started and a message in err; nodes started are in the fleet either
   way (to be torn down). */
int fleet_spawn_all(struct fleet *f, unsigned *failed, char *err,
                    size_t errlen);

/* Reap every child that has exited: drain its output, close its pipes,
   mark it down (unless stopping), and call on_exit for each; a launcher
   that ended loses its host's nodes (said, and on_exit for each). */
void fleet_reap(struct fleet *f);

/* Give up on hosts whose launcher has not answered within [connect]
   timeout_ms (their nodes are lost with them). Call now and then while
   the fleet runs; return the ms until the next such deadline, -1 for
   none. */
int fleet_tick(struct fleet *f);

/* Return when far node nd's host, lost, may be launched again
   (CLOCK_MONOTONIC ns; 0 at once, and for a node of this machine). */
uint64_t fleet_host_retry_ns(const struct fleet *f, const struct node *nd);

/* Start-up is over: from now on a lost host is launched again. */
void fleet_started(struct fleet *f);

/* Return whether far node nd waits for its host: lost with it, or
   started while the host waits for its next launch. */
bool fleet_node_waits_host(const struct node *nd);

/* The fleet is being torn down: each host's launcher is closed once
   nothing of its nodes is left (its host daemon then exits). */
void fleet_stopping(struct fleet *f);

/* Say, for each host whose launcher runs but whose daemon has not said
   hello, that it did not answer within waited_ms, with what it said
   last; return how many there are. */
unsigned fleet_say_silent_hosts(const struct fleet *f, unsigned waited_ms);

/* Raise RLIMIT_NOFILE for a fleet of nodes (each costs up to three
   descriptors while it starts). Return 0, or -1 with a message in err. */
int fleet_raise_nofile(unsigned nodes, char *err, size_t errlen);

/* Move nd to state s, keeping the fleet's count of ready nodes. */
void fleet_set_state(struct fleet *f, struct node *nd, enum node_state s);

/* Send sig to the process group of every node whose leader or group
   still lives (SPEC §12: a group gets the whole teardown whether or not
   its leader is alive); return how many such nodes there are. SIGKILL
   also reaches every launcher closed or not up (hosts_kill_idle). */
unsigned fleet_signal(struct fleet *f, int sig);

/* Send sig to nd's process group if any of it lives, else to nd's
   process if it runs; return whether either lives. */
bool fleet_signal_node(struct fleet *f, struct node *nd, int sig);

/* nd, reaped after it died while running, ran in a session of its own:
   SIGKILL what is left of that session outside its group (what its
   handlers ran, in groups of their own), now that nothing is left to
   stop it in order. Return how many processes got it. */
unsigned fleet_kill_session(const struct node *nd);

/* Return whether anything of nd lives: its process, or a member of its
   process group. */
bool fleet_node_alive(struct fleet *f, struct node *nd);

/* Forget the group of every reaped node whose group is empty now. Call
   often while f->lingering > 0: a group emptied by someone else's reaping
   sends no SIGCHLD, and its id must be forgotten long before the kernel
   could give it to another group. */
void fleet_check_groups(struct fleet *f);

/* Stop watching the group of reaped node nd (what is left of it outlived
   SIGKILL: stuck, or a zombie nobody reaps); nothing is sent to it
   again. */
void fleet_forget_group(struct fleet *f, struct node *nd);

/* Return whether nd is alive and was heard of: a far node whose host
   never said it started is not named as outliving a signal (its host
   is the one to blame, and is killed). */
bool fleet_node_heard(struct fleet *f, struct node *nd);

/* Return how many nodes have a process or a group member alive, plus
   the launchers that run. */
unsigned fleet_alive(struct fleet *f);

/* Store into out (up to max) the processes that are our children but
   no node's: what nodes started and left behind, re-parented to us
   (PR_SET_CHILD_SUBREAPER). Children we had before the first node (a
   logger behind `exec > >(...)`, inherited through exec) are not
   strays, nor members of a node's group (stopped as the node's). Return
   how many there are. */
unsigned fleet_strays(const struct fleet *f, pid_t *out, unsigned max);

#endif
