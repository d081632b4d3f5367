/*
 * console.h - the running fleet: standard input in, broadcasts out, acks
 * back, reports as broadcasts complete.
 *
 * Input lines are broadcast as they arrive; up to CONSOLE_WINDOW may be in
 * flight at once. Every MSG frame of one batch of input is queued on each
 * node's socket buffer and the buffers are flushed once per batch, so
 * piped input costs one write per node per batch, not per line.
 */
#ifndef FANOUT_CONSOLE_H
#define FANOUT_CONSOLE_H

#include "orch.h"

#define CONSOLE_WINDOW 4096 /* broadcasts in flight before input pauses */

/* Prepare the console state (before any node is attached); 0 or -1. */
int console_init(struct orch *o);

/* Release it. */
void console_free(struct orch *o);

/* Start reading standard input; return 0 or -1. */
int console_start(struct orch *o);

/* Handle one line typed at the terminal (term.c): a command, or a
   broadcast sent at once. */
void console_line(struct orch *o, const char *p, size_t len);

/* Make fd (connected and welcomed) node nd's connection; return 0 or -1. */
int console_attach(struct orch *o, struct node *nd, int fd);

/* Report finished broadcasts and read more input where there is room.
   Call after every loop round. */
void console_tick(struct orch *o);

/* Return the loop timeout (ms) the console needs: the next broadcast
   deadline, 0 when input is waiting, -1 for none. */
int console_timeout(const struct orch *o);

/* Report every broadcast still in flight as it stands (at a signal). */
void console_flush_reports(struct orch *o);

/* Queue BYE to every connected node and write what can be written. */
void console_bye(struct orch *o);

/* The same for one node. */
void console_bye_node(struct orch *o, struct node *nd);

/* Whether the console is finished: a stop was asked for and nothing it
   waits for is in flight (or the stop was a signal). */
bool console_done(const struct orch *o);

#endif
