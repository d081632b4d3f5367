/* pidmap.c - see pidmap.h. */
#include "pidmap.h"

#include <stdint.h>
#include <stdlib.h>

/* Return the home slot of pid (Fibonacci hashing). */
static unsigned home(const struct pidmap *m, pid_t pid)
{
	return (unsigned)(((uint32_t)pid * 2654435769u) & (m->cap - 1));
}

/* Rebuild the table with cap slots; return 0 or -1. */
static int resize(struct pidmap *m, unsigned cap)
{
	struct pidmap n = {.slot = calloc(cap, sizeof(*n.slot)), .cap = cap};

	if (!n.slot)
		return -1;
	for (unsigned i = 0; i < m->cap; i++)
		if (m->slot[i].pid)
			pidmap_put(&n, m->slot[i].pid, m->slot[i].value);
	free(m->slot);
	*m = n;
	return 0;
}

int pidmap_put(struct pidmap *m, pid_t pid, void *value)
{
	unsigned i;

	if (2 * (m->used + 1) > m->cap && resize(m, m->cap ? 2 * m->cap : 64))
		return -1;
	for (i = home(m, pid); m->slot[i].pid; i = (i + 1) & (m->cap - 1))
		;
	m->slot[i] = (struct pidmap_entry){pid, value};
	m->used++;
	return 0;
}

void *pidmap_get(const struct pidmap *m, pid_t pid)
{
	if (m->cap == 0)
		return NULL;
	for (unsigned i = home(m, pid); m->slot[i].pid;
	     i = (i + 1) & (m->cap - 1))
		if (m->slot[i].pid == pid)
			return m->slot[i].value;
	return NULL;
}

void pidmap_del(struct pidmap *m, pid_t pid)
{
	unsigned i, j, mask = m->cap - 1;

	if (m->cap == 0)
		return;
	for (i = home(m, pid); m->slot[i].pid && m->slot[i].pid != pid;
	     i = (i + 1) & mask)
		;
	if (!m->slot[i].pid)
		return;
	m->slot[i].pid = 0;
	m->used--;
	/* Shift back every later entry of the run that may now sit past
	   a hole between its home and itself. */
	for (j = (i + 1) & mask; m->slot[j].pid; j = (j + 1) & mask) {
		unsigned h = home(m, m->slot[j].pid);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			m->slot[i] = m->slot[j];
			m->slot[j].pid = 0;
			i = j;
		}
	}
}

void pidmap_free(struct pidmap *m)
{
	free(m->slot);
	*m = (struct pidmap){0};
}
