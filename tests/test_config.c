/* test_config.c - unit tests for server_config.ini handling
   (common/config.c). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "parse.h"

#define ERRLEN 512

/* Parse text on top of the defaults, as file "t.ini". */
static int parse(struct config *c, const char *text, char *err)
{
	config_defaults(c);
	err[0] = '\0';
	return config_parse_string(c, text, "t.ini", err, ERRLEN);
}

/* Assert text parses cleanly on top of the defaults into *c. */
static void parse_ok(struct config *c, const char *text)
{
	char err[ERRLEN];

	if (parse(c, text, err) != 0)
		fail_msg("unexpected error: %s\n--- text:\n%s", err, text);
}

/* Assert err starts with "t.ini:LINE: " and holds every non-NULL needle. */
static void check_msg(const char *err, const char *prefix, const char *text,
                      const char *n1, const char *n2)
{
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("want prefix '%s', got '%s'\n--- text:\n%s", prefix,
		         err, text);
	if (n1 && !strstr(err, n1))
		fail_msg("'%s' lacks '%s'\n--- text:\n%s", err, n1, text);
	if (n2 && !strstr(err, n2))
		fail_msg("'%s' lacks '%s'\n--- text:\n%s", err, n2, text);
	if (strchr(err, '\n'))
		fail_msg("message is not one line: '%s'", err);
}

/* Assert text fails at line with a message holding n1 and n2. */
static void parse_fails(const char *text, int line, const char *n1,
                        const char *n2)
{
	struct config c;
	char err[ERRLEN], prefix[32];

	snprintf(prefix, sizeof(prefix), "t.ini:%d: ", line);
	if (parse(&c, text, err) != -1)
		fail_msg("accepted:\n%s", text);
	check_msg(err, prefix, text, n1, n2);
}

static void test_defaults(void **state)
{
	struct config c;

	(void)state;
	memset(&c, 0xA5, sizeof(c));
	config_defaults(&c);
	assert_int_equal(c.num_clients, 3);
	assert_int_equal(c.base_port, 8888);
	assert_string_equal(c.host, "127.0.0.1");
	assert_string_equal(c.command, "");
	assert_int_equal(c.stop_timeout_ms, 2000);
	assert_int_equal(c.restart, RESTART_NEVER);
	assert_int_equal(c.connect_timeout_ms, 5000);
	assert_int_equal(c.retry_initial_ms, 10);
	assert_int_equal(c.retry_max_ms, 500);
	assert_int_equal(c.ack_timeout_ms, 2000);
	assert_int_equal(c.max_message_bytes, 65536);
	assert_int_equal(c.handler, HANDLER_ACK);
	assert_string_equal(c.handler_command, "");
	assert_int_equal(c.handler_timeout_ms, 60000);
	assert_int_equal(c.max_reply_bytes, 65536);
}

/* [cluster] watch is true or false, nothing else. */
static void test_watch(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	assert_true(c.watch);
	parse_ok(&c, "[cluster]\nwatch = false\n");
	assert_false(c.watch);
	parse_ok(&c, "[cluster]\nwatch = true\n");
	assert_true(c.watch);
	parse_fails("[cluster]\nwatch = no\n", 2, "'no'", "'true' or 'false'");
	parse_fails("[cluster]\nwatch = True\n", 2, "'True'", NULL);
}

/* [node] handler names one of four handlers; pipe needs its co-process. */
static void test_handler(void **state)
{
	struct config c;
	char err[ERRLEN];

	(void)state;
	parse_ok(&c, "[node]\nhandler = shell\n");
	assert_int_equal(c.handler, HANDLER_SHELL);
	parse_ok(&c, "[node]\nhandler = pipe\n"
	             "handler_command = python3 -u 'my worker.py' {index}\n");
	assert_int_equal(c.handler, HANDLER_PIPE);
	assert_string_equal(c.handler_command,
	                    "python3 -u 'my worker.py' {index}");
	assert_int_equal(c.handler_command_line, 3);
	parse_fails("[node]\nhandler = Exec\n", 2, "'Exec'", "ack, exec");
	parse_fails("[node]\nhandler = pipe\n", 2, "handler = pipe",
	            "handler_command");
	parse_fails("[node]\nhandler_command = w {HOST}\n", 2, "{HOST}",
	            "{index}");
	/* From the command line, the rule holds too. */
	config_defaults(&c);
	assert_int_equal(config_override(&c, "node", "handler", "pipe",
	                                 "--handler", err, sizeof(err)),
	                 0);
	assert_int_equal(config_check(&c, "command line", err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "handler_command"));
}

static void test_defaults_pass_check(void **state)
{
	struct config c;
	char err[ERRLEN];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_check(&c, "defaults", err, sizeof(err)), 0);
	/* An empty file, blank lines and comments change nothing. */
	parse_ok(&c, "");
	assert_int_equal(c.num_clients, 3);
	parse_ok(&c, "\n\n   \n\t\n");
	assert_int_equal(c.base_port, 8888);
}

/* The unsigned keys: where they live and the range they accept. extra is
   appended to keep cross-key rules happy at the range's ends. */
static const struct ukey {
	const char *section, *name;
	size_t off;
	unsigned lo, hi;
	const char *extra;
} ukeys[] = {
    {"cluster", "num_clients", offsetof(struct config, num_clients), 1,
     CONFIG_MAX_NODES, "base_port = 1000\n"},
    {"cluster", "base_port", offsetof(struct config, base_port), 1, 65535,
     "num_clients = 1\n"},
    {"node", "stop_timeout_ms", offsetof(struct config, stop_timeout_ms), 0,
     3600000, ""},
    {"connect", "timeout_ms", offsetof(struct config, connect_timeout_ms), 1,
     3600000, ""},
    {"connect", "retry_initial_ms", offsetof(struct config, retry_initial_ms),
     1, 60000, "retry_max_ms = 600000\n"},
    {"connect", "retry_max_ms", offsetof(struct config, retry_max_ms), 1,
     600000, "retry_initial_ms = 1\n"},
    {"broadcast", "ack_timeout_ms", offsetof(struct config, ack_timeout_ms), 1,
     3600000, ""},
    {"broadcast", "max_message_bytes",
     offsetof(struct config, max_message_bytes), 1, 1u << 20, ""},
    {"node", "handler_timeout_ms", offsetof(struct config, handler_timeout_ms),
     1, 86400000, ""},
    {"node", "max_reply_bytes", offsetof(struct config, max_reply_bytes), 0,
     1u << 20, ""},
};
#define NUKEYS (sizeof(ukeys) / sizeof(ukeys[0]))

static unsigned field(const struct config *c, size_t off)
{
	unsigned v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

/* Write "[section]\nname = value\nextra" into text; the key is line 2. */
static void key_text(char *text, size_t len, const struct ukey *k,
                     const char *value)
{
	snprintf(text, len, "[%s]\n%s = %s\n%s", k->section, k->name, value,
	         k->extra);
}

static void test_uint_keys_set(void **state)
{
	(void)state;
	for (size_t i = 0; i < NUKEYS; i++) {
		const struct ukey *k = &ukeys[i];
		unsigned vals[3] = {k->lo, k->hi, k->lo + (k->hi - k->lo) / 3};

		for (size_t j = 0; j < 3; j++) {
			char text[256], num[16];
			struct config c;

			snprintf(num, sizeof(num), "%u", vals[j]);
			key_text(text, sizeof(text), k, num);
			parse_ok(&c, text);
			if (field(&c, k->off) != vals[j])
				fail_msg("%s: got %u, want %u", k->name,
				         field(&c, k->off), vals[j]);
		}
	}
}

static void test_uint_keys_out_of_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < NUKEYS; i++) {
		const struct ukey *k = &ukeys[i];
		char text[256], num[16], quoted[24];

		snprintf(num, sizeof(num), "%u", k->hi + 1);
		snprintf(quoted, sizeof(quoted), "'%s'", num);
		key_text(text, sizeof(text), k, num);
		parse_fails(text, 2, k->name, quoted);
		if (k->lo > 0) {
			key_text(text, sizeof(text), k, "0");
			parse_fails(text, 2, k->name, "'0'");
		}
	}
}

/* Values that are not whole unsigned decimal numbers, for every key. */
static void test_uint_keys_malformed(void **state)
{
	static const char *const bad[] = {
	    "abc",        "12abc",
	    "-1",         "-0",
	    "+5",         "1.5",
	    "0x10",       "1e3",
	    "12 13",      "99999999999999999999999",
	    "4294967296", "18446744073709551617",
	};

	(void)state;
	for (size_t i = 0; i < NUKEYS; i++) {
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			char text[256], quoted[64];

			snprintf(quoted, sizeof(quoted), "'%s'", bad[j]);
			key_text(text, sizeof(text), &ukeys[i], bad[j]);
			parse_fails(text, 2, ukeys[i].name, quoted);
		}
	}
}

static void test_uint_message(void **state)
{
	struct config c;
	char err[ERRLEN];

	(void)state;
	assert_int_equal(parse(&c, "[cluster]\nnum_clients = 12abc\n", err),
	                 -1);
	assert_string_equal(err, "t.ini:2: num_clients: '12abc' is not a "
	                         "whole number in 1..4096");
}

static void test_empty_value(void **state)
{
	(void)state;
	parse_fails("[cluster]\nnum_clients =\n", 2, "num_clients", "missing");
	parse_fails("[cluster]\n\nhost =   \n", 3, "host", "missing");
	parse_fails("[node]\ncommand=\n", 2, "command", "missing");
	parse_fails("[node]\nrestart =\n", 2, "restart", "missing");
	parse_fails("base_port=\n", 1, "base_port", "missing");
}

static void test_host(void **state)
{
	static const char *const good[] = {
	    "localhost",    "10.0.0.7",           "::1",
	    "fe80::1%eth0", "node-1.example.org", "0.0.0.0"};
	static const char *const bad[] = {
	    "two words", "a/b", "a;b", "h\"x", "[::1]:80", "a,b", "$(reboot)"};
	struct config c;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[128];

		snprintf(text, sizeof(text), "[cluster]\nhost = %s\n", good[i]);
		parse_ok(&c, text);
		assert_string_equal(c.host, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];

		snprintf(text, sizeof(text), "[cluster]\n\nhost = %s\n",
		         bad[i]);
		parse_fails(text, 3, "host", bad[i]);
	}
}

static void test_command(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "[node]\ncommand = ./node --host {host} --port {port} "
	             "--index {index} {port}\n");
	assert_string_equal(c.command, "./node --host {host} --port {port} "
	                               "--index {index} {port}");
	parse_ok(&c, "[node]\ncommand = /usr/bin/env\n");
	assert_string_equal(c.command, "/usr/bin/env");
}

static void test_command_bad_placeholder(void **state)
{
	(void)state;
	parse_fails("[node]\ncommand = ./node {PORT}\n", 2, "{PORT}", NULL);
	parse_fails("[node]\n\ncommand = ./node {port} {Index}\n", 3, "{Index}",
	            NULL);
	parse_fails("[node]\ncommand = ./node --port {port\n", 2, "command",
	            "placeholder");
}

/* [cluster] launcher (SPEC §8): a template with {host} only, as long as
   a real ssh command line, and never together with [node] command. */
static void test_launcher(void **state)
{
	struct config c;
	char text[1024];

	(void)state;
	parse_ok(&c, "[cluster]\nhosts = a, b\nlauncher = ssh -o "
	             "BatchMode=yes {host}\n");
	assert_string_equal(c.launcher, "ssh -o BatchMode=yes {host}");
	assert_int_equal(c.launcher_line, 3);
	snprintf(text, sizeof(text),
	         "[cluster]\nlauncher = ssh -i /home/someone/.ssh/id_fleet "
	         "-o BatchMode=yes -o ConnectTimeout=5 -o "
	         "StrictHostKeyChecking=accept-new -o "
	         "UserKnownHostsFile=/home/someone/.ssh/known_fleet -o "
	         "ServerAliveInterval=15 -l operator {host}\n");
	assert_true(strlen(text) > 220); /* past inih's 200 bytes */
	parse_ok(&c, text);
	assert_non_null(strstr(c.launcher, "-l operator {host}"));
	parse_fails("[cluster]\nlauncher = ssh {host} --port {port}\n", 2,
	            "launcher", "only {host}");
	parse_fails("[cluster]\nlauncher = srun -w {host} {index}\n", 2,
	            "launcher", "only {host}");
	parse_fails("[cluster]\nlauncher = ssh {Host}\n", 2, "{Host}", NULL);
	parse_fails("[cluster]\nhosts = a, b\nlauncher = ssh a\n", 3,
	            "launcher", "no {host}");
	parse_ok(&c, "[cluster]\nhosts = a\nlauncher = ssh a\n");
	parse_fails("[cluster]\nlauncher = ssh {host}\n[node]\ncommand = "
	            "./node --port {port}\n",
	            4, "launcher", "both");
	parse_fails("[node]\ncommand = ./node --port {port}\n[cluster]\n"
	            "launcher = ssh {host}\n",
	            4, "launcher", "both");
}

/* Braces that hold no placeholder name are text: awk programs, the
   shell's ${var}, Python's "{}". */
static void test_command_literal_braces(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "[node]\nhandler = pipe\n"
	             "handler_command = awk '{print $1*2; fflush()}'\n");
	assert_string_equal(c.handler_command, "awk '{print $1*2; fflush()}'");
	parse_ok(&c,
	         "[node]\ncommand = sh -c 'exec ./node --port ${P:-{port}}' "
	         "{} {\n");
	parse_ok(&c, "[node]\nhandler_command = python3 -c "
	             "'print(\"{}\".format(1))' {index}\n");
	parse_ok(&c, "[node]\nhandler_command = awk '{print}' "
	             "'{prot}' '{name}'\n");
}

static void test_restart(void **state)
{
	static const char *const bad[] = {"always",      "on_failure", "Never",
	                                  "on-failure2", "yes",        "1"};
	struct config c;

	(void)state;
	parse_ok(&c, "[node]\nrestart = on-failure\n");
	assert_int_equal(c.restart, RESTART_ON_FAILURE);
	parse_ok(&c, "[node]\nrestart = never\n");
	assert_int_equal(c.restart, RESTART_NEVER);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[64];

		snprintf(text, sizeof(text), "[node]\nrestart = %s\n", bad[i]);
		parse_fails(text, 2, "restart", bad[i]);
	}
}

/* Every key of every section at once, read back. */
static void test_full_file(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "[cluster]\n"
	             "num_clients = 1000\n"
	             "base_port = 20000\n"
	             "host = 0.0.0.0\n"
	             "[node]\n"
	             "command = ./n {port}\n"
	             "stop_timeout_ms = 0\n"
	             "restart = on-failure\n"
	             "[connect]\n"
	             "timeout_ms = 7\n"
	             "retry_initial_ms = 5\n"
	             "retry_max_ms = 5\n"
	             "[broadcast]\n"
	             "ack_timeout_ms = 99\n"
	             "max_message_bytes = 1048576\n");
	assert_int_equal(c.num_clients, 1000);
	assert_int_equal(c.base_port, 20000);
	assert_string_equal(c.host, "0.0.0.0");
	assert_string_equal(c.command, "./n {port}");
	assert_int_equal(c.stop_timeout_ms, 0);
	assert_int_equal(c.restart, RESTART_ON_FAILURE);
	assert_int_equal(c.connect_timeout_ms, 7);
	assert_int_equal(c.retry_initial_ms, 5);
	assert_int_equal(c.retry_max_ms, 5);
	assert_int_equal(c.ack_timeout_ms, 99);
	assert_int_equal(c.max_message_bytes, 1048576);
}

/* The seed's file: flat keys before any section. */
static void test_flat_seed_keys(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "num_clients = 7\nbase_port = 9000\n");
	assert_int_equal(c.num_clients, 7);
	assert_int_equal(c.base_port, 9000);
	parse_ok(&c, "num_clients=12\n\n[node]\nrestart = on-failure\n"
	             "[cluster]\nhost = ::1\n");
	assert_int_equal(c.num_clients, 12);
	assert_int_equal(c.restart, RESTART_ON_FAILURE);
	assert_string_equal(c.host, "::1");
	/* Only those two keys are accepted flat. */
	parse_fails("num_clients = 2\nhost = ::1\n", 2, "'host'", "[cluster]");
	parse_fails("retry_max_ms = 9\n", 1, "retry_max_ms", "[connect]");
}

/* Parsing goes on top of what c holds; untouched keys keep it. */
static void test_parse_on_top(void **state)
{
	struct config c;
	char err[ERRLEN];

	(void)state;
	config_defaults(&c);
	c.num_clients = 50;
	strcpy(c.host, "::1");
	assert_int_equal(config_parse_string(&c,
	                                     "[node]\nrestart = never\n"
	                                     "[cluster]\nbase_port = 4000\n",
	                                     "t.ini", err, sizeof(err)),
	                 0);
	assert_int_equal(c.num_clients, 50);
	assert_string_equal(c.host, "::1");
	assert_int_equal(c.base_port, 4000);
	/* A second parse may set the same key again. */
	assert_int_equal(config_parse_string(&c,
	                                     "[cluster]\nbase_port = 4001\n",
	                                     "t.ini", err, sizeof(err)),
	                 0);
	assert_int_equal(c.base_port, 4001);
}

static void test_hosts(void **state)
{
	struct config c;
	char many[CONFIG_HOSTS_MAX * 4 + 64] = "[cluster]\nhosts = ";

	(void)state;
	parse_ok(&c, "[cluster]\nhosts = a,  b.example ,10.0.0.3\n");
	assert_int_equal(c.nhosts, 3);
	assert_string_equal(c.hosts[1], "b.example");
	assert_string_equal(config_node_host(&c, 0), "a");
	assert_string_equal(config_node_host(&c, 4), "b.example");
	assert_string_equal(config_node_host(&c, 5), "10.0.0.3");
	parse_ok(&c, "[cluster]\nhost = ::1\n");
	assert_int_equal(c.nhosts, 0);
	assert_string_equal(config_node_host(&c, 7), "::1");
	parse_fails("[cluster]\nhosts = a, b c\n", 2, "hosts", "entry 2");
	parse_fails("[cluster]\nhosts = a,,b\n", 2, "hosts", "entry 2");
	for (int i = 0; i <= CONFIG_HOSTS_MAX; i++)
		strcat(many, i ? ",h" : "h");
	strcat(many, "\n");
	parse_fails(many, 2, "hosts", "more than");
}

static void test_hosts_file_text(void **state)
{
	struct config c;
	char err[ERRLEN];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_parse_hosts(&c,
	                                    "# the fleet\n\n  a.example  \n"
	                                    "10.0.0.2 # rack 2\n::1\n",
	                                    "h.txt", err, sizeof(err)),
	                 0);
	assert_int_equal(c.nhosts, 3);
	assert_string_equal(c.hosts[0], "a.example");
	assert_string_equal(c.hosts[1], "10.0.0.2");
	assert_int_equal(
	    config_parse_hosts(&c, "a\nb c\n", "h.txt", err, sizeof(err)), -1);
	assert_string_equal(err, "h.txt:2: not a host name or address");
	assert_int_equal(
	    config_parse_hosts(&c, "# none\n\n", "h.txt", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "h.txt: lists no host");
}

static void test_hosts_file_load(void **state)
{
	char dir[] = "/tmp/fanout-hosts-XXXXXX", ini[64], hosts[64];
	struct config c;
	char err[ERRLEN];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(ini, sizeof(ini), "%s/c.ini", dir);
	snprintf(hosts, sizeof(hosts), "%s/hosts.txt", dir);
	f = fopen(hosts, "w");
	fputs("x\ny\n", f);
	fclose(f);
	f = fopen(ini, "w");
	fputs("[cluster]\nhosts_file = hosts.txt\n", f);
	fclose(f);
	config_defaults(&c);
	assert_int_equal(config_load(&c, ini, NULL, err, sizeof(err)), 0);
	assert_int_equal(c.nhosts, 2);
	assert_string_equal(config_node_host(&c, 3), "y");
	f = fopen(ini, "w");
	fputs("[cluster]\nhosts_file = nowhere.txt\n", f);
	fclose(f);
	assert_int_equal(config_load(&c, ini, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nowhere.txt"));
	unlink(hosts);
	unlink(ini);
	rmdir(dir);
	parse_fails("[cluster]\nhosts = a\nhosts_file = h\n", 3, "hosts_file",
	            "both");
}

static void test_unknown_key(void **state)
{
	(void)state;
	parse_fails("; seed\nnum_client = 3\n", 2, "'num_client'",
	            "'num_clients'");
	parse_fails("[cluster]\nnum_clients = 3\nbase_prot = 9000\n", 3,
	            "'base_prot'", "'base_port'");
	parse_fails("[connect]\n\n\ntimeout = 100\n", 4, "'timeout'",
	            "'timeout_ms'");
	parse_fails("[connect]\nretry_max = 100\n", 2, "'retry_max'",
	            "'retry_max_ms'");
	parse_fails("[broadcast]\nmax_message_byte = 100\n", 2,
	            "max_message_byte", "'max_message_bytes'");
	parse_fails("[node]\nrestarts = never\n", 2, "'restarts'", "'restart'");
	parse_fails("[node]\ncomand = x\n", 2, "'comand'", "'command'");
	parse_fails("[cluster]\nhots = ::1\n", 2, "'hots'", "'hosts'");
	/* Between equally near keys, the one of the same section wins. */
	parse_fails("[broadcast]\nc_timeout_ms = 1\n", 2, "'c_timeout_ms'",
	            "did you mean 'ack_timeout_ms'");
	parse_fails("[connect]\nc_timeout_ms = 1\n", 2, "'c_timeout_ms'",
	            "did you mean 'timeout_ms'");
}

/* A key of one section written in another is named with its home. */
static void test_key_in_wrong_section(void **state)
{
	(void)state;
	parse_fails("[node]\nnum_clients = 3\n", 2, "'num_clients'",
	            "[cluster]");
	parse_fails("[cluster]\nnum_clients = 3\nrestart = never\n", 3,
	            "'restart'", "[node]");
	parse_fails("[broadcast]\ntimeout_ms = 3\n", 2, "'timeout_ms'",
	            "[connect]");
	parse_fails("[connect]\nack_timeout_ms = 3\n", 2, "'ack_timeout_ms'",
	            "[broadcast]");
}

/* An unknown section is an error at the line that names it, suggesting
   the nearest section. */
static void test_unknown_section(void **state)
{
	(void)state;
	parse_fails("[clustr]\nnum_clients = 3\n", 1, "[clustr]", "[cluster]");
	parse_fails("[cluster]\nnum_clients = 3\n[conect]\ntimeout_ms = 9\n", 3,
	            "[conect]", "[connect]");
	parse_fails("[broadcst]\nack_timeout_ms = 9\n", 1, "[broadcst]",
	            "[broadcast]");
	parse_fails("[nodes]\nrestart = never\n", 1, "[nodes]", "[node]");
}

/* ... even when no key follows it. */
static void test_unknown_empty_section(void **state)
{
	(void)state;
	parse_fails("[cluster]\nnum_clients = 3\n[conect]\n", 3, "[conect]",
	            "[connect]");
	parse_fails("[broadcst]\n[broadcast]\nack_timeout_ms = 9\n", 1,
	            "[broadcst]", "[broadcast]");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	parse_fails("[cluster]\nnum_clients = 3\n\nnum_clients = 4\n", 4,
	            "'num_clients'", "line 2");
	/* The flat seed key and its [cluster] form are the same key. */
	parse_fails("num_clients = 3\n[cluster]\nnum_clients = 4\n", 3,
	            "'num_clients'", "line 1");
	parse_fails("[node]\nrestart = never\n[cluster]\n[node]\n"
	            "restart = never\n",
	            5, "'restart'", "line 2");
	/* Even when the first value was itself bad, the first error wins. */
	parse_fails("[node]\nrestart = sometimes\nrestart = never\n", 2,
	            "restart", "sometimes");
}

static void test_syntax_error(void **state)
{
	(void)state;
	parse_fails("[cluster]\nnum_clients = 3\njunk line\n", 3,
	            "expected '[section]' or 'key = value'", NULL);
	parse_fails("num_clients\n", 1, "expected", NULL);
	parse_fails("[cluster\nnum_clients = 3\n", 1, "expected", NULL);
	/* The first error wins, whichever kind it is. */
	parse_fails("[cluster]\nwhat\nnum_clients = 0\n", 2, "expected", NULL);
	parse_fails("[cluster]\nnum_clients = 0\nwhat\n", 2, "num_clients",
	            NULL);
}

/* Return the longest line the parser takes, from its own message. */
static size_t max_line(void)
{
	static char text[20000];
	struct config c;
	char err[ERRLEN];
	unsigned long room;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(parse(&c, text, err), -1);
	check_msg(err, "t.ini:1: ", text, "line longer than", NULL);
	assert_int_equal(sscanf(err, "t.ini:1: line longer than %lu", &room),
	                 1);
	assert_true(room > 40 && room < sizeof(text));
	return room;
}

/* A line too long is an error at its line; its tail is not read as a
   line of its own. */
static void test_long_line(void **state)
{
	size_t room = max_line();
	char *text = malloc(room + 100);

	(void)state;
	assert_non_null(text);
	/* "command = " and room - 10 more characters: exactly the limit. */
	strcpy(text, "[node]\ncommand = ");
	memset(text + strlen(text), 'a', room - 10);
	strcpy(text + 17 + room - 10, "\nrestart = never\n");
	{
		struct config c;

		parse_ok(&c, text);
		assert_int_equal(strlen(c.command), room - 10);
	}
	/* Longer lines are as good: kept aside from inih's buffer. */
	strcpy(text, "[node]\ncommand = ");
	memset(text + strlen(text), 'a', room - 9);
	strcpy(text + 17 + room - 9, "  ; cut\nrestart = on-failure\n");
	{
		struct config c;

		parse_ok(&c, text);
		assert_int_equal(strlen(c.command), room - 9);
		assert_int_equal(c.restart, RESTART_ON_FAILURE);
	}
	/* Leading blanks do not count. */
	memset(text, ' ', 50);
	memset(text + 50, ';', room);
	text[50 + room] = '\0';
	{
		struct config c;

		parse_ok(&c, text);
	}
	free(text);
}

static void test_long_line_tail(void **state)
{
	size_t room = max_line();
	size_t n = 4 * room;
	char *text = malloc(n + 100);

	(void)state;
	assert_non_null(text);
	/* A tail that would parse as a valid key, were it read as a line:
	   a long comment is one line, all comment. */
	strcpy(text, "[cluster]\n; ");
	memset(text + 12, 'x', n);
	strcpy(text + 12 + n - 16, "num_clients = 9\nbase_port = 9\n");
	{
		struct config c;

		parse_ok(&c, text);
		assert_int_equal(c.num_clients, 3);
		assert_int_equal(c.base_port, 9);
	}
	/* A long line that is no key = value is refused, at its line. */
	strcpy(text, "[cluster]\n");
	memset(text + 10, 'x', n);
	strcpy(text + 10 + n, "\nnum_clients = 9\n");
	parse_fails(text, 2, "line longer than", NULL);
	free(text);
}

/* Indented lines are keys of their own, not continuations. */
static void test_indented_keys(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "[cluster]\nnum_clients = 5\n    base_port = 9000\n"
	             "\thost = ::1\n  [node]\n \t restart = on-failure\n");
	assert_int_equal(c.num_clients, 5);
	assert_int_equal(c.base_port, 9000);
	assert_string_equal(c.host, "::1");
	assert_int_equal(c.restart, RESTART_ON_FAILURE);
	parse_fails("[cluster]\nnum_clients = 5\n   base_port = x\n", 3,
	            "base_port", "'x'");
	parse_fails("[cluster]\nnum_clients = 5\n   bogus = 1\n", 3, "'bogus'",
	            NULL);
}

static void test_comments(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "; a comment\n# another\n[cluster]\n; num_clients = 0\n"
	             "# base_port = x\n   ; indented\n\t# indented\n"
	             "num_clients = 4\n;junk junk\n#[nosuch]\n");
	assert_int_equal(c.num_clients, 4);
	assert_int_equal(c.base_port, 8888);
	/* Comment lines still count for the line numbers. */
	parse_fails("; 1\n# 2\n;3\n[cluster]\n; 5\nnum_clients = x\n", 6,
	            "num_clients", NULL);
}

static void test_line_endings(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "[cluster]\r\nnum_clients = 6\r\nhost = ::1\r\n");
	assert_int_equal(c.num_clients, 6);
	assert_string_equal(c.host, "::1");
	parse_ok(&c, "[cluster]\nnum_clients = 8");
	assert_int_equal(c.num_clients, 8);
	parse_fails("[cluster]\r\n\r\nnum_clients = y\r\n", 3, "'y'", NULL);
	parse_fails("[cluster]\nnum_clients = y", 2, "'y'", NULL);
}

/* The port range must fit below 65536; the error points at the later of
   base_port and num_clients. */
static void test_port_overflow(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "[cluster]\nbase_port = 65533\nnum_clients = 3\n");
	parse_ok(&c, "[cluster]\nbase_port = 65535\nnum_clients = 1\n");
	parse_fails("[cluster]\nbase_port = 65534\n\nnum_clients = 3\n", 4,
	            "65534", "65536");
	parse_fails("[cluster]\nnum_clients = 3\n\nbase_port = 65534\n", 4,
	            "65534", "num_clients");
	parse_fails("num_clients = 4096\nbase_port = 61441\n", 2, "61441",
	            NULL);
	/* With the default num_clients of 3. */
	parse_fails("; x\n[cluster]\nbase_port = 65535\n", 3, "65535", NULL);
}

/* ... and not at an unrelated key set after them. */
static void test_port_overflow_line_unrelated(void **state)
{
	(void)state;
	parse_fails("[cluster]\nbase_port = 65535\n[connect]\n"
	            "retry_max_ms = 600\n",
	            2, "65535", NULL);
	parse_fails("[cluster]\nbase_port = 65000\nnum_clients = 4000\n"
	            "[connect]\nretry_initial_ms = 20\nretry_max_ms = 600\n",
	            3, "65000", NULL);
}

static void test_retry_order(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "[connect]\nretry_initial_ms = 500\n");
	parse_ok(&c, "[connect]\nretry_initial_ms = 70\nretry_max_ms = 70\n");
	parse_fails("[connect]\nretry_max_ms = 100\nretry_initial_ms = 200\n",
	            3, "retry_initial_ms", "retry_max_ms");
	parse_fails("[connect]\nretry_initial_ms = 200\n\nretry_max_ms = 100\n",
	            4, "retry_initial_ms", "retry_max_ms");
	/* Against the default retry_max_ms of 500. */
	parse_fails("[connect]\nretry_initial_ms = 501\n", 2, "501", "500");
	/* ... and the default retry_initial_ms of 10. */
	parse_fails("[connect]\n\nretry_max_ms = 9\n", 3, "10", "9");
}

/* Only the first error is reported, at its own line. */
static void test_first_error_wins(void **state)
{
	(void)state;
	parse_fails("[cluster]\nnum_clients = 0\nbase_port = 0\nbogus = 1\n", 2,
	            "num_clients", NULL);
	parse_fails("[cluster]\nbogus = 1\nnum_clients = 0\n", 2, "'bogus'",
	            NULL);
}

/* A small error buffer gets a truncated, terminated message. */
static void test_small_err_buffer(void **state)
{
	struct config c;
	char err[16];

	(void)state;
	memset(err, 'Z', sizeof(err));
	config_defaults(&c);
	assert_int_equal(config_parse_string(&c, "[cluster]\nnum_clients = x\n",
	                                     "t.ini", err, sizeof(err)),
	                 -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_memory_equal(err, "t.ini:2: ", 9);
}

/* A file written for a test; removed by the caller. */
static void write_temp(char *path, const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/fanout-test-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void test_load_file(void **state)
{
	static const char text[] = "num_clients = 9\n[node]\nrestart = never\n"
	                           "[connect]\ntimeout_ms = 0\n";
	char path[64], err[ERRLEN], prefix[80];
	struct config c;
	bool missing = true;

	(void)state;
	write_temp(path, "num_clients = 9\n", 16);
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, &missing, err, sizeof(err)), 0);
	assert_false(missing);
	assert_int_equal(c.num_clients, 9);
	assert_int_equal(unlink(path), 0);

	/* Errors name the file as given. */
	write_temp(path, text, sizeof(text) - 1);
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, NULL, err, sizeof(err)), -1);
	snprintf(prefix, sizeof(prefix), "%s:5: ", path);
	check_msg(err, prefix, text, "timeout_ms", "'0'");
	assert_int_equal(unlink(path), 0);
}

static void test_load_missing(void **state)
{
	static const char path[] = "/tmp/fanout-test-no-such-dir/none.ini";
	struct config c, before;
	char err[ERRLEN];
	bool missing = false;

	(void)state;
	config_defaults(&c);
	c.num_clients = 77;
	before = c;
	assert_int_equal(config_load(&c, path, &missing, err, sizeof(err)), 0);
	assert_true(missing);
	assert_memory_equal(&c, &before, sizeof(c));

	err[0] = '\0';
	assert_int_equal(config_load(&c, path, NULL, err, sizeof(err)), -1);
	check_msg(err, path, path, strerror(ENOENT), NULL);
	assert_memory_equal(&c, &before, sizeof(c));
}

/* Something that exists but cannot be read as a file is an error, missing
   pointer or not. */
static void test_load_unreadable(void **state)
{
	struct config c;
	char err[ERRLEN];
	bool missing = true;

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_load(&c, "/tmp", &missing, err, sizeof(err)),
	                 -1);
	assert_false(missing);
	check_msg(err, "/tmp: ", "is a directory", NULL, NULL);
}

/* A reload reads only a regular, non-empty file: an empty one is being
   rewritten, a pipe was used up at start. */
static void test_reload_needs_regular_nonempty_file(void **state)
{
	char path[64], err[ERRLEN], fdpath[64];
	struct config c;
	int fd, p[2];

	(void)state;
	strcpy(path, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	config_defaults(&c);
	assert_int_equal(config_reload(&c, path, err, sizeof(err)), -1);
	check_msg(err, path, "empty", NULL, NULL);
	assert_int_equal(write(fd, "num_clients = 4\n", 16), 16);
	assert_int_equal(config_reload(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.num_clients, 4);
	close(fd);
	unlink(path);
	assert_int_equal(config_reload(&c, path, err, sizeof(err)), -1);
	check_msg(err, path, "No such file", NULL, NULL);
	assert_int_equal(pipe(p), 0);
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", p[0]);
	assert_int_equal(config_reload(&c, fdpath, err, sizeof(err)), -1);
	check_msg(err, fdpath, "not a regular file", NULL, NULL);
	close(p[0]);
	close(p[1]);
}

/* Only a file that does not exist counts as missing; a path through a
   regular file (ENOTDIR) is an error even with a missing pointer. */
static void test_load_not_dir(void **state)
{
	char path[64], sub[96], err[ERRLEN];
	struct config c;
	bool missing = true;

	(void)state;
	write_temp(path, "", 0);
	snprintf(sub, sizeof(sub), "%s/server_config.ini", path);
	config_defaults(&c);
	assert_int_equal(config_load(&c, sub, &missing, err, sizeof(err)), -1);
	assert_false(missing);
	check_msg(err, sub, sub, strerror(ENOTDIR), NULL);
	assert_int_equal(unlink(path), 0);
}

static void test_load_nul_byte(void **state)
{
	static const char text[] = "[cluster]\nnum_clients = 5\n\0\nhost = x\n";
	char path[64], err[ERRLEN];
	struct config c;
	bool missing = true;

	(void)state;
	write_temp(path, text, sizeof(text) - 1);
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, &missing, err, sizeof(err)), -1);
	assert_false(missing);
	check_msg(err, path, "(NUL file)", "NUL", NULL);
	assert_int_equal(unlink(path), 0);
}

/* A file of exactly CONFIG_MAX_FILE_BYTES loads; one byte more does not. */
static void test_load_size_limit(void **state)
{
	char *text = malloc(CONFIG_MAX_FILE_BYTES + 1), path[64], err[ERRLEN];
	struct config c;

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < CONFIG_MAX_FILE_BYTES; i++)
		text[i] = i % 64 == 0 ? ';' : i % 64 == 63 ? '\n' : 'c';
	memcpy(text + CONFIG_MAX_FILE_BYTES - 17, "\nnum_clients = 6\n", 17);
	write_temp(path, text, CONFIG_MAX_FILE_BYTES);
	config_defaults(&c);
	if (config_load(&c, path, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.num_clients, 6);
	assert_int_equal(unlink(path), 0);

	text[CONFIG_MAX_FILE_BYTES] = '\n';
	write_temp(path, text, CONFIG_MAX_FILE_BYTES + 1);
	assert_int_equal(config_load(&c, path, NULL, err, sizeof(err)), -1);
	check_msg(err, path, "(big file)", "larger", NULL);
	assert_int_equal(unlink(path), 0);
	free(text);
}

static void test_override(void **state)
{
	struct config c;
	char err[ERRLEN];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_override(&c, "cluster", "num_clients", "10",
	                                 "-n", err, sizeof(err)),
	                 0);
	assert_int_equal(c.num_clients, 10);
	assert_int_equal(config_override(&c, "cluster", "base_port", "9000",
	                                 "-p", err, sizeof(err)),
	                 0);
	assert_int_equal(c.base_port, 9000);
	assert_int_equal(config_override(&c, "node", "restart", "on-failure",
	                                 "--restart", err, sizeof(err)),
	                 0);
	assert_int_equal(c.restart, RESTART_ON_FAILURE);
	assert_int_equal(config_override(&c, "cluster", "host", "::1", "--host",
	                                 err, sizeof(err)),
	                 0);
	assert_string_equal(c.host, "::1");
	assert_int_equal(config_check(&c, "command line", err, sizeof(err)), 0);
}

static void test_override_errors(void **state)
{
	struct config c, before;
	char err[ERRLEN];

	(void)state;
	config_defaults(&c);
	before = c;
	assert_int_equal(config_override(&c, "cluster", "num_clients", "abc",
	                                 "-n", err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "-n: num_clients: 'abc' is not a whole number "
	                         "in 1..4096");
	assert_int_equal(config_override(&c, "cluster", "num_clients", "0",
	                                 "-n", err, sizeof(err)),
	                 -1);
	check_msg(err, "-n: ", "", "'0'", NULL);
	assert_int_equal(config_override(&c, "cluster", "num_clients", "4097",
	                                 "-n", err, sizeof(err)),
	                 -1);
	check_msg(err, "-n: ", "", "'4097'", NULL);
	assert_int_equal(config_override(&c, "cluster", "base_port", "", "-p",
	                                 err, sizeof(err)),
	                 -1);
	check_msg(err, "-p: ", "", "base_port", "missing");
	assert_int_equal(config_override(&c, "cluster", "base_port", "-1", "-p",
	                                 err, sizeof(err)),
	                 -1);
	check_msg(err, "-p: ", "", "'-1'", NULL);
	assert_int_equal(config_override(&c, "node", "restart", "maybe",
	                                 "--restart", err, sizeof(err)),
	                 -1);
	check_msg(err, "--restart: ", "", "maybe", NULL);
	assert_int_equal(config_override(&c, "cluster", "nope", "1", "--nope",
	                                 err, sizeof(err)),
	                 -1);
	check_msg(err, "--nope: ", "", "nope", NULL);
	assert_int_equal(config_override(&c, "node", "num_clients", "1", "-x",
	                                 err, sizeof(err)),
	                 -1);
	check_msg(err, "-x: ", "", "num_clients", NULL);
	/* A failed override leaves the value alone. */
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_override_then_check(void **state)
{
	struct config c;
	char err[ERRLEN];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_override(&c, "cluster", "base_port", "65535",
	                                 "-p", err, sizeof(err)),
	                 0);
	assert_int_equal(config_check(&c, "-p", err, sizeof(err)), -1);
	check_msg(err, "-p: ", "", "65535", NULL);
}

static void test_check(void **state)
{
	struct config c;
	char err[ERRLEN];

	(void)state;
	config_defaults(&c);
	c.base_port = 65533;
	c.num_clients = 3;
	assert_int_equal(config_check(&c, "w", err, sizeof(err)), 0);
	c.base_port = 1;
	c.num_clients = CONFIG_MAX_NODES;
	assert_int_equal(config_check(&c, "w", err, sizeof(err)), 0);
	c.base_port = 65534;
	c.num_clients = 3;
	assert_int_equal(config_check(&c, "where", err, sizeof(err)), -1);
	check_msg(err, "where: ", "", "65534..65536", NULL);

	config_defaults(&c);
	c.retry_initial_ms = c.retry_max_ms;
	assert_int_equal(config_check(&c, "w", err, sizeof(err)), 0);
	c.retry_initial_ms = c.retry_max_ms + 1;
	assert_int_equal(config_check(&c, "x.ini:7", err, sizeof(err)), -1);
	check_msg(err, "x.ini:7: ", "", "retry_initial_ms", "retry_max_ms");
}

static void test_parse_uint(void **state)
{
	static const char *const bad[] = {"",
	                                  " 1",
	                                  "1 ",
	                                  "+1",
	                                  "-1",
	                                  "1a",
	                                  "a1",
	                                  "0x1",
	                                  "1.0",
	                                  "11",
	                                  "99999999999999999999999"};
	unsigned v;

	(void)state;
	assert_int_equal(parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_uint("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_uint("4294967295", 0, UINT_MAX, &v), 0);
	assert_int_equal(v, UINT_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		if (parse_uint(bad[i], 0, 10, &v) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(v, 12345);
	}
	v = 12345;
	assert_int_equal(parse_uint("4294967296", 0, UINT_MAX, &v), -1);
	assert_int_equal(parse_uint("4", 5, 10, &v), -1);
	assert_int_equal(v, 12345);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_defaults_pass_check),
	    cmocka_unit_test(test_uint_keys_set),
	    cmocka_unit_test(test_uint_keys_out_of_range),
	    cmocka_unit_test(test_uint_keys_malformed),
	    cmocka_unit_test(test_uint_message),
	    cmocka_unit_test(test_empty_value),
	    cmocka_unit_test(test_host),
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_command_bad_placeholder),
	    cmocka_unit_test(test_command_literal_braces),
	    cmocka_unit_test(test_launcher),
	    cmocka_unit_test(test_restart),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_flat_seed_keys),
	    cmocka_unit_test(test_parse_on_top),
	    cmocka_unit_test(test_hosts),
	    cmocka_unit_test(test_hosts_file_text),
	    cmocka_unit_test(test_hosts_file_load),
	    cmocka_unit_test(test_unknown_key),
	    cmocka_unit_test(test_key_in_wrong_section),
	    cmocka_unit_test(test_unknown_section),
	    cmocka_unit_test(test_unknown_empty_section),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_long_line_tail),
	    cmocka_unit_test(test_indented_keys),
	    cmocka_unit_test(test_comments),
	    cmocka_unit_test(test_line_endings),
	    cmocka_unit_test(test_port_overflow),
	    cmocka_unit_test(test_port_overflow_line_unrelated),
	    cmocka_unit_test(test_retry_order),
	    cmocka_unit_test(test_first_error_wins),
	    cmocka_unit_test(test_small_err_buffer),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_load_missing),
	    cmocka_unit_test(test_load_unreadable),
	    cmocka_unit_test(test_load_not_dir),
	    cmocka_unit_test(test_reload_needs_regular_nonempty_file),
	    cmocka_unit_test(test_load_nul_byte),
	    cmocka_unit_test(test_load_size_limit),
	    cmocka_unit_test(test_override),
	    cmocka_unit_test(test_override_errors),
	    cmocka_unit_test(test_override_then_check),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_handler),
	    cmocka_unit_test(test_watch),
	    cmocka_unit_test(test_parse_uint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
