/*
 * pidmap.h - find what belongs to a process id in constant time.
 *
 * Reaping a thousand nodes must not scan the fleet once per exit. Open
 * addressing with linear probing, at most half full; removal shifts
 * later entries back, so there are no tombstones. Pure: no I/O.
 */
#ifndef FANOUT_PIDMAP_H
#define FANOUT_PIDMAP_H

#include <sys/types.h>

struct pidmap_entry {
	pid_t pid; /* 0 when free */
	void *value;
};

struct pidmap {
	struct pidmap_entry *slot;
	unsigned cap; /* a power of two, or 0 */
	unsigned used;
};

/* Map pid (> 0, not mapped yet) to value; return 0 or -1 (out of
   memory, the map unchanged). */
int pidmap_put(struct pidmap *m, pid_t pid, void *value);

/* Return the value mapped to pid, or NULL. */
void *pidmap_get(const struct pidmap *m, pid_t pid);

/* Forget pid, if it is mapped. */
void pidmap_del(struct pidmap *m, pid_t pid);

/* Release the memory; the map is empty and reusable afterwards. */
void pidmap_free(struct pidmap *m);

#endif
