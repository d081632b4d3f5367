/* test_backoff.c - when a failed node starts again, and when it is given
   up (restart = on-failure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "backoff.h"
#include "clock.h"

#define EXITED(code) ((code) << 8)
#define KILLED(sig)  (sig)

static void only_failures_on_failure_policy(void **state)
{
	(void)state;
	assert_true(WIFEXITED(EXITED(1)) && WIFSIGNALED(KILLED(9)));
	assert_true(backoff_wanted(RESTART_ON_FAILURE, EXITED(1)));
	assert_true(backoff_wanted(RESTART_ON_FAILURE, KILLED(9)));
	assert_false(backoff_wanted(RESTART_ON_FAILURE, EXITED(0)));
	assert_false(backoff_wanted(RESTART_NEVER, EXITED(1)));
	assert_false(backoff_wanted(RESTART_NEVER, KILLED(9)));
}

static void delays_double_then_give_up(void **state)
{
	struct backoff b = {0};
	uint64_t t = MS_NS(5); /* early after boot: a window still opens */

	(void)state;
	assert_int_equal(backoff_next(&b, t), 100);
	assert_int_equal(backoff_next(&b, t + MS_NS(1)), 200);
	assert_int_equal(backoff_next(&b, t + MS_NS(2)), 400);
	assert_int_equal(backoff_next(&b, t + MS_NS(3)), 800);
	assert_int_equal(backoff_next(&b, t + MS_NS(4)), 1600);
	assert_int_equal(b.restarts, BACKOFF_MAX);
	assert_int_equal(backoff_next(&b, t + MS_NS(5)), -1);
	assert_int_equal(backoff_next(&b, t + MS_NS(6)), -1);
}

static void a_quiet_window_starts_over(void **state)
{
	struct backoff b = {0};
	uint64_t t = MS_NS(1000000);

	(void)state;
	for (int i = 0; i < BACKOFF_MAX; i++)
		assert_true(backoff_next(&b, t) > 0);
	assert_int_equal(backoff_next(&b, t + MS_NS(BACKOFF_WINDOW_MS)), -1);
	/* Past the window: counted from the start again. */
	assert_int_equal(backoff_next(&b, t + MS_NS(BACKOFF_WINDOW_MS) + 1),
	                 100);
	assert_int_equal(b.restarts, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(only_failures_on_failure_policy),
	    cmocka_unit_test(delays_double_then_give_up),
	    cmocka_unit_test(a_quiet_window_starts_over),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
