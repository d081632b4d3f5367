/*
 * gather.h - the replies to one broadcast, gathered as `clush -b` and
 * `dshbak -c` gather them (SPEC §10): nodes whose replies are identical
 * (same output, same ending: how, code, flags, bytes dropped) form one
 * group; each group's output is kept once. Pure: no I/O, no clock.
 */
#ifndef FANOUT_GATHER_H
#define FANOUT_GATHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct reply_group {
	uint32_t hash; /* of the output (proto_checksum()), to compare fast */
	enum reply_how how;
	uint8_t flags; /* REPLY_F_* */
	uint16_t code;
	uint32_t dropped;
	uint8_t *output; /* len bytes, owned (NULL when len is 0) */
	uint32_t len;
	unsigned *nodes; /* node indexes, ascending after gather_sort() */
	unsigned nnodes, node_cap;
};

struct gather {
	struct reply_group *groups;
	unsigned ngroups, group_cap;
	size_t bytes;  /* of output kept, all groups together */
	unsigned last; /* the group the last reply joined: usually the next */
};

/* Add node's reply r (its output is copied when it starts a group).
   Return 0, or -1 when out of memory (nothing added). */
int gather_add(struct gather *g, unsigned node, const struct proto_reply *r);

/* Order the groups by their lowest node and each group's nodes
   ascending, as reports show them. */
void gather_sort(struct gather *g);

/* Whether gr's replies are clean ones: exit status 0, no signal, no
   time-out (SPEC §10). A co-process started again before a command
   that then succeeded, or output cut short, is said but still clean. */
bool gather_group_clean(const struct reply_group *gr);

/* Write into out, ascending, the nodes whose reply was not clean; out
   has room for every node gathered. Return how many. */
unsigned gather_unclean(const struct gather *g, unsigned *out);

/* Whether every reply gathered is a clean one. */
bool gather_all_clean(const struct gather *g);

/* Forget every reply, keeping the arrays for the next broadcast. */
void gather_clear(struct gather *g);

/* Release everything. */
void gather_free(struct gather *g);

#endif
