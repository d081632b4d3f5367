/*
 * loop.h - the orchestrator's one event loop, over epoll.
 *
 * This file alone owns the epoll descriptor; the rest of the program
 * registers interest with a watcher: a descriptor and the function to call
 * when it is ready. Watchers live inside their owners (no allocation here)
 * and must be removed before their descriptor is closed.
 */
#ifndef FANOUT_LOOP_H
#define FANOUT_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct watcher;
typedef void (*watcher_fn)(struct watcher *w, uint32_t events);

struct watcher {
	int fd;
	uint32_t events; /* EPOLLIN, EPOLLOUT; 0 when not registered */
	watcher_fn fn;
	void *arg;
};

struct loop {
	int epfd;
};

/* Create the epoll instance; return 0 or -1. */
int loop_init(struct loop *l);

/* Release it. */
void loop_close(struct loop *l);

/* Watch w->fd for events (EPOLLIN and/or EPOLLOUT); calling it again
   changes the events; 0 removes the watch. Return 0, or -1 with errno
   (EPERM: the descriptor cannot be polled, like a regular file). */
int loop_watch(struct loop *l, struct watcher *w, uint32_t events);

/* Wait up to timeout_ms (-1 forever, 0 not at all) and call the function
   of every ready watcher. Return the number dispatched or -1. */
int loop_run_once(struct loop *l, int timeout_ms);

#endif
