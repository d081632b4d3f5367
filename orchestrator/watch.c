/* watch.c - see watch.h. */
#include "watch.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "log.h"

/* What, in a directory, may be (part of) a saved edit of the file; and
   the directory itself moved or deleted, which ends the watch. */
#define EDIT_EVENTS                                                            \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_MOVE_SELF | \
	 IN_DELETE_SELF)
/* A write that is over. */
#define WRITE_ENDED (IN_CLOSE_WRITE | IN_MOVED_TO)

void watch_init(struct watch *wt)
{
	*wt = (struct watch){.fd = -1, .place = {{.wd = -1}, {.wd = -1}}};
}

/* Read at the latest ms from now (a write ended), or, for a write that
   goes on (ended false), no sooner than a settle time after it and no
   later than WATCH_OPEN_MS after the first. */
static void arm(struct watch *wt, bool ended)
{
	uint64_t now = clock_ns(), settle = now + MS_NS(WATCH_SETTLE_MS);

	if (ended || (wt->due_ns && wt->due_ns < settle))
		wt->due_ns = settle;
	else if (!wt->due_ns)
		wt->due_ns = now + MS_NS(WATCH_OPEN_MS);
}

/* Return whether e names the file, in a place watched. */
static bool names_file(const struct watch *wt, const struct inotify_event *e)
{
	for (int i = 0; i < 2; i++)
		if (e->len > 0 && e->wd == wt->place[i].wd &&
		    strcmp(e->name, wt->place[i].name) == 0)
			return true;
	return false;
}

/* Read every event waiting. */
static void read_events(struct watch *wt)
{
	char ev[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	bool lost = false;

	while ((n = io_read(wt->fd, ev, sizeof(ev))) > 0)
		for (char *p = ev; p < ev + n;) {
			const struct inotify_event *e = (void *)p;
			if (e->mask & IN_Q_OVERFLOW)
				arm(wt, true); /* events were lost: read */
			else if (e->mask &
			         (IN_IGNORED | IN_MOVE_SELF | IN_DELETE_SELF))
				lost = true; /* the directory went away */
			else if (names_file(wt, e))
				arm(wt, e->mask & WRITE_ENDED);
			p += sizeof(*e) + e->len;
		}
	if (lost) {
		log_msg("the directory of the configuration is gone: its "
		        "edits are no longer watched (/reload or SIGHUP read "
		        "it)");
		watch_stop(wt);
	}
}

static void on_events(struct watcher *w, uint32_t events)
{
	(void)events;
	read_events(w->arg);
}

/* Watch the directory of path for its file, as place. Return 0, or -1
   with a message in err. */
static int add_place(struct watch *wt, struct watch_place *place,
                     const char *path, char *err, size_t errlen)
{
	char dirbuf[PATH_MAX], basebuf[PATH_MAX];
	const char *dir, *base;

	if (strlen(path) >= sizeof(dirbuf)) {
		snprintf(err, errlen, "%.64s...: path too long to watch", path);
		return -1;
	}
	/* POSIX's dirname and basename may write into what they are given,
	   and return their answer: each gets a copy of its own. */
	dir = dirname(strcpy(dirbuf, path));
	base = basename(strcpy(basebuf, path));
	if (strlen(base) > NAME_MAX) {
		snprintf(err, errlen, "%s: name too long to watch", path);
		return -1;
	}
	strcpy(place->name, base);
	place->wd = inotify_add_watch(wt->fd, dir, EDIT_EVENTS);
	if (place->wd < 0) {
		snprintf(err, errlen, "watching %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int watch_start(struct watch *wt, struct loop *loop, const char *path,
                char *err, size_t errlen)
{
	struct stat st;
	char *target = NULL;

	wt->loop = loop;
	wt->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	wt->w = (struct watcher){.fd = wt->fd, .fn = on_events, .arg = wt};
	if (wt->fd < 0) {
		snprintf(err, errlen, "inotify: %s", strerror(errno));
		return -1;
	}
	/* A link: what it names is where an edit lands. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		target = realpath(path, NULL);
	if (add_place(wt, &wt->place[0], path, err, errlen) < 0 ||
	    (target && add_place(wt, &wt->place[1], target, err, errlen) < 0))
		goto fail;
	if (loop_watch(loop, &wt->w, EPOLLIN) < 0) {
		snprintf(err, errlen, "watching: %s", strerror(errno));
		goto fail;
	}
	free(target);
	return 0;
fail:
	free(target);
	watch_stop(wt);
	return -1;
}

bool watch_due(struct watch *wt, uint64_t now_ns)
{
	if (wt->due_ns == 0 || now_ns < wt->due_ns)
		return false;
	wt->due_ns = 0;
	return true;
}

int watch_timeout(const struct watch *wt)
{
	return wt->due_ns ? clock_ms_until(wt->due_ns) : -1;
}

void watch_stop(struct watch *wt)
{
	if (wt->fd >= 0) {
		if (wt->w.events)
			loop_watch(wt->loop, &wt->w, 0);
		close(wt->fd);
	}
	watch_init(wt);
}
