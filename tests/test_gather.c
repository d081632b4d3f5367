/* test_gather.c - identical replies fold into one group, others do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gather.h"

static struct gather g;

static int teardown(void **state)
{
	(void)state;
	gather_free(&g);
	return 0;
}

/* A reply that exited with code, output text (len bytes). */
static struct proto_reply reply(uint16_t code, const char *text, size_t len)
{
	return (struct proto_reply){.how = REPLY_EXITED,
	                            .code = code,
	                            .output = (const uint8_t *)text,
	                            .len = (uint32_t)len};
}

static void add(unsigned node, struct proto_reply r)
{
	assert_int_equal(gather_add(&g, node, &r), 0);
}

/* Assert that group i has output want (wlen bytes) and nodes, ending in
   -1. */
static void group_is(unsigned i, const char *want, size_t wlen,
                     const int *nodes)
{
	const struct reply_group *gr = &g.groups[i];
	unsigned n = 0;

	assert_true(i < g.ngroups);
	assert_int_equal(gr->len, wlen);
	if (wlen)
		assert_memory_equal(gr->output, want, wlen);
	else
		assert_null(gr->output);
	for (; nodes[n] >= 0; n++)
		assert_int_equal(gr->nodes[n], nodes[n]);
	assert_int_equal(gr->nnodes, n);
}

static void identical_fold_into_one(void **state)
{
	char text[] = "same\n";

	(void)state;
	for (unsigned i = 0; i < 8; i++)
		add(i, reply(0, text, 5));
	assert_int_equal(g.ngroups, 1);
	text[0] = 'X'; /* the output was copied, not referenced */
	gather_sort(&g);
	group_is(0, "same\n", 5, (const int[]){0, 1, 2, 3, 4, 5, 6, 7, -1});
	assert_true(gather_all_clean(&g));
}

static void one_byte_differs(void **state)
{
	(void)state;
	add(0, reply(0, "abc", 3));
	add(1, reply(0, "abd", 3));
	add(2, reply(0, "ab", 2));
	add(3, reply(0, "abc", 3));
	add(4, reply(0, "abcd", 4));
	assert_int_equal(g.ngroups, 4);
	gather_sort(&g);
	group_is(0, "abc", 3, (const int[]){0, 3, -1});
	group_is(1, "abd", 3, (const int[]){1, -1});
	group_is(2, "ab", 2, (const int[]){2, -1});
	group_is(3, "abcd", 4, (const int[]){4, -1});
}

/* Same output, different ending: a group each. */
static void same_output_different_ending(void **state)
{
	struct proto_reply base = reply(0, "out\n", 4), r;

	(void)state;
	add(0, base);
	r = base;
	r.code = 1;
	add(1, r);
	r = base;
	r.how = REPLY_SIGNALED;
	add(2, r);
	r.how = REPLY_TIMED_OUT;
	add(3, r);
	r = base;
	r.flags = REPLY_F_RESTARTED;
	add(4, r);
	r = base;
	r.dropped = 10;
	add(5, r);
	add(6, base);
	assert_int_equal(g.ngroups, 6);
	gather_sort(&g);
	group_is(0, "out\n", 4, (const int[]){0, 6, -1});
	assert_int_equal(g.groups[1].code, 1);
	assert_int_equal(g.groups[2].how, REPLY_SIGNALED);
	assert_int_equal(g.groups[3].how, REPLY_TIMED_OUT);
	assert_int_equal(g.groups[4].flags, REPLY_F_RESTARTED);
	assert_int_equal(g.groups[5].dropped, 10);
	assert_false(gather_all_clean(&g));
}

/* Two outputs with the same CRC-32 are told apart by their bytes. */
static void hash_collision_compares_bytes(void **state)
{
	/* A well-known pair: both have CRC-32 0x4ddb0c25. */
	static const char a[] = "plumless", b2[] = "buckeroo";

	(void)state;
	assert_int_equal(proto_checksum((const uint8_t *)a, 8),
	                 proto_checksum((const uint8_t *)b2, 8));
	add(0, reply(0, a, 8));
	add(1, reply(0, b2, 8));
	add(2, reply(0, a, 8));
	assert_int_equal(g.ngroups, 2);
	gather_sort(&g);
	group_is(0, a, 8, (const int[]){0, 2, -1});
	group_is(1, b2, 8, (const int[]){1, -1});
}

/* Whatever order replies arrive in, the sorted groups are the same. */
static void order_independent_of_arrival(void **state)
{
	static const unsigned orders[][6] = {
	    {0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {3, 0, 5, 1, 4, 2}};
	static const char *const outs[] = {"b", "a", "b", "c", "a", "b"};

	(void)state;
	for (unsigned o = 0; o < 3; o++) {
		for (unsigned i = 0; i < 6; i++) {
			unsigned node = orders[o][i];

			add(node, reply(0, outs[node], 1));
		}
		gather_sort(&g);
		assert_int_equal(g.ngroups, 3);
		group_is(0, "b", 1, (const int[]){0, 2, 5, -1});
		group_is(1, "a", 1, (const int[]){1, 4, -1});
		group_is(2, "c", 1, (const int[]){3, -1});
		gather_clear(&g);
	}
}

/* A thousand distinct outputs, and a thousand identical ones again. */
static void many_nodes(void **state)
{
	char text[32];

	(void)state;
	for (unsigned i = 0; i < 1000; i++) {
		int n = snprintf(text, sizeof(text), "node %u here\n", 999 - i);

		add(999 - i, reply(0, text, (size_t)n));
	}
	assert_int_equal(g.ngroups, 1000);
	gather_sort(&g);
	for (unsigned i = 0; i < 1000; i++) {
		int n = snprintf(text, sizeof(text), "node %u here\n", i);

		group_is(i, text, (size_t)n, (const int[]){(int)i, -1});
	}
	gather_clear(&g);
	for (unsigned i = 0; i < 1000; i++)
		add(i, reply(0, "ok\n", 3));
	assert_int_equal(g.ngroups, 1);
	assert_int_equal(g.groups[0].nnodes, 1000);
}

static void empty_outputs(void **state)
{
	(void)state;
	add(2, reply(0, NULL, 0));
	add(1, reply(0, "", 0));
	add(0, reply(3, NULL, 0));
	assert_int_equal(g.ngroups, 2);
	gather_sort(&g);
	group_is(0, NULL, 0, (const int[]){0, -1});
	assert_int_equal(g.groups[0].code, 3);
	group_is(1, NULL, 0, (const int[]){1, 2, -1});
	assert_false(gather_all_clean(&g));
}

static void nul_bytes_in_output(void **state)
{
	(void)state;
	add(0, reply(0, "a\0b", 3));
	add(1, reply(0, "a\0c", 3));
	add(2, reply(0, "a\0b", 3));
	add(3, reply(0, "a", 1));
	assert_int_equal(g.ngroups, 3);
	gather_sort(&g);
	group_is(0, "a\0b", 3, (const int[]){0, 2, -1});
	group_is(1, "a\0c", 3, (const int[]){1, -1});
	group_is(2, "a", 1, (const int[]){3, -1});
}

static void all_clean(void **state)
{
	struct proto_reply r = reply(0, "x", 1);

	(void)state;
	assert_true(gather_all_clean(&g)); /* nothing gathered */
	r.dropped = 100;                   /* cut, but clean */
	add(0, r);
	assert_true(gather_all_clean(&g));
	r.flags = REPLY_F_RESTARTED; /* a fresh co-process, and success */
	add(1, r);
	assert_true(gather_all_clean(&g));
	r.code = 1;
	add(2, r);
	assert_false(gather_all_clean(&g));
	unsigned bad[3];
	assert_int_equal(gather_unclean(&g, bad), 1);
	assert_int_equal(bad[0], 2);
	gather_clear(&g);
	r = reply(9, NULL, 0);
	r.how = REPLY_SIGNALED;
	add(0, r);
	assert_false(gather_all_clean(&g));
	gather_clear(&g);
	r.how = REPLY_TIMED_OUT;
	r.code = 0; /* whatever its code, a time-out is not clean */
	add(0, r);
	assert_false(gather_all_clean(&g));
}

/* Clearing frees the outputs and keeps the arrays for reuse. */
static void clear_keeps_capacity(void **state)
{
	struct reply_group *groups;
	unsigned cap;

	(void)state;
	for (unsigned i = 0; i < 20; i++)
		add(i, reply(0, i % 2 ? "odd" : "even", i % 2 ? 3 : 4));
	groups = g.groups;
	cap = g.group_cap;
	gather_clear(&g);
	assert_int_equal(g.ngroups, 0);
	assert_ptr_equal(g.groups, groups);
	assert_int_equal(g.group_cap, cap);
	assert_null(g.groups[0].output);
	assert_true(g.groups[0].node_cap >= 10);
	add(7, reply(0, "again", 5));
	assert_int_equal(g.ngroups, 1);
	group_is(0, "again", 5, (const int[]){7, -1});
	gather_clear(&g);
	gather_clear(&g); /* twice is harmless */
}

int main(void)
{
#define T(t) cmocka_unit_test_teardown(t, teardown)
	const struct CMUnitTest tests[] = {
	    T(identical_fold_into_one),
	    T(one_byte_differs),
	    T(same_output_different_ending),
	    T(hash_collision_compares_bytes),
	    T(order_independent_of_arrival),
	    T(many_nodes),
	    T(empty_outputs),
	    T(nul_bytes_in_output),
	    T(all_clean),
	    T(clear_keeps_capacity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
