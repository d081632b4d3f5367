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

/* --service: a daemon of its service manager; never with --detach. */
static void service(void **state)
{
	char *argv[] = {"orchestrator", "--service", "--name", "web", NULL};
	char *both[] = {"orchestrator", "--detach", "--service", NULL};
	struct cli c;
	char err[128];

	(void)state;
	assert_int_equal(cli_parse(&c, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_true(c.service);
	assert_false(c.detach);
	assert_string_equal(c.name, "web");
	assert_int_equal(cli_parse(&c, ARGC(both), both, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "choose one"));
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

static void subcommands(void **state)
{
	char *attach[] = {"orchestrator", "attach", NULL};
	char *status[] = {"orchestrator", "status", "web", NULL};
	char *stop[] = {"orchestrator", "stop", "--name", "web", NULL};
	char *list[] = {"orchestrator", "list", NULL};
	char *run[] = {"orchestrator", "--name", "web", NULL};
	struct cli c;
	char err[128];

	(void)state;
	assert_int_equal(cli_parse(&c, ARGC(run), run, err, sizeof(err)), 0);
	assert_int_equal(c.command, CLI_RUN);
	assert_string_equal(c.name, "web");
	assert_int_equal(cli_parse(&c, ARGC(attach), attach, err, sizeof(err)),
	                 0);
	assert_int_equal(c.command, CLI_ATTACH);
	assert_string_equal(c.name, "default");
	assert_string_equal(cli_command_name(c.command), "attach");
	assert_int_equal(cli_parse(&c, ARGC(status), status, err, sizeof(err)),
	                 0);
	assert_int_equal(c.command, CLI_STATUS);
	assert_string_equal(c.name, "web");
	assert_int_equal(cli_parse(&c, ARGC(stop), stop, err, sizeof(err)), 0);
	assert_int_equal(c.command, CLI_STOP);
	assert_string_equal(c.name, "web");
	assert_int_equal(cli_parse(&c, ARGC(list), list, err, sizeof(err)), 0);
	assert_int_equal(c.command, CLI_LIST);
	assert_string_equal(cli_command_name(CLI_RUN), "");
}

static void send_lines(void **state)
{
	char *none[] = {"orchestrator", "send", NULL};
	char *named[] = {"orchestrator", "send", "--json", "web",
	                 "uptime",       "-x",   NULL};
	char *flag[] = {"orchestrator", "send", "--name", "web",
	                "uptime",       "ls",   NULL};
	char *dash[] = {"orchestrator", "send", "--", "-web", "x", NULL};
	char *one[] = {"orchestrator", "send", "uptime", NULL};
	char *spaced[] = {"orchestrator", "send", "echo a", "echo b", NULL};
	struct cli c;
	char err[160];

	(void)state;
	assert_int_equal(cli_parse(&c, ARGC(none), none, err, sizeof(err)), 0);
	assert_int_equal(c.command, CLI_SEND);
	assert_string_equal(c.name, "default");
	assert_int_equal(c.nsend, 0);
	assert_false(c.json);
	/* The first argument names the fleet; options end there. */
	assert_int_equal(cli_parse(&c, ARGC(named), named, err, sizeof(err)),
	                 0);
	assert_true(c.json);
	assert_string_equal(c.name, "web");
	assert_int_equal(c.nsend, 2);
	assert_string_equal(c.send_lines[0], "uptime");
	assert_string_equal(c.send_lines[1], "-x");
	/* With --name every argument is a line. */
	assert_int_equal(cli_parse(&c, ARGC(flag), flag, err, sizeof(err)), 0);
	assert_string_equal(c.name, "web");
	assert_int_equal(c.nsend, 2);
	assert_string_equal(c.send_lines[0], "uptime");
	/* "--" ends the options: "-web" is a line (no name starts with
	   '-', which would read as an option). */
	assert_int_equal(cli_parse(&c, ARGC(dash), dash, err, sizeof(err)), 0);
	assert_string_equal(c.name, "default");
	assert_string_equal(c.send_lines[0], "-web");
	/* One argument is a line, to the default fleet. */
	assert_int_equal(cli_parse(&c, ARGC(one), one, err, sizeof(err)), 0);
	assert_string_equal(c.name, "default");
	assert_int_equal(c.nsend, 1);
	assert_string_equal(c.send_lines[0], "uptime");
	/* A first argument that cannot be a name is a line too. */
	assert_int_equal(cli_parse(&c, ARGC(spaced), spaced, err, sizeof(err)),
	                 0);
	assert_string_equal(c.name, "default");
	assert_int_equal(c.nsend, 2);
}

static void subcommand_errors(void **state)
{
	char *bad_name[] = {"orchestrator", "status", "../x", NULL};
	char *long_name[] = {"orchestrator", "stop", NULL, NULL};
	char *two[] = {"orchestrator", "attach", "a", "b", NULL};
	char *twice[] = {"orchestrator", "stop", "--name", "a", "b", NULL};
	char *list_arg[] = {"orchestrator", "list", "web", NULL};
	char *list_name[] = {"orchestrator", "list", "--name", "w", NULL};
	char *json[] = {"orchestrator", "status", "--json", NULL};
	char *unknown[] = {"orchestrator", "send", "-q", NULL};
	char *noval[] = {"orchestrator", "send", "--name", NULL};
	char *late[] = {"orchestrator", "-n", "3", "send", NULL};
	char *run_name[] = {"orchestrator", "--name", ".hidden", NULL};
	char *help[] = {"orchestrator", "send", "-h", NULL};
	char name[80];
	struct cli c;
	char err[200];

	(void)state;
	memset(name, 'a', 65);
	name[65] = '\0';
	long_name[2] = name;
	assert_int_equal(
	    cli_parse(&c, ARGC(bad_name), bad_name, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'../x' is not a fleet name"));
	assert_int_equal(
	    cli_parse(&c, ARGC(long_name), long_name, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a fleet name"));
	assert_int_equal(cli_parse(&c, ARGC(two), two, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unexpected argument 'b' of attach"));
	assert_int_equal(cli_parse(&c, ARGC(twice), twice, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "named twice"));
	assert_int_equal(
	    cli_parse(&c, ARGC(list_arg), list_arg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'web' of list"));
	assert_int_equal(
	    cli_parse(&c, ARGC(list_name), list_name, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "list takes no fleet name"));
	assert_int_equal(cli_parse(&c, ARGC(json), json, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not of status"));
	assert_int_equal(
	    cli_parse(&c, ARGC(unknown), unknown, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'-q' of send"));
	assert_int_equal(cli_parse(&c, ARGC(noval), noval, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "'--name' needs a value"));
	assert_int_equal(cli_parse(&c, ARGC(late), late, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'send' is a subcommand: put it first"));
	assert_int_equal(
	    cli_parse(&c, ARGC(run_name), run_name, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'.hidden' is not a fleet name"));
	assert_int_equal(cli_parse(&c, ARGC(help), help, err, sizeof(err)), 0);
	assert_true(c.help);
	assert_int_equal(c.command, CLI_SEND);
}

static void usage_documents_subcommands(void **state)
{
	(void)state;
	assert_non_null(
	    strstr(cli_usage, "orchestrator attach [--json] [NAME]"));
	assert_non_null(
	    strstr(cli_usage, "orchestrator send [--json] [NAME] [LINE...]"));
	assert_non_null(strstr(cli_usage, "orchestrator status [NAME]"));
	assert_non_null(strstr(cli_usage, "orchestrator stop [NAME]"));
	assert_non_null(strstr(cli_usage, "orchestrator list"));
	assert_non_null(strstr(cli_usage, "--name NAME"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(every_option),
	    cmocka_unit_test(handler_and_lines),
	    cmocka_unit_test(errors),
	    cmocka_unit_test(help_and_version),
	    cmocka_unit_test(subcommands),
	    cmocka_unit_test(send_lines),
	    cmocka_unit_test(subcommand_errors),
	    cmocka_unit_test(usage_documents_subcommands),
	    cmocka_unit_test(service),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
