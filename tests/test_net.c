/* test_net.c - socket helpers: a connect that hangs can be stopped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net.h"

static unsigned asked;

/* Stop on the third question: after about 100 ms. */
static bool stop_third_time(void *arg)
{
	(void)arg;
	return ++asked >= 3;
}

/* A listener whose accept queue is full drops further SYNs, so a
   connect to it hangs as one to an unreachable host does. */
static void hanging_connect_stops_when_asked(void **state)
{
	char err[128];
	struct net_addr a;
	socklen_t len = sizeof(a.ss);
	int l, first, fd;

	(void)state;
	l = net_listen("127.0.0.1", 0, 0, err, sizeof(err));
	assert_true(l >= 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a.ss, &len), 0);
	a.len = len;
	first = net_connect(&a, 2000, NULL, NULL, err, sizeof(err));
	assert_true(first >= 0); /* fills the queue of one */
	fd = net_connect(&a, 20000, stop_third_time, NULL, err, sizeof(err));
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ECANCELED);
	assert_int_equal(asked, 3);
	assert_non_null(strstr(err, "connect 127.0.0.1:"));
	close(first);
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hanging_connect_stops_when_asked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
