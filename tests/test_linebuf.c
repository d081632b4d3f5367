/* test_linebuf.c - input line framing: whole lines, over-long lines,
   NUL bytes, a last line with no newline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "linebuf.h"

static struct linebuf lb;

static int setup(void **state)
{
	(void)state;
	memset(&lb, 0, sizeof(lb));
	lb.max = 8;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	linebuf_free(&lb);
	return 0;
}

/* Feed len bytes of s, as one read would. */
static void feed(const char *s, size_t len)
{
	uint8_t *room = linebuf_room(&lb, len);

	assert_non_null(room);
	memcpy(room, s, len);
	linebuf_commit(&lb, len);
}

/* Expect the next line to be want (wantlen bytes). */
static void expect_line(const char *want, size_t wantlen)
{
	const uint8_t *line;
	size_t len;

	assert_int_equal(linebuf_next(&lb, &line, &len), LINE_OK);
	assert_int_equal(len, wantlen);
	assert_memory_equal(line, want, wantlen);
}

static void expect(enum line_result want)
{
	const uint8_t *line;
	size_t len;

	assert_int_equal(linebuf_next(&lb, &line, &len), want);
}

static void whole_lines_in_order(void **state)
{
	(void)state;
	feed("one\n\ntwo\nthr", 12);
	expect_line("one", 3);
	expect_line("", 0); /* empty: the console ignores it */
	expect_line("two", 3);
	expect(LINE_NONE); /* "thr" waits for its newline */
	assert_true(linebuf_pending(&lb));
	feed("ee\n", 3);
	expect_line("three", 5);
	expect(LINE_NONE);
	assert_false(linebuf_pending(&lb));
}

static void nul_bytes_are_part_of_a_line(void **state)
{
	(void)state;
	feed("a\0b\n\0\n", 6);
	expect_line("a\0b", 3);
	expect_line("\0", 1);
}

static void last_line_without_newline_counts_at_eof(void **state)
{
	(void)state;
	feed("end", 3);
	expect(LINE_NONE);
	lb.eof = true;
	expect_line("end", 3);
	expect(LINE_NONE);
}

static void long_line_refused_once_as_soon_as_known(void **state)
{
	(void)state;
	lb.max = 4;
	feed("abcd", 4);
	expect(LINE_NONE); /* exactly the limit: still may end here */
	feed("e", 1);
	expect(LINE_TOO_LONG);              /* known now, before its newline */
	assert_false(linebuf_pending(&lb)); /* not held */
	feed("fghij", 5);
	expect(LINE_NONE); /* its rest is dropped silently */
	assert_false(linebuf_pending(&lb));
	feed("k\nok\n", 5);
	expect_line("ok", 2); /* the next line goes on */
	expect(LINE_NONE);
}

static void long_whole_line_refused(void **state)
{
	(void)state;
	lb.max = 4;
	feed("abcd\nabcde\nxy\n", 14);
	expect_line("abcd", 4);
	expect(LINE_TOO_LONG);
	expect_line("xy", 2);
}

static void long_last_line_at_eof_refused(void **state)
{
	(void)state;
	lb.max = 4;
	feed("abcdef", 6);
	lb.eof = true;
	expect(LINE_TOO_LONG);
	expect(LINE_NONE);
}

static void tail_of_refused_line_at_eof_dropped(void **state)
{
	(void)state;
	lb.max = 2;
	feed("abc", 3);
	expect(LINE_TOO_LONG);
	feed("def", 3);
	lb.eof = true;
	expect(LINE_NONE);
	assert_false(linebuf_pending(&lb));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(whole_lines_in_order),
	    T(nul_bytes_are_part_of_a_line),
	    T(last_line_without_newline_counts_at_eof),
	    T(long_line_refused_once_as_soon_as_known),
	    T(long_whole_line_refused),
	    T(long_last_line_at_eof_refused),
	    T(tail_of_refused_line_at_eof_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
