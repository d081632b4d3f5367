/*
 * fleet.h - the node processes: spawn, watch their output, reap, stop.
 *
 * Each node runs in a process group of its own, so a Ctrl-C typed at the
 * terminal reaches the orchestrator only and teardown stays orderly. Its
 * stdout and stderr go to one pipe the orchestrator reads a line at a
 * time; its readiness byte comes on a second pipe, seen by the node as
 * descriptor 3.
 */
#ifndef FANOUT_FLEET_H
#define FANOUT_FLEET_H

#include <stdbool.h>
#include <stddef.h>

#include "net.h"
#include "orch.h"

/* Locate node beside our own executable and build the environment nodes
   get. Return 0 or -1 with a message in err. */
int fleet_init(struct orch *o, char *err, size_t errlen);

/* Release what fleet_init() and fleet_add() allocated. */
void fleet_free(struct orch *o);

/* Make the fleet n nodes, allocating structs for indexes o->nalloc..n-1
   (none are started). Return 0 or -1 (out of memory). */
int fleet_add(struct orch *o, unsigned n);

/* Free the last allocated node (not running) and shrink the fleet. */
void fleet_drop_last(struct orch *o);

/* Start node nd and watch its pipes. Return 0, or -1 with a message in
   err (the command could not be run). */
int fleet_spawn(struct orch *o, struct node *nd, char *err, size_t errlen);

/* Start every node of the fleet, from two threads when there are many.
   Return 0, or -1 with *failed the index of a node that could not be
   started and a message in err; nodes started are in the fleet either
   way (to be torn down). */
int fleet_spawn_all(struct orch *o, unsigned *failed, char *err, size_t errlen);

/* Return the line nd printed back lines before its last (0: the last),
   or NULL if it printed no such line since it started. */
const char *fleet_last_line(const struct node *nd, unsigned back);

/* Reap every child that has exited: drain its output, close its
   descriptors, and call on_exit(o, nd) for each. */
void fleet_reap(struct orch *o, void (*on_exit)(struct orch *, struct node *));

/* Write the address to connect to node nd into *a; return 0, or -1
   with a message when its host does not resolve. */
int fleet_node_addr(struct orch *o, const struct node *nd, struct net_addr *a,
                    char *err, size_t errlen);

/* Raise RLIMIT_NOFILE for a fleet of nodes (each costs up to three
   descriptors while it starts). Return 0, or -1 with the limit named
   in a message. */
int fleet_raise_nofile(unsigned nodes);

/* Move nd to state s, keeping the fleet's count of ready nodes. */
void fleet_set_state(struct node *nd, enum node_state s);

/* Close a node's connection and stop watching it (it stays reapable). */
void fleet_disconnect(struct orch *o, struct node *nd);

/* Send sig to every live node; return how many are alive. */
unsigned fleet_signal(struct orch *o, int sig);

/* Send sig to nd's process group if it runs; return whether it does. */
bool fleet_signal_node(const struct node *nd, int sig);

/* Return how many nodes are not reaped yet. */
unsigned fleet_alive(const struct orch *o);

#endif
