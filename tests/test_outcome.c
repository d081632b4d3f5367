/* test_outcome.c - why a run stops and the exit status it ends with
   (SPEC §4). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "exitcode.h"
#include "outcome.h"

static void clean_eof_exits_0(void **state)
{
	struct outcome o = {0};
	const char *reason;

	(void)state;
	outcome_broadcast(&o, true, false);
	outcome_stop(&o, STOP_EOF);
	assert_int_equal(outcome_status(&o, &reason), EXIT_OK);
	assert_string_equal(reason, "eof");
	assert_int_equal(o.sent, 1);
	assert_int_equal(o.clean, 1);
	assert_false(o.replies);
	/* One that wanted replies is remembered (the summary says so). */
	outcome_broadcast(&o, true, true);
	assert_true(o.replies);
	assert_int_equal(o.clean, 2);
}

static void incomplete_broadcast_exits_1(void **state)
{
	struct outcome o = {0};
	const char *reason;

	(void)state;
	outcome_broadcast(&o, false, false);
	outcome_stop(&o, STOP_EXIT);
	assert_int_equal(outcome_status(&o, &reason), EXIT_INCOMPLETE);
	assert_string_equal(reason, "exit");
	assert_int_equal(o.clean, 0);
}

static void first_reason_stands_error_outranks(void **state)
{
	struct outcome o = {0};
	const char *reason;

	(void)state;
	outcome_stop(&o, STOP_EXIT);
	outcome_stop(&o, STOP_EOF);
	assert_int_equal(o.stop, STOP_EXIT);
	outcome_stop(&o, STOP_ERROR);
	assert_int_equal(outcome_status(&o, &reason), EXIT_INCOMPLETE);
	assert_string_equal(reason, "error");
}

static void signal_outranks_all_and_first_signal_names_status(void **state)
{
	struct outcome o = {0};
	const char *reason;

	(void)state;
	outcome_fail(&o);
	outcome_stop(&o, STOP_EOF);
	outcome_signal(&o, SIGTERM, 77, 1, MS_NS(1000));
	outcome_signal(&o, SIGINT, 77, 1, MS_NS(1001));
	outcome_stop(&o, STOP_ERROR);
	assert_int_equal(o.interrupts, 2);
	assert_int_equal(outcome_status(&o, &reason), EXIT_SIGTERM);
	assert_string_equal(reason, "signal");
	o = (struct outcome){0};
	outcome_signal(&o, SIGINT, 0, 1, MS_NS(1000));
	assert_int_equal(outcome_signal_status(&o), EXIT_SIGINT);
}

static void one_ctrl_c_delivered_twice_counts_once(void **state)
{
	struct outcome o = {0};
	const int parent = 4242;

	(void)state;
	outcome_signal(&o, SIGINT, 0, parent, MS_NS(1000));      /* terminal */
	outcome_signal(&o, SIGINT, parent, parent, MS_NS(1001)); /* echo */
	assert_int_equal(o.interrupts, 1);
	outcome_signal(&o, SIGINT, 0, parent, MS_NS(1002)); /* again */
	assert_int_equal(o.interrupts, 2);
	outcome_signal(&o, SIGINT, parent, parent,
	               MS_NS(1003 + OUTCOME_ECHO_MS)); /* too late */
	assert_int_equal(o.interrupts, 3);
}

static void timeouts_child_then_group_delivery_counts_once(void **state)
{
	struct outcome o = {0};

	(void)state;
	outcome_signal(&o, SIGTERM, 555, 555, MS_NS(1000));
	outcome_signal(&o, SIGTERM, 555, 555, MS_NS(1000) + 100);
	assert_int_equal(o.interrupts, 1);
}

static void two_other_senders_are_two_interrupts(void **state)
{
	struct outcome o = {0};

	(void)state;
	outcome_signal(&o, SIGINT, 601, 1, MS_NS(1000));
	outcome_signal(&o, SIGINT, 602, 1, MS_NS(1020));
	assert_int_equal(o.interrupts, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(clean_eof_exits_0),
	    cmocka_unit_test(incomplete_broadcast_exits_1),
	    cmocka_unit_test(first_reason_stands_error_outranks),
	    cmocka_unit_test(signal_outranks_all_and_first_signal_names_status),
	    cmocka_unit_test(one_ctrl_c_delivered_twice_counts_once),
	    cmocka_unit_test(timeouts_child_then_group_delivery_counts_once),
	    cmocka_unit_test(two_other_senders_are_two_interrupts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
