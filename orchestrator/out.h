/*
 * out.h - the one place that writes what the orchestrator tells its
 * user: human text, JSON events (SPEC §4), the nodes' own output and its
 * diagnostics (log.h), through two sinks (sink.h) that never block the
 * event loop (SPEC §13).
 *
 * Human text goes to the human stream (stdout, or stderr under --json),
 * in colour only on a terminal and never against NO_COLOR; under --json
 * each event is also one JSON object on a line of stdout; node output
 * always goes to stderr, a line at a time, prefixed "[node I] ", and is
 * the one thing dropped (and counted, and said) when that reader stalls.
 * Before any line is queued, a terminal console's prompt is cleared
 * (term.h). What is queued is written by out_flush(), which the loop
 * calls before it waits, so a burst of events costs one write, not one
 * each.
 */
#ifndef FANOUT_OUT_H
#define FANOUT_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "inflight.h"
#include "loop.h"
#include "node.h"
#include "sink.h"

/* What a tap (out_tap()) is handed. */
enum out_kind {
	OUT_HUMAN,    /* report text: the human stream */
	OUT_DIAG,     /* diagnostics (log.h): standard error */
	OUT_JSON,     /* one JSON event line (SPEC §4) */
	OUT_REPORTED, /* a broadcast of to's was reported; text is NULL, len
	                 says whether it went well (1) or not (0) */
};

/* A tap: a second destination of everything said (the consoles of a
   detached fleet). to is the console a thing is for, 0 for all. */
typedef void (*out_tap_fn)(void *arg, unsigned to, enum out_kind kind,
                           const char *text, size_t len);

struct out {
	struct sink out, err; /* standard output and standard error */
	struct sink *errs;    /* &err, or &out when both are one file */
	struct sink *human;   /* &out, or errs with --json */
	FILE *term;           /* a stream over human, for the line editor */
	bool json;            /* JSON events on stdout */
	bool lines; /* replies as pdsh's "node3: text" lines on stdout, every
	               other report on stderr (/lines switches the form
	               only) */
	bool quiet; /* only errors, incomplete broadcasts, the summary */
	bool color;
	uint64_t progress_ns; /* when the start-up count was last drawn */
	out_tap_fn tap;       /* NULL: none */
	void *tap_arg;
	unsigned to;   /* whom what is said now is for: a console, 0 all */
	bool to_only;  /* ... and for it alone: not our own streams */
	bool stamp;    /* each line begins with the time (a detached fleet's
	                  log, SPEC §11) */
	bool mid_line; /* with stamp: the last text ended inside a line */
};

/* Set up for --json (json), --lines (lines) and -q (quiet): open the
   sinks, choose the human stream (stderr when stdout carries JSON or
   reply lines) and whether it gets colour, and take over log.h's lines.
   Return 0, or -1 with errno (out of memory). */
int out_init(struct out *o, bool json, bool lines, bool quiet);

/* Hand everything said from now on to fn too (JSON events included,
   with or without --json); NULL stops it. */
void out_tap(struct out *o, out_tap_fn fn, void *arg);

/* Say what follows to console to alone (0: to all), until called
   again: the answer to a command that console sent, which our own
   streams (a detached fleet's log, a foreground fleet's terminal) do not
   get either. */
static inline void out_to(struct out *o, unsigned to)
{
	o->to = to;
	o->to_only = to != 0;
}

/* Let the sinks wait for slow readers through loop. */
void out_watch(struct out *o, struct loop *loop);

/* Write what is queued, as far as the readers take it; once a stalled
   reader of stderr has caught up, say how many node lines were dropped. */
void out_flush(struct out *o);

/* Whether so much waits for a reader that input should pause. */
bool out_full(const struct out *o);

/* Whether the reader of standard output went away (its reports can no
   longer be read: the run should stop). */
bool out_stdout_gone(const struct out *o);

/* At exit: write what waits, for as long as the readers take it, and
   release everything. Nothing is lost to a slow reader: with patient the
   wait ends only when stop(arg) says so, asked whenever stop_fd (the
   signalfd) is readable (a SIGINT or SIGTERM); without (the run ended by
   a signal), also after a second without progress. */
void out_close(struct out *o, bool patient, int stop_fd,
               bool (*stop)(void *arg), void *arg);

/* A human line (printf-style, newline added). */
void out_text(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Human text of len bytes, as it is (whole lines), written at once. */
void out_block(struct out *o, const char *text, size_t len);

/* A human line about one node, prefixed with its name. */
void out_node(struct out *o, const struct node *nd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* nd (its process, or what it left in its process group) outlived
   SIGTERM by ms and gets SIGKILL: say so (SPEC §12). */
void out_sigkill(struct out *o, const struct node *nd, unsigned ms);

/* On a terminal, "what k/total" drawn in place at most every 50 ms while
   a fleet of 100 or more starts; out_progress_done() erases it. */
void out_progress(struct out *o, const char *what, unsigned k, unsigned total);
void out_progress_done(struct out *o);

/* "ready: N/M nodes in X ms", and its event. */
void out_ready(struct out *o, unsigned connected, unsigned expected, double ms);

/* A finished broadcast: its human line (when say, and unless quiet and
   clean), its gathered replies (when say: folded as clush -b shows them
   on the human stream, or with lines each reply line on stdout and each
   failed ending on stderr, as pdsh prints them; none under --json, whose
   event carries them) and its event; nodes[0..count) as in
   format_broadcast(). The replies must be sorted (gather_sort()). */
void out_broadcast(struct out *o, const struct bcast *bc, bool say,
                   struct node *const *nodes, unsigned count);

/* A node that ended while running: its last words (not for one lost
   with its host: fleet.c says that once for all), and its event. */
void out_node_exit(struct out *o, const struct node *nd);

/* "node 3 (...) exited 1: its last line", and the lines before it: as
   an error (log.h) when error, else as a console line. */
void out_last_words(struct out *o, const struct node *nd, bool error);

/* A reload's change of size, once settled, and its event. */
void out_scale(struct out *o, unsigned from, unsigned to, unsigned connected,
               double ms);

/* The shutdown line (summary: sent broadcasts and those that went
   cleanly, fully acked or, when replies were wanted, also replied to
   with status 0 everywhere, when summary is set) and its event. */
void out_shutdown(struct out *o, bool summary, uint64_t sent, uint64_t clean,
                  bool replies, const char *reason, int status, double ms);

/* A line of a node's own output, escaped, as "[node 3] text". */
void out_node_output(struct out *o, unsigned index, const char *text,
                     size_t len);

/* A line a host's launcher printed (escaped), as "[host a] text"; it
   gives way like node output when the reader stalls. */
void out_host_output(struct out *o, const char *host, const char *text,
                     size_t len);

#endif
