/* gather.c - see gather.h. */
#include "gather.h"

#include <stdlib.h>
#include <string.h>

/* Whether gr holds replies identical to r, whose output hashes to h. */
static bool same(const struct reply_group *gr, const struct proto_reply *r,
                 uint32_t h)
{
	return gr->hash == h && gr->how == r->how && gr->code == r->code &&
	       gr->flags == r->flags && gr->dropped == r->dropped &&
	       gr->len == r->len &&
	       (r->len == 0 || memcmp(gr->output, r->output, r->len) == 0);
}

/* Return the group r belongs to, or NULL. The group the last reply
   joined is tried first: nodes mostly agree. Past it, a plain scan: at a
   thousand nodes that all differ it is half a million hash compares a
   broadcast, well under a millisecond. */
static struct reply_group *find(struct gather *g, const struct proto_reply *r,
                                uint32_t h)
{
	if (g->ngroups > 0 && same(&g->groups[g->last], r, h))
		return &g->groups[g->last];
	for (unsigned i = 0; i < g->ngroups; i++)
		if (same(&g->groups[i], r, h))
			return &g->groups[i];
	return NULL;
}

/* Append node to gr's nodes; return 0 or -1 (out of memory). */
static int join(struct reply_group *gr, unsigned node)
{
	if (gr->nnodes == gr->node_cap) {
		unsigned cap = gr->node_cap ? 2 * gr->node_cap : 4;
		unsigned *p = realloc(gr->nodes, (size_t)cap * sizeof(*p));

		if (!p)
			return -1;
		gr->nodes = p;
		gr->node_cap = cap;
	}
	gr->nodes[gr->nnodes++] = node;
	return 0;
}

/* Make room for one more group; the new ones are zeroed, so a cleared
   group's node array is reused. Return 0 or -1. */
static int reserve_group(struct gather *g)
{
	unsigned cap = g->group_cap ? 2 * g->group_cap : 4;
	struct reply_group *p;

	if (g->ngroups < g->group_cap)
		return 0;
	p = realloc(g->groups, (size_t)cap * sizeof(*p));
	if (!p)
		return -1;
	memset(p + g->group_cap, 0, (size_t)(cap - g->group_cap) * sizeof(*p));
	g->groups = p;
	g->group_cap = cap;
	return 0;
}

/* Start a group with node's reply r (hashed h), copying its output;
   return 0 or -1 (nothing added). */
static int start(struct gather *g, unsigned node, const struct proto_reply *r,
                 uint32_t h)
{
	struct reply_group *gr;
	uint8_t *out = NULL;

	if (reserve_group(g) < 0)
		return -1;
	gr = &g->groups[g->ngroups];
	if (r->len > 0 && !(out = malloc(r->len)))
		return -1;
	if (join(gr, node) < 0) {
		free(out);
		return -1;
	}
	if (r->len > 0)
		memcpy(out, r->output, r->len);
	gr->hash = h;
	gr->how = r->how;
	gr->flags = r->flags;
	gr->code = r->code;
	gr->dropped = r->dropped;
	gr->output = out;
	gr->len = r->len;
	g->bytes += r->len;
	g->last = g->ngroups++;
	return 0;
}

int gather_add(struct gather *g, unsigned node, const struct proto_reply *r)
{
	uint32_t h = proto_checksum(r->output, r->len);
	struct reply_group *gr = find(g, r, h);

	if (!gr)
		return start(g, node, r, h);
	if (join(gr, node) < 0)
		return -1;
	g->last = (unsigned)(gr - g->groups);
	return 0;
}

static int cmp_node(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

/* Groups by their lowest node (their nodes sorted first). */
static int cmp_group(const void *a, const void *b)
{
	return cmp_node(((const struct reply_group *)a)->nodes,
	                ((const struct reply_group *)b)->nodes);
}

void gather_sort(struct gather *g)
{
	for (unsigned i = 0; i < g->ngroups; i++)
		qsort(g->groups[i].nodes, g->groups[i].nnodes, sizeof(unsigned),
		      cmp_node);
	if (g->ngroups > 1)
		qsort(g->groups, g->ngroups, sizeof(*g->groups), cmp_group);
}

bool gather_group_clean(const struct reply_group *gr)
{
	return gr->how == REPLY_EXITED && gr->code == 0;
}

unsigned gather_unclean(const struct gather *g, unsigned *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->ngroups; i++)
		if (!gather_group_clean(&g->groups[i])) {
			memcpy(out + n, g->groups[i].nodes,
			       g->groups[i].nnodes * sizeof(*out));
			n += g->groups[i].nnodes;
		}
	qsort(out, n, sizeof(*out), cmp_node);
	return n;
}

bool gather_all_clean(const struct gather *g)
{
	for (unsigned i = 0; i < g->ngroups; i++)
		if (!gather_group_clean(&g->groups[i]))
			return false;
	return true;
}

void gather_clear(struct gather *g)
{
	for (unsigned i = 0; i < g->ngroups; i++) {
		free(g->groups[i].output);
		g->groups[i].output = NULL;
		g->groups[i].nnodes = 0;
	}
	g->ngroups = g->last = 0;
	g->bytes = 0;
}

void gather_free(struct gather *g)
{
	gather_clear(g);
	for (unsigned i = 0; i < g->group_cap; i++)
		free(g->groups[i].nodes);
	free(g->groups);
	memset(g, 0, sizeof(*g));
}
