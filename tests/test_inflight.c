/* test_inflight.c - ack matching and broadcast completion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "inflight.h"

#define MS 1000000ull

static struct inflight f;

static int setup(void **state)
{
	(void)state;
	return inflight_init(&f, 4);
}

static int teardown(void **state)
{
	(void)state;
	inflight_free(&f);
	return 0;
}

/* Begin a broadcast of 5 bytes (crc 7) to nodes 0..n-1 at time t. */
static struct bcast *begin(unsigned n, uint64_t t)
{
	struct bcast *b = inflight_begin(&f, 5, 7, t, 100 * MS, 0, n);

	assert_non_null(b);
	for (unsigned i = 0; i < n; i++)
		inflight_expect(b, i);
	return b;
}

static void all_acked_completes(void **state)
{
	uint64_t rtt = 0;
	struct bcast *b = begin(3, 0);

	(void)state;
	assert_int_equal(b->seq, 1);
	assert_null(inflight_done(&f, 1));
	assert_int_equal(inflight_ack(&f, 1, 2, 5, 7, 3 * MS, &rtt), ACK_OK);
	assert_int_equal(rtt, 3 * MS);
	assert_int_equal(inflight_ack(&f, 1, 0, 5, 7, 4 * MS, &rtt), ACK_OK);
	assert_null(inflight_done(&f, 4 * MS));
	assert_int_equal(inflight_ack(&f, 1, 1, 5, 7, 9 * MS, &rtt), ACK_OK);
	b = inflight_done(&f, 9 * MS);
	assert_non_null(b);
	assert_int_equal(b->acked, 3);
	assert_int_equal(b->slowest, 1);
	assert_int_equal(b->last_ack_ns - b->sent_ns, 9 * MS);
	inflight_pop(&f);
	assert_int_equal(inflight_count(&f), 0);
}

static void deadline_reports_missing(void **state)
{
	uint64_t rtt;

	(void)state;
	begin(2, 0);
	assert_int_equal(inflight_ack(&f, 1, 0, 5, 7, MS, &rtt), ACK_OK);
	assert_null(inflight_done(&f, 99 * MS));
	struct bcast *b = inflight_done(&f, 100 * MS);
	assert_non_null(b);
	assert_int_equal(b->acked, 1);
	assert_int_equal(b->slot[1], SLOT_PENDING);
	inflight_pop(&f);
	/* The straggler's ack arrives after the report: late, not credited. */
	assert_int_equal(inflight_ack(&f, 1, 1, 5, 7, 200 * MS, &rtt),
	                 ACK_LATE);
}

static void late_ack_not_credited_to_next(void **state)
{
	uint64_t rtt;

	(void)state;
	begin(2, 0);
	assert_non_null(inflight_done(&f, 100 * MS));
	inflight_pop(&f);
	struct bcast *b2 = begin(2, 100 * MS);
	assert_int_equal(inflight_ack(&f, 1, 1, 5, 7, 101 * MS, &rtt),
	                 ACK_LATE);
	assert_int_equal(b2->acked, 0);
	assert_int_equal(b2->pending, 2);
}

static void corrupt_length_or_checksum(void **state)
{
	uint64_t rtt;

	(void)state;
	struct bcast *b = begin(2, 0);
	assert_int_equal(inflight_ack(&f, 1, 0, 4, 7, MS, &rtt), ACK_CORRUPT);
	assert_int_equal(inflight_ack(&f, 1, 1, 5, 8, MS, &rtt), ACK_CORRUPT);
	assert_int_equal(b->acked, 0);
	assert_int_equal(b->slot[0], SLOT_CORRUPT);
	assert_non_null(inflight_done(&f, MS)); /* nothing pending */
}

static void unknown_and_duplicate(void **state)
{
	uint64_t rtt;
	struct bcast *b = inflight_begin(&f, 5, 7, 0, 100 * MS, 0, 3);

	(void)state;
	inflight_expect(b, 0);
	assert_int_equal(inflight_ack(&f, 2, 0, 5, 7, MS, &rtt), ACK_UNKNOWN);
	assert_int_equal(inflight_ack(&f, 0, 0, 5, 7, MS, &rtt), ACK_UNKNOWN);
	assert_int_equal(inflight_ack(&f, 1, 1, 5, 7, MS, &rtt), ACK_UNKNOWN);
	assert_int_equal(inflight_ack(&f, 1, 9, 5, 7, MS, &rtt), ACK_UNKNOWN);
	assert_int_equal(inflight_ack(&f, 1, 0, 5, 7, MS, &rtt), ACK_OK);
	assert_int_equal(inflight_ack(&f, 1, 0, 5, 7, MS, &rtt), ACK_DUPLICATE);
}

static void lost_node_completes_broadcasts(void **state)
{
	uint64_t rtt;

	(void)state;
	begin(2, 0);
	begin(2, MS);
	assert_int_equal(inflight_ack(&f, 1, 0, 5, 7, MS, &rtt), ACK_OK);
	assert_int_equal(inflight_ack(&f, 2, 0, 5, 7, MS, &rtt), ACK_OK);
	inflight_node_lost(&f, 1);
	struct bcast *b = inflight_done(&f, 2 * MS);
	assert_non_null(b);
	assert_int_equal(b->slot[1], SLOT_LOST);
	inflight_pop(&f);
	assert_non_null(inflight_done(&f, 2 * MS));
	assert_int_equal(inflight_ack(&f, 2, 1, 5, 7, MS, &rtt), ACK_LATE);
}

static void missed_node_counts_as_expected(void **state)
{
	uint64_t rtt;
	struct bcast *b = inflight_begin(&f, 5, 7, 0, 100 * MS, 0, 2);

	(void)state;
	inflight_expect(b, 0);
	inflight_miss(b, 1);
	inflight_miss(b, 0); /* already expected: no change */
	assert_int_equal(b->expected, 2);
	assert_int_equal(b->pending, 1);
	assert_int_equal(b->slot[1], SLOT_LOST);
	assert_int_equal(inflight_ack(&f, 1, 0, 5, 7, MS, &rtt), ACK_OK);
	b = inflight_done(&f, MS);
	assert_non_null(b);
	assert_int_equal(b->acked, 1);
	assert_int_equal(b->expected, 2);
}

static void ring_fills_and_wraps(void **state)
{
	uint64_t rtt;

	(void)state;
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 4; i++)
			begin(1, 0);
		assert_true(inflight_full(&f));
		assert_int_equal(inflight_next_deadline(&f), 100 * MS);
		for (unsigned i = 0; i < 4; i++) {
			uint64_t seq = f.head_seq;
			assert_int_equal(
			    inflight_ack(&f, seq, 0, 5, 7, MS, &rtt), ACK_OK);
			assert_int_equal(inflight_done(&f, MS)->seq, seq);
			inflight_pop(&f);
		}
	}
	assert_int_equal(f.next_seq, 13);
	assert_int_equal(inflight_next_deadline(&f), UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(all_acked_completes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(deadline_reports_missing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(late_ack_not_credited_to_next,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(corrupt_length_or_checksum, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(unknown_and_duplicate, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(lost_node_completes_broadcasts,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(missed_node_counts_as_expected,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(ring_fills_and_wraps, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
