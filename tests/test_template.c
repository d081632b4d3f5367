/* test_template.c - [node] command templates: words split as a shell
   splits them, no expansion, placeholders inside words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

static const struct template_vars vars = {"10.0.0.7", 8891, 3};
static struct template t;
static char store[512], *argv[TEMPLATE_MAX_WORDS + 1];

static int teardown(void **state)
{
	(void)state;
	template_free(&t);
	return 0;
}

/* Parse text (which must parse) and expand it; return the word count. */
static int expand(const char *text)
{
	char err[256];

	template_free(&t);
	assert_int_equal(template_parse(&t, text, err, sizeof(err)), 0);
	return template_expand(&t, &vars, store, sizeof(store), argv);
}

/* Return whether text is refused, with a message. */
static bool refused(const char *text)
{
	char err[256] = "";
	struct template u;

	if (template_parse(&u, text, err, sizeof(err)) == 0) {
		template_free(&u);
		return false;
	}
	return err[0] != '\0';
}

static void words_split_at_blanks_and_tabs(void **state)
{
	(void)state;
	assert_int_equal(expand("  ssh\t-n  host  "), 3);
	assert_string_equal(argv[0], "ssh");
	assert_string_equal(argv[1], "-n");
	assert_string_equal(argv[2], "host");
	assert_null(argv[3]);
}

static void quotes_and_backslash_keep_blanks(void **state)
{
	(void)state;
	assert_int_equal(expand("\"/tmp/my dir/node\" '/a b' c\\ d \"\""), 4);
	assert_string_equal(argv[0], "/tmp/my dir/node");
	assert_string_equal(argv[1], "/a b");
	assert_string_equal(argv[2], "c d");
	assert_string_equal(argv[3], "");
	assert_int_equal(expand("'it'\\''s' \"say \\\"hi\\\"\""), 2);
	assert_string_equal(argv[0], "it's");
	assert_string_equal(argv[1], "say \"hi\"");
}

static void nothing_is_expanded(void **state)
{
	(void)state;
	assert_int_equal(expand("echo $HOME * ~ `id` $(id) \"$USER\""), 7);
	assert_string_equal(argv[1], "$HOME");
	assert_string_equal(argv[2], "*");
	assert_string_equal(argv[3], "~");
	assert_string_equal(argv[4], "`id`");
	assert_string_equal(argv[5], "$(id)");
	assert_string_equal(argv[6], "$USER");
}

static void placeholders_are_replaced_inside_words(void **state)
{
	(void)state;
	assert_int_equal(expand("node --port={port} \"{host}:{index} x\" "
	                        "{index}{index} {nope} {port"),
	                 6);
	assert_string_equal(argv[1], "--port=8891");
	assert_string_equal(argv[2], "10.0.0.7:3 x");
	assert_string_equal(argv[3], "33");
	assert_string_equal(argv[4], "{nope}"); /* unknown: left as it is */
	assert_string_equal(argv[5], "{port");
	/* The shell's ${port} is the shell's. */
	assert_int_equal(expand("sh -c 'echo ${port} $${index}:{index}'"), 3);
	assert_string_equal(argv[2], "echo ${port} $${index}:3");
}

static void a_value_never_splits_a_word(void **state)
{
	const struct template_vars blank = {"a b", 1, 2};
	char err[64];

	(void)state;
	template_free(&t);
	assert_int_equal(template_parse(&t, "x {host}", err, sizeof(err)), 0);
	assert_int_equal(
	    template_expand(&t, &blank, store, sizeof(store), argv), 2);
	assert_string_equal(argv[1], "a b");
}

static void blank_template_has_no_words(void **state)
{
	(void)state;
	assert_int_equal(expand(" \t "), 0);
	assert_null(argv[0]);
}

static void bad_quoting_and_too_many_words_refused(void **state)
{
	char many[TEMPLATE_MAX_WORDS * 2 + 8] = "";

	(void)state;
	assert_true(refused("node \"unterminated"));
	assert_true(refused("node 'unterminated"));
	assert_true(refused("node trailing\\"));
	for (int i = 0; i < TEMPLATE_MAX_WORDS; i++)
		strcat(many, "a ");
	assert_false(refused(many));
	strcat(many, "b");
	assert_true(refused(many));
}

static void words_longer_than_the_store_refused(void **state)
{
	char small[12];

	(void)state;
	expand("{host} xy");
	/* "10.0.0.7" takes 9 bytes with its NUL; "xy" 3 more. */
	assert_int_equal(template_expand(&t, &vars, small, 12, argv), 2);
	assert_int_equal(template_expand(&t, &vars, small, 11, argv), -1);
	assert_int_equal(template_expand(&t, &vars, small, 8, argv), -1);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
	const struct CMUnitTest tests[] = {
	    T(words_split_at_blanks_and_tabs),
	    T(quotes_and_backslash_keep_blanks),
	    T(nothing_is_expanded),
	    T(placeholders_are_replaced_inside_words),
	    T(a_value_never_splits_a_word),
	    T(blank_template_has_no_words),
	    T(bad_quoting_and_too_many_words_refused),
	    T(words_longer_than_the_store_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
