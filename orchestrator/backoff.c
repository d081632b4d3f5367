/* backoff.c - see backoff.h. */
#include "backoff.h"

#include <sys/wait.h>

#include "clock.h"

bool backoff_wanted(enum restart_policy policy, int wait_status)
{
	return policy == RESTART_ON_FAILURE &&
	       (WIFSIGNALED(wait_status) ||
	        (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != 0));
}

int backoff_next(struct backoff *b, uint64_t now_ns)
{
	if (!b->opened || now_ns - b->window_ns > MS_NS(BACKOFF_WINDOW_MS)) {
		b->opened = true;
		b->window_ns = now_ns;
		b->restarts = 0;
	}
	if (b->restarts >= BACKOFF_MAX)
		return -1;
	return BACKOFF_DELAY_MS << b->restarts++;
}
