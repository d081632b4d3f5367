/*
 * loop.h - one event loop, over epoll (the orchestrator's, a host daemon's).
 *
 * This file alone owns the epoll descriptor; the rest of the program
 * registers interest with a watcher: a descriptor and the function to call
 * when it is ready. Watchers live inside their owners (no allocation here)
 * and must be removed before their descriptor is closed.
 *
 * Any callback may remove any watcher and free its owner: removing a
 * watcher scrubs the events of the current round that are still to be
 * dispatched to it (as libuv's uv__platform_invalidate_fd does), so no
 * callback ever runs on a watcher that was removed.
 */
#ifndef FANOUT_LOOP_H
#define FANOUT_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#define LOOP_MAX_EVENTS 256 /* events taken from the kernel per round */

struct watcher;
typedef void (*watcher_fn)(struct watcher *w, uint32_t events);

struct watcher {
	int fd;
	uint32_t events; /* EPOLLIN, EPOLLOUT; 0 when not registered */
	watcher_fn fn;
	void *arg;
};

/* The struct of type whose member (a struct watcher) w is: how a
   callback finds its owner. */
#define loop_owner(w, type, member)                                            \
	((type *)(void *)((char *)(w)-offsetof(type, member)))

struct loop {
	int epfd;
	/* The round being dispatched: events from next on are still due. */
	struct epoll_event ev[LOOP_MAX_EVENTS];
	int nev, next;
};

/* Create the epoll instance; return 0 or -1 with errno. */
int loop_init(struct loop *l);

/* Release it. */
void loop_close(struct loop *l);

/* Watch w->fd for events (EPOLLIN and/or EPOLLOUT); calling it again
   changes the events; 0 removes the watch and drops the round's events
   still due to w. Return 0, or -1 with errno (EPERM: the descriptor
   cannot be polled, like a regular file). */
int loop_watch(struct loop *l, struct watcher *w, uint32_t events);

/* Stop watching *fd (w's) and close it; *fd becomes -1. Nothing if *fd
   is -1 already. */
void loop_close_watched(struct loop *l, struct watcher *w, int *fd);

/* Wait up to timeout_ms (-1 forever, 0 not at all) and call the function
   of every ready watcher. Return the number of events taken (0 after
   EINTR), or -1 with errno. */
int loop_run_once(struct loop *l, int timeout_ms);

#endif
