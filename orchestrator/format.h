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
   nodes[0..count) name the nodes its slots refer to. When replies were
   wanted: "#3 acked 5/5 in 0.30 ms, replied 4/5 in 4.10 ms, slowest node
   1; no reply: node 2 (...); failed: node[0,3] (2)" (the slowest to
   reply; failed: the nodes whose reply was not clean, folded). */
void format_broadcast(struct buf *b, const struct bcast *bc,
                      struct node *const *nodes, unsigned count);

/* Append the broadcast event: {"event":"broadcast",...} (no newline).
   When replies were wanted, it has "replied", "no_reply" (indexes) and
   "replies": one object per group of gather.h, {"nodes":[..],"status":S,
   "signal":G,"timed_out":T,"restarted":R,"truncated":D,"output":"..."};
   and "reply_ms" (sending to the last reply) once one replied;
   the output is a JSON string whatever its bytes: each byte that is not
   part of valid UTF-8 is written \ufffd, and "output_base64" has the
   exact bytes then. The
   replies must be sorted (gather_sort()). */
void format_broadcast_json(struct buf *b, const struct bcast *bc);

/* Append the gathered replies of bc as clush -b shows them: for each
   group with output or an ending other than a plain exit 0, a header
   line "---------------- node[0-5,7] (7): exit 1" (the ending: "exit N",
   "killed by signal N (SIGNAME)", "timed out, killed by signal N
   (SIGNAME)", then "; co-process restarted", "; N bytes dropped"; none
   for a clean exit 0 with nothing dropped), then its output, each line
   escaped (format_escape()) and ending in a newline. Sorted replies
   only. Appends nothing when every reply is empty and clean. */
void format_replies(struct buf *b, const struct bcast *bc);

/* Append bc's replies as pdsh prints them, for dshbak and clubak: each
   output line as "node3: text\n", nodes in index order, lines escaped.
   Sorted replies only. */
void format_reply_lines(struct buf *b, const struct bcast *bc);

/* Append "node3: exit 1\n" (the ending as format_replies() says it) for
   each node whose reply was not clean or was cut short (what pdsh says
   on standard error), nodes in index order. */
void format_reply_endings(struct buf *b, const struct bcast *bc);

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
