/* test_buf.c - unit tests for the byte buffer (common/buf.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_empty(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_int_equal(buf_used(&b), 0);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(buf_used(&b), 0);
}

static void test_append_consume(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_int_equal(buf_used(&b), 5);
	assert_memory_equal(buf_head(&b), "hello", 5);
	assert_int_equal(buf_append(&b, " world", 6), 0);
	assert_int_equal(buf_used(&b), 11);
	assert_memory_equal(buf_head(&b), "hello world", 11);

	buf_consume(&b, 6);
	assert_int_equal(buf_used(&b), 5);
	assert_memory_equal(buf_head(&b), "world", 5);
	assert_int_equal(buf_append(&b, "!", 1), 0);
	assert_int_equal(buf_used(&b), 6);
	assert_memory_equal(buf_head(&b), "world!", 6);
	buf_consume(&b, 0);
	assert_int_equal(buf_used(&b), 6);
	assert_memory_equal(buf_head(&b), "world!", 6);
	buf_free(&b);
}

/* Consuming everything resets the offsets, so the space is reused. */
static void test_consume_to_empty_resets(void **state)
{
	struct buf b = {0};
	size_t cap;

	(void)state;
	assert_int_equal(buf_append(&b, "abcdef", 6), 0);
	cap = b.cap;
	buf_consume(&b, 2);
	buf_consume(&b, 4);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(buf_head(&b), b.data);
	assert_ptr_equal(buf_tail(&b), b.data);
	assert_int_equal(b.cap, cap);
	assert_int_equal(buf_append(&b, "xyz", 3), 0);
	assert_memory_equal(buf_head(&b), "xyz", 3);
	buf_free(&b);
}

static void test_reserve_commit(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(buf_reserve(&b, 100), 0);
	assert_true(b.cap - b.len >= 100);
	assert_int_equal(buf_used(&b), 0);
	memcpy(buf_tail(&b), "0123456789", 10);
	buf_commit(&b, 10);
	assert_int_equal(buf_used(&b), 10);
	assert_memory_equal(buf_head(&b), "0123456789", 10);

	/* Reserving keeps the unconsumed bytes. */
	buf_consume(&b, 3);
	assert_int_equal(buf_reserve(&b, b.cap), 0);
	assert_true(b.cap - b.len >= 100);
	assert_int_equal(buf_used(&b), 7);
	assert_memory_equal(buf_head(&b), "3456789", 7);

	/* Reserving what is already free changes nothing. */
	{
		struct buf before = b;

		assert_int_equal(buf_reserve(&b, 0), 0);
		assert_int_equal(buf_reserve(&b, b.cap - b.len), 0);
		assert_memory_equal(&b, &before, sizeof(b));
	}
	buf_free(&b);
}

/* A reserve that fits once the consumed prefix is reclaimed keeps the
   bytes in order. */
static void test_reserve_reclaims_prefix(void **state)
{
	struct buf b = {0};
	uint8_t chunk[1000], *data;
	size_t cap;

	(void)state;
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
	cap = b.cap;
	while (b.cap - b.len >= sizeof(chunk))
		assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.cap, cap);
	buf_consume(&b, buf_used(&b) - 10);
	data = b.data;
	assert_int_equal(buf_reserve(&b, cap - 10), 0);
	assert_true(b.cap - b.len >= cap - 10);
	/* Reclaimed in place: same allocation, same size. */
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	assert_int_equal(buf_used(&b), 10);
	assert_memory_equal(buf_head(&b), chunk + 990, 10);
	buf_free(&b);
}

/* Many megabytes in uneven pieces come out in order. */
static void test_large_growth(void **state)
{
	enum { TOTAL = 16 << 20 };
	struct buf b = {0};
	uint8_t *chunk = malloc(70000);
	size_t n = 0, step = 1;

	(void)state;
	assert_non_null(chunk);
	while (n < TOTAL) {
		size_t len = step % 70000;

		if (len > TOTAL - n)
			len = TOTAL - n;
		for (size_t i = 0; i < len; i++)
			chunk[i] = (uint8_t)((n + i) * 131 >> 3);
		assert_int_equal(buf_append(&b, chunk, len), 0);
		n += len;
		step = step * 3 + 7;
	}
	assert_int_equal(buf_used(&b), TOTAL);
	assert_true(b.cap >= TOTAL);
	assert_true(b.cap <= 2 * (size_t)TOTAL);
	for (size_t i = 0; i < TOTAL; i++)
		if (buf_head(&b)[i] != (uint8_t)(i * 131 >> 3))
			fail_msg("byte %zu wrong", i);
	buf_consume(&b, TOTAL - 1);
	assert_int_equal(buf_used(&b), 1);
	assert_int_equal(buf_head(&b)[0],
	                 (uint8_t)(((size_t)TOTAL - 1) * 131 >> 3));
	free(chunk);
	buf_free(&b);
}

/* A stream that never holds much does not grow the buffer: consumed space
   is reclaimed, so appends and consumes stay within one allocation. */
static void test_steady_stream(void **state)
{
	struct buf b = {0};
	uint8_t in[1500], expect = 0, next = 0;
	size_t cap;

	(void)state;
	assert_int_equal(buf_append(&b, "x", 1), 0);
	buf_consume(&b, 1);
	cap = b.cap;
	for (int i = 0; i < 20000; i++) {
		size_t n = 1 + (size_t)i * 7919 % sizeof(in), take;

		for (size_t k = 0; k < n; k++)
			in[k] = next++;
		assert_int_equal(buf_append(&b, in, n), 0);
		take = buf_used(&b) > 100 ? buf_used(&b) - 100 : 0;
		for (size_t k = 0; k < take; k++)
			if (buf_head(&b)[k] != expect++)
				fail_msg("round %d byte %zu wrong", i, k);
		buf_consume(&b, take);
	}
	assert_int_equal(b.cap, cap);
	buf_free(&b);
}

/* An impossible reservation fails with ENOMEM and changes nothing. */
static void test_reserve_too_much(void **state)
{
	struct buf b = {0}, before;

	(void)state;
	assert_int_equal(buf_append(&b, "keep", 4), 0);
	before = b;
	errno = 0;
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(errno, ENOMEM);
	assert_memory_equal(&b, &before, sizeof(b));
	errno = 0;
	assert_int_equal(buf_reserve(&b, SIZE_MAX - 2), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(buf_used(&b), 4);
	assert_memory_equal(buf_head(&b), "keep", 4);
	buf_free(&b);
}

static void test_free_reusable(void **state)
{
	struct buf b = {0};

	(void)state;
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_append(&b, "de", 2), 0);
	assert_int_equal(buf_used(&b), 2);
	assert_memory_equal(buf_head(&b), "de", 2);
	buf_free(&b);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_append_consume),
	    cmocka_unit_test(test_consume_to_empty_resets),
	    cmocka_unit_test(test_reserve_commit),
	    cmocka_unit_test(test_reserve_reclaims_prefix),
	    cmocka_unit_test(test_large_growth),
	    cmocka_unit_test(test_steady_stream),
	    cmocka_unit_test(test_reserve_too_much),
	    cmocka_unit_test(test_free_reusable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
