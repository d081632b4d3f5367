/*
 * format.h - the text of every report, human and JSON (SPEC §4), built
 * into a buffer. Pure: no I/O, no colour, no clock; out.c writes what is
 * built here, and tests compare it with fixed strings.
 *
 * Functions append to b; when memory runs out the text is cut short
 * (buf's functions leave b as it was).
 */
#ifndef FANOUT_FORMAT_H
#define FANOUT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "inflight.h"
#include "node.h"

#define FORMAT_LIST_MAX 10 /* nodes named in one human line */

/* Write "node 3 (127.0.0.1:8891, pid 4242)" into out ("[::1]:8891" for
   an IPv6 host; no pid before the node's first start). */
void format_node_name(const struct node *nd, char *out, size_t outlen);

/* Append text with every byte that could drive a terminal shown as
   \xNN: C0 controls (escape sequences, bells, carriage returns, NUL) but
   the tab, DEL, the UTF-8 form of C1 controls (U+0080..U+009F, such as
   CSI, C2 9B), and every byte of an invalid UTF-8 sequence (a lone 0x9B
   is CSI to an 8-bit terminal). Valid UTF-8 text passes as it is. */
void format_escape(struct buf *b, const char *text, size_t len);

/* Append the human line of a finished broadcast (no newline):
   "#3 acked 4/5 in 0.41 ms, slowest node 1; missing: node 2 (...)";
   nodes[0..count) name the nodes its slots refer to. */
void format_broadcast(struct buf *b, const struct bcast *bc,
                      struct node *const *nodes, unsigned count);

/* Append the broadcast event: {"event":"broadcast",...} (no newline). */
void format_broadcast_json(struct buf *b, const struct bcast *bc);

/* Append {"event":"ready","nodes":N,"expected":N,"ms":X}. */
void format_ready_json(struct buf *b, unsigned nodes, unsigned expected,
                       double ms);

/* Append {"event":"node_exit","index":I,"pid":P,"code":C,"signal":S}. */
void format_node_exit_json(struct buf *b, const struct node *nd);

/* Append {"event":"scale","from":F,"to":T,"nodes":N,"ms":X}. */
void format_scale_json(struct buf *b, unsigned from, unsigned to,
                       unsigned nodes, double ms);

/* Append {"event":"shutdown","reason":R,"status":S,"ms":X}. */
void format_shutdown_json(struct buf *b, const char *reason, int status,
                          double ms);

/* Append the header line of the /status table (with its newline). */
void format_status_header(struct buf *b);

/* Append nd's row of the /status table (with its newline): index,
   address, pid, state, acks, misses, late acks, last and median round
   trip, restarts. */
void format_status_row(struct buf *b, const struct node *nd);

#endif
