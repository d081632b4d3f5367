/* loop.c - see loop.h. */
#include "loop.h"

#include <errno.h>
#include <unistd.h>

#define MAX_EVENTS 256

int loop_init(struct loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -1 : 0;
}

void loop_close(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int loop_watch(struct loop *l, struct watcher *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	int op;

	if (events == w->events)
		return 0;
	op = w->events == 0 ? EPOLL_CTL_ADD
	     : events == 0  ? EPOLL_CTL_DEL
	                    : EPOLL_CTL_MOD;
	if (epoll_ctl(l->epfd, op, w->fd, &ev) < 0)
		return -1;
	w->events = events;
	return 0;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	int n = epoll_wait(l->epfd, ev, MAX_EVENTS, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		struct watcher *w = ev[i].data.ptr;
		/* An earlier callback of this round may have removed it. */
		if (w->events != 0)
			w->fn(w, ev[i].events);
	}
	return n;
}
