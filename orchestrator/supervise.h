/*
 * supervise.h - keeping a running fleet at its size.
 *
 * While the console runs, nodes come and go: one that fails is started
 * again when [node] restart = on-failure (with backoff, and given up after
 * RESTART_MAX restarts within RESTART_WINDOW_MS); a reload adds nodes or
 * stops surplus ones. Everything here is driven from the event loop and
 * never blocks it: new nodes are connected by a pool (connector.c) whose
 * completion wakes the loop through an eventfd.
 */
#ifndef FANOUT_SUPERVISE_H
#define FANOUT_SUPERVISE_H

#include "orch.h"

#define RESTART_MAX       5
#define RESTART_WINDOW_MS 60000
#define RESTART_DELAY_MS  100 /* doubled at each restart in a window */

/* A node exited while the console runs: report it, and schedule its
   restart or finish its retirement. */
void supervise_node_exit(struct orch *o, struct node *nd);

/* Run what is due: restarts, SIGKILL for stopping nodes past their
   grace, connecting nodes that became ready, reporting a finished scale.
   Call after every loop round. */
void supervise_tick(struct orch *o);

/* Return the loop timeout (ms) until the next thing due, -1 for none. */
int supervise_timeout(const struct orch *o);

/* Resize the running fleet to n nodes. Return 0, or -1 with a message
   printed when it cannot be done now. */
int supervise_scale(struct orch *o, unsigned n);

/* Cancel connect pools still at work and release them (teardown). */
void supervise_stop(struct orch *o);

#endif
