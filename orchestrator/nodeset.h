/*
 * nodeset.h - node sets as people who run clush and pdsh write them:
 * "0-5,7", or with the prefix, "node[0-5,7]" and "node6" (ClusterShell's
 * NodeSet syntax, reduced to one prefix and plain indexes). Pure: no I/O.
 */
#ifndef FANOUT_NODESET_H
#define FANOUT_NODESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Append the folded ranges of n ascending, distinct indexes: "0-5,7"
   (nothing for n == 0). */
void nodeset_fold(struct buf *b, const unsigned *idx, unsigned n);

/* Append the node set as a group header names it: "node[0-5,7]" for
   several nodes, "node6" for one. */
void nodeset_format(struct buf *b, const unsigned *idx, unsigned n);

/* Parse a node set of nodes below limit: "3", "0-3,7", "node3",
   "node[0-3,7]" (ranges ascending, overlaps allowed). member gets one
   byte per node (limit bytes), 1 for those in the set. Only len bytes of
   text are read; nothing else is allowed (no blanks, signs, or trailing
   comma). Return how many nodes the set has (at least 1), or -1 with one
   line in err naming what is wrong (a malformed range, an index past
   limit - 1), member's bytes then unspecified. */
int nodeset_parse(const char *text, size_t len, unsigned limit, uint8_t *member,
                  char *err, size_t errlen);

#endif
