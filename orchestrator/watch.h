/*
 * watch.h - a saved edit of the configuration file becomes a reload
 * (SPEC §11: [cluster] watch, --no-watch).
 *
 * The file's directory is watched with inotify(7), not the file: an
 * editor that writes a new file and renames it over the old one (vim,
 * sed -i) replaces the inode a watch on the file would hold. An event
 * naming the file (written and closed, moved or created there) arms a
 * short settle time, and each further event pushes it back, so a burst
 * of writes is read once. Whether what is read is a whole, valid file
 * is the reload's to say (SPEC §3): a half-written one is refused with
 * FILE:LINE and the running configuration kept.
 */
#ifndef FANOUT_WATCH_H
#define FANOUT_WATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define WATCH_SETTLE_MS 100 /* quiet after the last event, then read */

struct watch {
	int fd; /* inotify, -1 when not watching */
	struct watcher w;
	struct loop *loop;
	char name[NAME_MAX + 1]; /* the file's name in its directory */
	uint64_t due_ns;         /* when the last burst has settled, 0: none */
};

/* Set wt up, watching nothing. */
void watch_init(struct watch *wt);

/* Watch the file at path (a regular file, or none yet: creating it
   counts) through loop. Return 0, or -1 with a message in err (inotify
   unavailable, the directory unreadable). */
int watch_start(struct watch *wt, struct loop *loop, const char *path,
                char *err, size_t errlen);

/* Return whether an edit has settled by now_ns, once per burst: the
   file should be read again. */
bool watch_due(struct watch *wt, uint64_t now_ns);

/* Return the loop timeout (ms) to the end of the settle time, -1 for
   none. */
int watch_timeout(const struct watch *wt);

/* Stop watching. */
void watch_stop(struct watch *wt);

#endif
