/* loop.c - see loop.h. */
#include "loop.h"

#include <errno.h>
#include <unistd.h>

int loop_init(struct loop *l)
{
	l->nev = l->next = 0;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -1 : 0;
}

void loop_close(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

/* Forget the events of this round still due to w. */
static void scrub(struct loop *l, const struct watcher *w)
{
	for (int i = l->next; i < l->nev; i++)
		if (l->ev[i].data.ptr == w)
			l->ev[i].data.ptr = NULL;
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
	if (events == 0)
		scrub(l, w);
	return 0;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	int n = epoll_wait(l->epfd, l->ev, LOOP_MAX_EVENTS, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	l->nev = n;
	for (l->next = 0; l->next < l->nev;) {
		struct epoll_event *e = &l->ev[l->next++];
		struct watcher *w = e->data.ptr;
		if (w)
			w->fn(w, e->events);
	}
	l->nev = l->next = 0;
	return n;
}

void loop_close_watched(struct loop *l, struct watcher *w, int *fd)
{
	if (*fd < 0)
		return;
	loop_watch(l, w, 0);
	close(*fd);
	*fd = -1;
}
