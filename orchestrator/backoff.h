/*
 * backoff.h - when a failed node is started again, and when it is given
 * up ([node] restart = on-failure; SPEC §3, §5).
 *
 * The first restart waits BACKOFF_DELAY_MS, each further one twice as
 * long; after BACKOFF_MAX restarts within BACKOFF_WINDOW_MS the next
 * failure is final. A window opens at the first failure after the last
 * one closed. Pure: the caller passes the time.
 */
#ifndef FANOUT_BACKOFF_H
#define FANOUT_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define BACKOFF_MAX       5
#define BACKOFF_WINDOW_MS 60000
#define BACKOFF_DELAY_MS  100 /* doubled at each restart in a window */

struct backoff {
	uint64_t window_ns; /* start of the current window */
	unsigned restarts;  /* restarts in that window */
	bool opened;        /* a window was ever opened */
};

/* Whether a node that ended with waitpid(2) status wait_status is to be
   started again under policy: on-failure, and it died by a signal or
   exited non-zero. */
bool backoff_wanted(enum restart_policy policy, int wait_status);

/* Take the next restart at now_ns: return its delay in ms, or -1 when
   the node has been restarted BACKOFF_MAX times in this window and is
   given up. */
int backoff_next(struct backoff *b, uint64_t now_ns);

#endif
