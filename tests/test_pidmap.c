/* test_pidmap.c - the pid -> node map used when reaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include <cmocka.h>

#include "pidmap.h"

#define N 3000

/* What the map holds: here, only a pid each. */
static struct {
	pid_t pid;
} nodes[N];

/* Pids that collide a lot: multiples of a power of two. */
static pid_t pid_of(unsigned i)
{
	return (pid_t)(1000 + i * 64);
}

static void put_get_del(void **state)
{
	struct pidmap m = {0};

	(void)state;
	assert_null(pidmap_get(&m, 42));
	pidmap_del(&m, 42); /* empty map: nothing happens */
	for (unsigned i = 0; i < N; i++) {
		nodes[i].pid = pid_of(i);
		assert_int_equal(pidmap_put(&m, nodes[i].pid, &nodes[i]), 0);
	}
	assert_int_equal(m.used, N);
	assert_true(2 * m.used <= m.cap);
	for (unsigned i = 0; i < N; i++)
		assert_ptr_equal(pidmap_get(&m, pid_of(i)), &nodes[i]);
	assert_null(pidmap_get(&m, 999));
	/* Remove every other one: the rest must stay reachable. */
	for (unsigned i = 0; i < N; i += 2)
		pidmap_del(&m, pid_of(i));
	assert_int_equal(m.used, N / 2);
	for (unsigned i = 0; i < N; i++) {
		if (i % 2)
			assert_ptr_equal(pidmap_get(&m, pid_of(i)), &nodes[i]);
		else
			assert_null(pidmap_get(&m, pid_of(i)));
	}
	pidmap_del(&m, pid_of(0)); /* absent: nothing happens */
	assert_int_equal(m.used, N / 2);
	pidmap_free(&m);
	assert_null(pidmap_get(&m, pid_of(1)));
}

static void random_churn(void **state)
{
	struct pidmap m = {0};
	static bool in[N];

	(void)state;
	srand(7);
	for (unsigned i = 0; i < N; i++)
		nodes[i].pid = (pid_t)(1 + rand() % 700000);
	/* Pids must be distinct for the map; make them so, within pid_t
	   (700000 * N stays below 2^31: no signed overflow). */
	for (unsigned i = 0; i < N; i++)
		nodes[i].pid = (pid_t)((unsigned long)nodes[i].pid * N + i);
	for (unsigned round = 0; round < 20000; round++) {
		unsigned i = (unsigned)rand() % N;
		if (in[i])
			pidmap_del(&m, nodes[i].pid);
		else
			assert_int_equal(
			    pidmap_put(&m, nodes[i].pid, &nodes[i]), 0);
		in[i] = !in[i];
	}
	for (unsigned i = 0; i < N; i++)
		assert_ptr_equal(pidmap_get(&m, nodes[i].pid),
		                 in[i] ? &nodes[i] : NULL);
	pidmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(put_get_del),
	    cmocka_unit_test(random_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
