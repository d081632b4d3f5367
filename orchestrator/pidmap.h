/*
 * pidmap.h - find a node by its process id in constant time.
 *
 * Reaping a thousand nodes must not scan the fleet once per exit. Open
 * addressing with linear probing, at most half full; removal shifts
 * later entries back, so there are no tombstones.
 */
#ifndef FANOUT_PIDMAP_H
#define FANOUT_PIDMAP_H

#include <sys/types.h>

struct node;

struct pidmap {
	struct node **slot; /* NULL when free */
	unsigned cap;       /* a power of two, or 0 */
	unsigned used;
};

/* Map nd->pid to nd (pid must not be mapped yet); return 0 or -1. */
int pidmap_put(struct pidmap *m, struct node *nd);

/* Return the node mapped to pid, or NULL. */
struct node *pidmap_get(const struct pidmap *m, pid_t pid);

/* Forget pid, if it is mapped. */
void pidmap_del(struct pidmap *m, pid_t pid);

void pidmap_free(struct pidmap *m);

#endif
