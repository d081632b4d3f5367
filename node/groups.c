/* groups.c - see groups.h. */
#include "groups.h"

#include <signal.h>

#include "child.h"
#include "clock.h"

bool groups_has(const struct groups *gs, pid_t pgid)
{
	for (size_t i = 0; i < gs->n; i++)
		if (gs->g[i].pgid == pgid)
			return true;
	return false;
}

void groups_stop(struct groups *gs, pid_t pgid, uint32_t grace_ms)
{
	if (pgid <= 0 || kill(-pgid, SIGTERM) < 0 || groups_has(gs, pgid))
		return;
	if (gs->n == GROUPS_MAX) {
		(void)kill(-pgid, SIGKILL); /* no room to wait for it */
		return;
	}
	gs->g[gs->n].pgid = pgid;
	gs->g[gs->n].kill_ns = clock_ns() + MS_NS(grace_ms);
	gs->n++;
}

uint64_t groups_tick(struct groups *gs)
{
	uint64_t now = clock_ns(), next = UINT64_MAX;

	for (size_t i = 0; i < gs->n;) {
		if (!child_group_alive(gs->g[i].pgid)) {
			gs->g[i] = gs->g[--gs->n];
			continue;
		}
		if (gs->g[i].kill_ns <= now) {
			(void)kill(-gs->g[i].pgid, SIGKILL);
			/* Checked again until the members are reaped. */
			gs->g[i].kill_ns = now + MS_NS(10);
		}
		if (gs->g[i].kill_ns < next)
			next = gs->g[i].kill_ns;
		i++;
	}
	return next;
}

void groups_hurry(struct groups *gs, uint64_t deadline_ns)
{
	for (size_t i = 0; i < gs->n; i++)
		if (gs->g[i].kill_ns > deadline_ns)
			gs->g[i].kill_ns = deadline_ns;
}
