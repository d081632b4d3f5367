/*
 * groups.h - process groups on their way out: each got SIGTERM and gets
 * SIGKILL once its grace has passed, if any member is still there
 * (SPEC §9: a command's leftovers, a timed-out command, the node's stop).
 *
 * A group is forgotten as soon as it is seen empty, so that its id,
 * free for reuse then, is never signalled again.
 */
#ifndef FANOUT_NODE_GROUPS_H
#define FANOUT_NODE_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GROUPS_MAX 256

struct groups {
	struct {
		pid_t pgid;
		uint64_t kill_ns; /* when SIGKILL is due (CLOCK_MONOTONIC) */
	} g[GROUPS_MAX];
	size_t n;
};

/* Send SIGTERM to group pgid now and SIGKILL grace_ms later (through
   groups_tick) if it still has a member. A group already on its way out
   keeps its earlier deadline. An empty group is not recorded. When the
   table is full, the group gets SIGKILL at once. */
void groups_stop(struct groups *gs, pid_t pgid, uint32_t grace_ms);

/* Forget the groups that are empty, SIGKILL those whose grace has
   passed. Return the next SIGKILL deadline in ns, or UINT64_MAX. */
uint64_t groups_tick(struct groups *gs);

/* Bring every SIGKILL due later than deadline_ns forward to it. */
void groups_hurry(struct groups *gs, uint64_t deadline_ns);

/* Return whether pgid is on its way out (recorded and not yet seen
   empty). */
bool groups_has(const struct groups *gs, pid_t pgid);

#endif
