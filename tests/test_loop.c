/* test_loop.c - the event loop: a callback may remove, and free, any
   watcher, including ones whose events are still due in its round. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"

#define N 4

static struct loop l;
static struct watcher *w[N]; /* heap-allocated: ASan sees a use after free */
static unsigned calls[N];

/* Each callback removes and frees every other watcher, as a node's exit
   frees a retired node whose socket is also ready. */
static void on_ready(struct watcher *self, uint32_t events)
{
	(void)events;
	calls[(uintptr_t)self->arg]++;
	for (unsigned i = 0; i < N; i++)
		if (w[i] && w[i] != self) {
			assert_int_equal(loop_watch(&l, w[i], 0), 0);
			close(w[i]->fd);
			free(w[i]);
			w[i] = NULL;
		}
}

static void removed_watchers_get_no_stale_events(void **state)
{
	unsigned total = 0;

	(void)state;
	assert_int_equal(loop_init(&l), 0);
	for (uintptr_t i = 0; i < N; i++) {
		w[i] = calloc(1, sizeof(*w[i]));
		*w[i] = (struct watcher){.fd = eventfd(1, EFD_CLOEXEC),
		                         .fn = on_ready,
		                         .arg = (void *)i};
		assert_true(w[i]->fd >= 0);
		assert_int_equal(loop_watch(&l, w[i], EPOLLIN), 0);
	}
	/* All four are readable: one round takes four events. */
	assert_int_equal(loop_run_once(&l, 1000), N);
	for (unsigned i = 0; i < N; i++)
		total += calls[i];
	assert_int_equal(total, 1); /* the first frees the rest */
	for (unsigned i = 0; i < N; i++)
		if (w[i]) {
			loop_watch(&l, w[i], 0);
			close(w[i]->fd);
			free(w[i]);
		}
	loop_close(&l);
}

static void on_count(struct watcher *self, uint32_t events)
{
	(void)events;
	calls[(uintptr_t)self->arg]++;
}

static void changing_events_keeps_the_watcher(void **state)
{
	struct watcher a = {.fd = eventfd(1, EFD_CLOEXEC), .fn = on_count};

	(void)state;
	calls[0] = 0;
	assert_int_equal(loop_init(&l), 0);
	assert_int_equal(loop_watch(&l, &a, EPOLLIN), 0);
	assert_int_equal(loop_watch(&l, &a, EPOLLIN | EPOLLOUT), 0);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(calls[0], 1);
	assert_int_equal(loop_watch(&l, &a, 0), 0);
	assert_int_equal(loop_run_once(&l, 0), 0); /* removed: nothing */
	assert_int_equal(calls[0], 1);
	close(a.fd);
	loop_close(&l);
}

/* loop_close_watched(): unwatched, closed, marked closed; a second call
   does nothing. */
static void close_watched_closes_once(void **state)
{
	struct watcher a = {.fd = eventfd(1, EFD_CLOEXEC), .fn = on_count};
	int fd = a.fd;

	(void)state;
	calls[0] = 0;
	assert_int_equal(loop_init(&l), 0);
	assert_int_equal(loop_watch(&l, &a, EPOLLIN), 0);
	loop_close_watched(&l, &a, &a.fd);
	assert_int_equal(a.fd, -1);
	assert_int_equal(a.events, 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed */
	loop_close_watched(&l, &a, &a.fd);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(calls[0], 0);
	loop_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(removed_watchers_get_no_stale_events),
	    cmocka_unit_test(changing_events_keeps_the_watcher),
	    cmocka_unit_test(close_watched_closes_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
