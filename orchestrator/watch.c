/* watch.c - see watch.h. */
#include "watch.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"

/* What, in the directory, may be a saved edit of the file. */
#define EDIT_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)

void watch_init(struct watch *wt)
{
	*wt = (struct watch){.fd = -1};
}

/* Read every event waiting; arm the settle time if one names the file. */
static void read_events(struct watch *wt)
{
	char ev[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = io_read(wt->fd, ev, sizeof(ev))) > 0)
		for (char *p = ev; p < ev + n;) {
			const struct inotify_event *e = (void *)p;
			if (e->len > 0 && strcmp(e->name, wt->name) == 0)
				wt->due_ns =
				    clock_ns() + MS_NS(WATCH_SETTLE_MS);
			p += sizeof(*e) + e->len;
		}
}

static void on_events(struct watcher *w, uint32_t events)
{
	(void)events;
	read_events(w->arg);
}

int watch_start(struct watch *wt, struct loop *loop, const char *path,
                char *err, size_t errlen)
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
	strcpy(wt->name, base);
	wt->loop = loop;
	wt->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	wt->w = (struct watcher){.fd = wt->fd, .fn = on_events, .arg = wt};
	if (wt->fd < 0 || inotify_add_watch(wt->fd, dir, EDIT_EVENTS) < 0 ||
	    loop_watch(loop, &wt->w, EPOLLIN) < 0) {
		snprintf(err, errlen, "watching %s: %s", dir, strerror(errno));
		watch_stop(wt);
		return -1;
	}
	return 0;
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
	wt->fd = -1;
	wt->due_ns = 0;
}
