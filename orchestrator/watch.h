/*
 * watch.h - a saved edit of the configuration file becomes a reload
 * (SPEC §11: [cluster] watch, --no-watch).
 *
 * The file's directory is watched with inotify(7), not the file: an
 * editor that writes a new file and renames it over the old one (vim,
 * sed -i) replaces the inode a watch on the file would hold. When the
 * path is a symbolic link, the directory of what it names is watched
 * too. A write that ends (the file closed, or renamed into place) arms
 * a short settle time; a write still going on pushes it back, or, with
 * no close yet, arms a long one (a link made with ln is never closed);
 * so a burst of writes is read once, and a file is not read while its
 * writer still holds it. A lost event (the queue overflowed) counts as
 * an edit. Whether what is read is a whole, valid file is the reload's
 * to say (SPEC §3).
 */
#ifndef FANOUT_WATCH_H
#define FANOUT_WATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define WATCH_SETTLE_MS 100  /* quiet after a write ends, then read */
#define WATCH_OPEN_MS   2000 /* after a write that does not end, then read */

struct watch_place {
	int wd;                  /* inotify watch of the directory, -1: none */
	char name[NAME_MAX + 1]; /* the file's name in it */
};

struct watch {
	int fd; /* inotify, -1 when not watching */
	struct watcher w;
	struct loop *loop;
	struct watch_place place[2]; /* the path; what a link names */
	uint64_t due_ns;             /* when to read, 0: nothing to read */
};

/* Set wt up, watching nothing. */
void watch_init(struct watch *wt);

/* Whether wt watches. */
static inline bool watch_on(const struct watch *wt)
{
	return wt->fd >= 0;
}

/* Watch the file at path (a regular file, or none yet: creating it
   counts) through loop. Return 0, or -1 with a message in err (inotify
   unavailable, the directory unreadable). */
int watch_start(struct watch *wt, struct loop *loop, const char *path,
                char *err, size_t errlen);

/* Return whether an edit has settled by now_ns, once per burst: the
   file should be read again. */
bool watch_due(struct watch *wt, uint64_t now_ns);

/* Return the loop timeout (ms) to when the file should be read, -1 for
   none. */
int watch_timeout(const struct watch *wt);

/* Stop watching. */
void watch_stop(struct watch *wt);

#endif
