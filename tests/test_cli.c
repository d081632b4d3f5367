/* test_cli.c - the orchestrator's command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])) - 1)

static void defaults(void **state)
{
	char *argv[] = {"orchestrator", NULL};
	struct cli c;
	char err[128];

	(void)state;
	assert_int_equal(cli_parse(&c, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_string_equal(c.config_path, "server_config.ini");
	assert_false(c.config_given);
	assert_null(c.num_clients);
	assert_false(c.json);
}

static void every_option(void **state)
{
	char *argv[] = {"orchestrator", "-c",   "x.ini",  "-n", "7",
	                "--port",       "9000", "--json", "-q", NULL};
	struct cli c;
	char err[128];

	(void)state;
	assert_int_equal(cli_parse(&c, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_string_equal(c.config_path, "x.ini");
	assert_true(c.config_given);
	assert_string_equal(c.num_clients, "7");
	assert_string_equal(c.base_port, "9000");
	assert_true(c.json);
	assert_true(c.quiet);
}

static void handler_and_lines(void **state)
{
	char *argv[] = {"orchestrator", "--handler",  "shell",
	                "--lines",      "--no-watch", NULL};
	char *both[] = {"orchestrator", "--json", "--lines", NULL};
	struct cli c;
	char err[128];

	(void)state;
	assert_int_equal(cli_parse(&c, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_string_equal(c.handler, "shell");
	assert_true(c.lines);
	assert_true(c.no_watch);
	assert_false(c.json);
	/* Both would own standard output. */
	assert_int_equal(cli_parse(&c, ARGC(both), both, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "choose one"));
}

static void errors(void **state)
{
	char *unknown[] = {"orchestrator", "--bogus", NULL};
	char *noval[] = {"orchestrator", "-n", NULL};
	char *extra[] = {"orchestrator", "stray", NULL};
	struct cli c;
	char err[128];

	(void)state;
	assert_int_equal(
	    cli_parse(&c, ARGC(unknown), unknown, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--bogus"));
	assert_int_equal(cli_parse(&c, ARGC(noval), noval, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "-n"));
	assert_int_equal(cli_parse(&c, ARGC(extra), extra, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "stray"));
}

static void help_and_version(void **state)
{
	char *argv[] = {"orchestrator", "-h", "-V", NULL};
	struct cli c;
	char err[128];

	(void)state;
	assert_int_equal(cli_parse(&c, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_true(c.help);
	assert_true(c.version);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),          cmocka_unit_test(every_option),
	    cmocka_unit_test(handler_and_lines), cmocka_unit_test(errors),
	    cmocka_unit_test(help_and_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
