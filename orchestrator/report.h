/*
 * report.h - everything the orchestrator tells its user.
 *
 * Human text goes to o->human (stdout, or stderr under --json); under
 * --json each event is also one JSON object on a line of stdout (SPEC §4).
 * Output is flushed by report_flush() before the event loop waits, so a
 * reader sees every event as soon as the orchestrator has nothing else to
 * do, and a burst of events costs one write, not one each.
 */
#ifndef FANOUT_REPORT_H
#define FANOUT_REPORT_H

#include <stddef.h>

#include "orch.h"

/* Write out what the reports above have buffered. */
void report_flush(struct orch *o);

/* Write "node 3 (127.0.0.1:8891, pid 4242)" into out. */
void report_node_name(const struct node *nd, char *out, size_t outlen);

/* Write how a process ended ("exited 1", "killed by signal 9 (Killed)"). */
void report_wait_status(int status, char *out, size_t outlen);

void report_ready(struct orch *o, unsigned connected, double ms);
/* Report a finished broadcast; with say false only as a JSON event. */
void report_broadcast(struct orch *o, const struct bcast *b, bool say);
void report_node_exit(struct orch *o, const struct node *nd);

/* "node 3 (...) exited 1: its last line", and the lines before it, for
   a node that ended: as an error on stderr, or as console output. */
void report_last_words(struct orch *o, const struct node *nd, bool error);
void report_scale(struct orch *o, unsigned from, unsigned to,
                  unsigned connected, double ms);
void report_shutdown(struct orch *o, const char *reason, int status, double ms);

/* A human line about one node, prefixed with its name. */
void report_node(struct orch *o, const struct node *nd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append text to b with control characters (escape sequences, bells,
   carriage returns) shown as \xNN: a node's bytes must not drive our
   terminal. */
void report_escape(struct buf *b, const char *text, size_t len);

/* A line of the node's own output (escaped), as "[node 3] text". */
void report_node_output(const struct node *nd, const char *text, size_t len);

#endif
