/* test_settings.c - reading the settings, and the reload merge: what a
   new file changes now, what waits for the next start, what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "settings.h"

/* The configuration now in force and the one a reload just read. */
static struct config now, next;

static int setup(void **state)
{
	(void)state;
	config_defaults(&now);
	now.num_clients = 5;
	next = now;
	return 0;
}

static void timeouts_and_size_apply_nothing_kept(void **state)
{
	struct reload_plan plan;

	(void)state;
	next.num_clients = 9;
	next.ack_timeout_ms = 10;
	next.restart = RESTART_ON_FAILURE;
	assert_int_equal(settings_merge(&now, &next, &plan), 0);
	assert_int_equal(plan.kept, 0);
	assert_int_equal(plan.nodes, 9);
	/* The size is in force only once the fleet is resized. */
	assert_int_equal(next.num_clients, 5);
	assert_int_equal(next.ack_timeout_ms, 10);
	assert_int_equal(next.restart, RESTART_ON_FAILURE);
}

static void where_and_how_nodes_run_is_kept(void **state)
{
	struct reload_plan plan;

	(void)state;
	next.base_port = 9000;
	strcpy(next.host, "::1");
	strcpy(next.command, "ssh x node");
	strcpy(next.hosts[0], "a");
	next.nhosts = 1;
	assert_int_equal(settings_merge(&now, &next, &plan), 0);
	assert_int_equal(plan.kept, KEPT_BASE_PORT | KEPT_HOST | KEPT_HOSTS |
	                                KEPT_COMMAND);
	assert_int_equal(next.base_port, 8888);
	assert_string_equal(next.host, "127.0.0.1");
	assert_string_equal(next.command, "");
	assert_int_equal(next.nhosts, 0);
}

static void size_past_the_port_range_refused(void **state)
{
	struct reload_plan plan;

	(void)state;
	now.base_port = 65000;
	next.base_port = 1000; /* kept at 65000: the range is counted there */
	next.num_clients = 536;
	assert_int_equal(settings_merge(&now, &next, &plan), 0);
	next.base_port = 1000;
	next.num_clients = 537;
	assert_int_equal(settings_merge(&now, &next, &plan), -1);
	assert_int_equal(plan.nodes, 537);
	assert_true(plan.kept & KEPT_BASE_PORT);
}

/* Write text to a new temporary file; its path goes into path. */
static void write_file(char *path, const char *text)
{
	int fd;

	strcpy(path, "/tmp/test_settings.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void command_line_overrides_the_file(void **state)
{
	char path[64], err[256];
	struct cli cli = {
	    .config_path = path, .config_given = true, .num_clients = "7"};
	struct config c;

	(void)state;
	write_file(path, "[cluster]\nnum_clients = 4\nbase_port = 20000\n");
	assert_int_equal(settings_read(&cli, &c, NULL, err, sizeof(err)), 0);
	assert_int_equal(c.num_clients, 7);
	assert_int_equal(c.base_port, 20000);
	cli.base_port = "70000";
	assert_int_equal(settings_read(&cli, &c, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-p"));
	unlink(path);
}

static void missing_default_file_means_defaults(void **state)
{
	struct cli cli = {.config_path = "/nonexistent/fanout.ini"};
	char err[256];
	struct config c;
	bool missing;

	(void)state;
	assert_int_equal(settings_read(&cli, &c, &missing, err, sizeof(err)),
	                 0);
	assert_true(missing);
	assert_int_equal(c.num_clients, 3);
	/* At a reload (no missing pointer), or named with -c: an error. */
	assert_int_equal(settings_read(&cli, &c, NULL, err, sizeof(err)), -1);
	cli.config_given = true;
	assert_int_equal(settings_read(&cli, &c, &missing, err, sizeof(err)),
	                 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(timeouts_and_size_apply_nothing_kept, setup),
	    cmocka_unit_test_setup(where_and_how_nodes_run_is_kept, setup),
	    cmocka_unit_test_setup(size_past_the_port_range_refused, setup),
	    cmocka_unit_test(command_line_overrides_the_file),
	    cmocka_unit_test(missing_default_file_means_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
