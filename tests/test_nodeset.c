/* test_nodeset.c - node sets folded and parsed, as clush writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nodeset.h"

#define LIMIT 16

static struct buf b;

static int teardown(void **state)
{
	(void)state;
	buf_free(&b);
	return 0;
}

/* Assert that b holds exactly want, then empty it. */
static void expect(const char *want)
{
	assert_int_equal(buf_used(&b), strlen(want));
	assert_memory_equal(buf_head(&b), want, strlen(want));
	buf_consume(&b, buf_used(&b));
}

static void fold(void **state)
{
	static const unsigned some[] = {0, 1, 2, 3, 4, 5, 7};
	static const unsigned pairs[] = {1, 2, 4, 6, 7, 9, 4000000000u};

	(void)state;
	nodeset_fold(&b, some, 7);
	expect("0-5,7");
	nodeset_fold(&b, some, 1);
	expect("0");
	nodeset_fold(&b, some, 0);
	expect("");
	nodeset_fold(&b, pairs, 7);
	expect("1-2,4,6-7,9,4000000000");
	nodeset_fold(&b, some + 6, 1);
	expect("7");
}

static void format(void **state)
{
	static const unsigned some[] = {0, 1, 2, 3, 4, 5, 7};
	static const unsigned six = 6;

	(void)state;
	nodeset_format(&b, some, 7);
	expect("node[0-5,7]");
	nodeset_format(&b, &six, 1);
	expect("node6");
	nodeset_format(&b, some, 2);
	expect("node[0-1]");
}

/* Parse text and assert it names exactly the nodes of want (ascending,
   ending with -1). */
static void parses(const char *text, const int *want)
{
	uint8_t member[LIMIT];
	char err[128] = "";
	int n = 0, rc;

	rc = nodeset_parse(text, strlen(text), LIMIT, member, err, sizeof(err));
	if (rc < 0)
		fail_msg("\"%s\": %s", text, err);
	for (unsigned i = 0; i < LIMIT; i++) {
		if (!member[i])
			continue;
		if (want[n] != (int)i)
			fail_msg("\"%s\": node %u not wanted", text, i);
		n++;
	}
	assert_int_equal(want[n], -1);
	assert_int_equal(rc, n);
}

static void parse_good(void **state)
{
	(void)state;
	parses("3", (const int[]){3, -1});
	parses("0", (const int[]){0, -1});
	parses("15", (const int[]){15, -1});
	parses("0-3,7", (const int[]){0, 1, 2, 3, 7, -1});
	parses("7,0-3", (const int[]){0, 1, 2, 3, 7, -1});
	parses("2-2", (const int[]){2, -1});
	parses("0-5,3-8", (const int[]){0, 1, 2, 3, 4, 5, 6, 7, 8, -1});
	parses("4,4", (const int[]){4, -1});
	parses("0-15", (const int[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	                             13, 14, 15, -1});
	parses("node3", (const int[]){3, -1});
	parses("node[0-3,7]", (const int[]){0, 1, 2, 3, 7, -1});
	parses("node[5]", (const int[]){5, -1});
	parses("007", (const int[]){7, -1}); /* as parse_uint reads it */
}

/* Parse text, assert it fails, and that the error is want. */
static void refuses(const char *text, size_t len, unsigned limit,
                    const char *want)
{
	uint8_t member[LIMIT];
	char err[128] = "";

	assert_int_equal(
	    nodeset_parse(text, len, limit, member, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void parse_bad(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"", "empty node set"},
	    {"3-1", "range 3-1 is not ascending"},
	    {"a", "expected a node index, found 'a'"},
	    {"16", "no node 16: the last is node 15"},
	    {"0-16", "no node 16: the last is node 15"},
	    {"0-3,", "expected a node index, found the end"},
	    {",3", "expected a node index, found ','"},
	    {"3,,4", "expected a node index, found ','"},
	    {"99999999999999999999999",
	     "no node 99999999999999999999999: the last is node 15"},
	    {"4294967296", "no node 4294967296: the last is node 15"},
	    {"3-", "expected a node index, found the end"},
	    {"-3", "expected a node index, found '-'"},
	    {"3x", "expected ',', found 'x'"},
	    {"3 ", "expected ',', found byte 0x20"},
	    {" 3", "expected a node index, found byte 0x20"},
	    {"3\n", "expected ',', found byte 0x0a"},
	    {"+3", "expected a node index, found '+'"},
	    {"1-2-3", "expected ',', found '-'"},
	    {"node", "expected a node index, found the end"},
	    {"node[]", "expected a node index, found ']'"},
	    {"node[0-3", "expected ',' or ']', found the end"},
	    {"node[0-3,]", "expected a node index, found ']'"},
	    {"node[3]x", "expected the end, found 'x'"},
	    {"node3-5", "expected the end, found '-'"},
	    {"node3,5", "expected the end, found ','"},
	    {"node[16]", "no node 16: the last is node 15"},
	    {"[3]", "expected a node index, found '['"},
	    {"nod3", "expected a node index, found 'n'"},
	    {"NODE3", "expected a node index, found 'N'"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refuses(cases[i].text, strlen(cases[i].text), LIMIT,
		        cases[i].err);
	refuses("0", 1, 0, "no node 0: there are no nodes");
	refuses("3\0"
	        "4",
	        3, LIMIT, "expected ',', found byte 0x00");
}

/* Only len bytes are read: the text need not end in NUL. */
static void parse_reads_len_bytes(void **state)
{
	uint8_t member[LIMIT];
	char err[64];

	(void)state;
	assert_int_equal(
	    nodeset_parse("0-3,7xyz", 5, LIMIT, member, err, sizeof(err)), 5);
	assert_int_equal(
	    nodeset_parse("node12", 5, LIMIT, member, err, sizeof(err)), 1);
	assert_true(member[1]);
	assert_false(member[12]);
}

/* A short error buffer gets a cut, terminated message. */
static void short_error_buffer(void **state)
{
	uint8_t member[LIMIT];
	char err[8];

	(void)state;
	assert_int_equal(
	    nodeset_parse("3-1", 3, LIMIT, member, err, sizeof(err)), -1);
	assert_string_equal(err, "range 3");
}

/* What nodeset_format() writes parses back to the same nodes. */
static void format_parses_back(void **state)
{
	static const unsigned idx[] = {0, 2, 3, 4, 9, 10, 15};
	uint8_t member[LIMIT];
	char err[64];

	(void)state;
	for (unsigned n = 1; n <= 7; n++) {
		nodeset_format(&b, idx, n);
		assert_int_equal(nodeset_parse((const char *)buf_head(&b),
		                               buf_used(&b), LIMIT, member, err,
		                               sizeof(err)),
		                 (int)n);
		for (unsigned i = 0; i < n; i++)
			assert_true(member[idx[i]]);
		buf_consume(&b, buf_used(&b));
	}
}

int main(void)
{
#define T(t) cmocka_unit_test_teardown(t, teardown)
	const struct CMUnitTest tests[] = {
	    T(fold),
	    T(format),
	    T(parse_good),
	    T(parse_bad),
	    T(parse_reads_len_bytes),
	    T(short_error_buffer),
	    T(format_parses_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
