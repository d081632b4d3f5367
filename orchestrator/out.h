/*
 * out.h - the one place that writes what the orchestrator tells its
 * user: human text, JSON events (SPEC §4) and the nodes' own output.
 *
 * Human text goes to the human stream (stdout, or stderr under --json),
 * in colour only on a terminal and never against NO_COLOR; under --json
 * each event is also one JSON object on a line of stdout; node output
 * always goes to stderr, a line at a time, prefixed "[node I] ". Text is
 * built by format.h. Before any line is written, a terminal console's
 * prompt is cleared (term.h). Output is flushed by out_flush() before the
 * event loop waits, so a burst of events costs one write, not one each.
 */
#ifndef FANOUT_OUT_H
#define FANOUT_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "inflight.h"
#include "node.h"

struct out {
	FILE *human; /* stdout, or stderr with --json */
	bool json;   /* JSON events on stdout */
	bool quiet;  /* only errors, incomplete broadcasts, the summary */
	bool color;
	uint64_t progress_ns; /* when the start-up count was last drawn */
};

/* Set up for --json (json) and -q (quiet): choose the human stream and
   whether it gets colour. */
void out_init(struct out *o, bool json, bool quiet);

/* Write out what the reports have buffered. */
void out_flush(struct out *o);

/* A human line (printf-style, newline added). */
void out_text(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Human text of len bytes, as it is (whole lines), written at once. */
void out_block(struct out *o, const char *text, size_t len);

/* A human line about one node, prefixed with its name. */
void out_node(struct out *o, const struct node *nd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* On a terminal, "what k/total" drawn in place at most every 50 ms while
   a fleet of 100 or more starts; out_progress_done() erases it. */
void out_progress(struct out *o, const char *what, unsigned k, unsigned total);
void out_progress_done(struct out *o);

/* "ready: N/M nodes in X ms", and its event. */
void out_ready(struct out *o, unsigned connected, unsigned expected, double ms);

/* A finished broadcast: its human line (when say, and unless quiet and
   fully acked) and its event; nodes[0..count) as in format_broadcast(). */
void out_broadcast(struct out *o, const struct bcast *bc, bool say,
                   struct node *const *nodes, unsigned count);

/* A node that ended while running: its last words, and its event. */
void out_node_exit(struct out *o, const struct node *nd);

/* "node 3 (...) exited 1: its last line", and the lines before it: as
   an error (log.h) when error, else as a console line. */
void out_last_words(struct out *o, const struct node *nd, bool error);

/* A reload's change of size, once settled, and its event. */
void out_scale(struct out *o, unsigned from, unsigned to, unsigned connected,
               double ms);

/* The shutdown line (summary: sent and fully acked broadcasts, when
   summary is set) and its event. */
void out_shutdown(struct out *o, bool summary, uint64_t sent,
                  uint64_t fully_acked, const char *reason, int status,
                  double ms);

/* A line of a node's own output, escaped, as "[node 3] text". */
void out_node_output(struct out *o, unsigned index, const char *text,
                     size_t len);

#endif
