/* test_template.c - [node] command templates: words and placeholders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

static const struct template_vars vars = {"10.0.0.7", 8891, 3};

static void words_split_at_blanks_and_tabs(void **state)
{
	char store[256], *argv[TEMPLATE_MAX_WORDS + 1];

	(void)state;
	assert_int_equal(template_expand("  ssh\t-n  host  ", &vars, store,
	                                 sizeof(store), argv),
	                 3);
	assert_string_equal(argv[0], "ssh");
	assert_string_equal(argv[1], "-n");
	assert_string_equal(argv[2], "host");
	assert_null(argv[3]);
}

static void placeholders_are_replaced_inside_words(void **state)
{
	char store[256], *argv[TEMPLATE_MAX_WORDS + 1];

	(void)state;
	assert_int_equal(template_expand("node --port={port} {host}:{index} "
	                                 "{index}{index} {nope} {port",
	                                 &vars, store, sizeof(store), argv),
	                 6);
	assert_string_equal(argv[1], "--port=8891");
	assert_string_equal(argv[2], "10.0.0.7:3");
	assert_string_equal(argv[3], "33");
	assert_string_equal(argv[4], "{nope}"); /* unknown: left as it is */
	assert_string_equal(argv[5], "{port");
}

static void blank_template_has_no_words(void **state)
{
	char store[16], *argv[TEMPLATE_MAX_WORDS + 1];

	(void)state;
	assert_int_equal(
	    template_expand(" \t ", &vars, store, sizeof(store), argv), 0);
	assert_null(argv[0]);
}

static void too_many_words_refused(void **state)
{
	char tmpl[TEMPLATE_MAX_WORDS * 2 + 8] = "", store[1024];
	char *argv[TEMPLATE_MAX_WORDS + 1];

	(void)state;
	for (int i = 0; i < TEMPLATE_MAX_WORDS; i++)
		strcat(tmpl, "a ");
	assert_int_equal(
	    template_expand(tmpl, &vars, store, sizeof(store), argv),
	    TEMPLATE_MAX_WORDS);
	strcat(tmpl, "b");
	assert_int_equal(
	    template_expand(tmpl, &vars, store, sizeof(store), argv), -1);
}

static void words_longer_than_the_store_refused(void **state)
{
	char store[12], *argv[TEMPLATE_MAX_WORDS + 1];

	(void)state;
	/* "10.0.0.7" takes 9 bytes with its NUL; "xy" 3 more, "xyz" 4. */
	assert_int_equal(template_expand("{host}", &vars, store, 9, argv), 1);
	assert_int_equal(template_expand("{host}", &vars, store, 8, argv), -1);
	assert_int_equal(
	    template_expand("{host} xy", &vars, store, sizeof(store), argv), 2);
	assert_int_equal(
	    template_expand("{host} xyz", &vars, store, sizeof(store), argv),
	    -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(words_split_at_blanks_and_tabs),
	    cmocka_unit_test(placeholders_are_replaced_inside_words),
	    cmocka_unit_test(blank_template_has_no_words),
	    cmocka_unit_test(too_many_words_refused),
	    cmocka_unit_test(words_longer_than_the_store_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
