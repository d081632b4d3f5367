/* test_inflight.c - ack and reply matching, broadcast completion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "inflight.h"

#define MS 1000000ull

static struct inflight f;

/* Linked with --wrap=malloc,realloc: allocations fail while this is set. */
static bool out_of_memory;

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
	return out_of_memory ? NULL : __real_malloc(n);
}

void *__wrap_realloc(void *p, size_t n)
{
	return out_of_memory ? NULL : __real_realloc(p, n);
}

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

/* Begin a broadcast to nodes 0..n-1 at time t that wants replies for
   50 ms after its last ack (acks due within 100 ms). */
static struct bcast *begin_replies(unsigned n, uint64_t t)
{
	struct bcast *b = inflight_begin(&f, 5, 7, t, 100 * MS, 50 * MS, n);

	assert_non_null(b);
	for (unsigned i = 0; i < n; i++)
		inflight_expect(b, i);
	return b;
}

static void ack(uint64_t seq, unsigned node, uint64_t t)
{
	uint64_t rtt;

	assert_int_equal(inflight_ack(&f, seq, node, 5, 7, t, &rtt), ACK_OK);
}

/* node's reply to seq: exit code, output text. */
static enum reply_result reply(uint64_t seq, unsigned node, uint16_t code,
                               const char *text, uint64_t t)
{
	struct proto_reply r = {.seq = seq,
	                        .index = node,
	                        .code = code,
	                        .output = (const uint8_t *)text,
	                        .len = (uint32_t)strlen(text)};

	return inflight_reply(&f, node, &r, t);
}

/* With no reply window, an ack is the whole answer: nothing awaited. */
static void no_window_awaits_nothing(void **state)
{
	struct bcast *b = begin(2, 0);

	(void)state;
	ack(1, 0, MS);
	ack(1, 1, 2 * MS);
	assert_int_equal(b->awaiting, 0);
	assert_int_equal(b->slot[0], SLOT_ACKED);
	assert_ptr_equal(inflight_done(&f, 2 * MS), b);
	/* A reply nobody asked for is not gathered. */
	assert_int_equal(reply(1, 0, 0, "x", 3 * MS), REPLY_UNKNOWN);
	assert_int_equal(b->replied, 0);
	assert_int_equal(b->replies.ngroups, 0);
}

static void replies_complete_a_broadcast(void **state)
{
	struct bcast *b = begin_replies(3, 0);

	(void)state;
	ack(1, 0, MS);
	ack(1, 1, 2 * MS);
	ack(1, 2, 3 * MS);
	assert_int_equal(b->awaiting, 3);
	assert_int_equal(b->pending, 0);
	assert_null(inflight_done(&f, 3 * MS)); /* replies still owed */
	assert_int_equal(inflight_next_deadline(&f), 53 * MS);
	assert_int_equal(reply(1, 2, 0, "ok\n", 5 * MS), REPLY_OK);
	assert_int_equal(reply(1, 0, 0, "ok\n", 6 * MS), REPLY_OK);
	assert_int_equal(b->slot[0], SLOT_REPLIED);
	assert_int_equal(b->replied, 2);
	assert_int_equal(b->awaiting, 1);
	assert_null(inflight_done(&f, 6 * MS));
	assert_int_equal(reply(1, 1, 0, "ok\n", 9 * MS), REPLY_OK);
	assert_ptr_equal(inflight_done(&f, 9 * MS), b);
	assert_int_equal(b->replied, 3);
	assert_int_equal(b->awaiting, 0);
	assert_int_equal(b->acked, 3);
	assert_int_equal(b->slowest, 1);
	assert_int_equal(b->last_reply_ns, 9 * MS);
	assert_int_equal(b->last_ack_ns, 3 * MS);
	assert_int_equal(b->replies.ngroups, 1);
	assert_int_equal(b->replies.groups[0].nnodes, 3);
	inflight_pop(&f);
	/* Once reported, a reply is late. */
	assert_int_equal(reply(1, 1, 0, "ok\n", 10 * MS), REPLY_LATE);
}

/* Replies owed past the window: the broadcast is done, the node named. */
static void reply_window_runs_out(void **state)
{
	struct bcast *b = begin_replies(2, 0);

	(void)state;
	ack(1, 0, MS);
	ack(1, 1, 4 * MS);
	assert_int_equal(reply(1, 0, 0, "", 5 * MS), REPLY_OK);
	assert_null(inflight_done(&f, 53 * MS));
	assert_int_equal(inflight_next_deadline(&f), 54 * MS);
	assert_ptr_equal(inflight_done(&f, 54 * MS), b);
	assert_int_equal(b->slot[1], SLOT_ACKED); /* still owed */
	assert_int_equal(b->awaiting, 1);
	assert_int_equal(b->slowest, 0);
}

/* An ack past the ack deadline, while replies are still awaited, is
   late: the node is missing, and the wait for replies is not stretched
   by it (a node stopped and resumed delays nobody, SPEC §5). */
static void ack_past_deadline_is_late(void **state)
{
	struct bcast *b = begin_replies(2, 0);
	uint64_t rtt;

	(void)state;
	ack(1, 0, 90 * MS);
	assert_int_equal(inflight_ack(&f, 1, 1, 5, 7, 101 * MS, &rtt),
	                 ACK_LATE);
	assert_int_equal(b->slot[1], SLOT_LOST);
	assert_int_equal(b->acked, 1);
	assert_int_equal(b->pending, 0);
	assert_int_equal(b->last_ack_ns, 90 * MS);
	assert_int_equal(inflight_next_deadline(&f), 140 * MS);
}

/* The reply output kept in flight is counted, and given back at pop. */
static void gathered_bytes_counted(void **state)
{
	(void)state;
	begin_replies(2, 0);
	begin_replies(1, 0);
	ack(1, 0, MS);
	ack(1, 1, MS);
	ack(2, 0, MS);
	assert_int_equal(reply(1, 0, 0, "abcd", 2 * MS), REPLY_OK);
	assert_int_equal(reply(1, 1, 0, "abcd", 2 * MS),
	                 REPLY_OK); /* kept once */
	assert_int_equal(reply(2, 0, 0, "xy", 2 * MS), REPLY_OK);
	assert_int_equal(f.gathered, 6);
	inflight_pop(&f);
	assert_int_equal(f.gathered, 2);
	inflight_pop(&f);
	assert_int_equal(f.gathered, 0);
}

/* Acks missing and replies owed: done once both deadlines passed. */
static void ack_and_reply_deadlines(void **state)
{
	(void)state;
	begin_replies(2, 0);
	ack(1, 0, 80 * MS);
	/* The ack deadline (100 ms) passes first, the window at 130 ms. */
	assert_int_equal(inflight_next_deadline(&f), 130 * MS);
	assert_null(inflight_done(&f, 100 * MS));
	assert_null(inflight_done(&f, 129 * MS));
	assert_non_null(inflight_done(&f, 130 * MS));
	inflight_pop(&f);

	/* The window ends first: the ack deadline is what is left. */
	begin_replies(2, 200 * MS);
	ack(2, 0, 201 * MS);
	assert_int_equal(inflight_next_deadline(&f), 300 * MS);
	assert_null(inflight_done(&f, 251 * MS));
	assert_int_equal(reply(2, 0, 0, "", 260 * MS), REPLY_OK);
	assert_int_equal(inflight_next_deadline(&f), 300 * MS);
	assert_null(inflight_done(&f, 299 * MS));
	assert_non_null(inflight_done(&f, 300 * MS));
	inflight_pop(&f);

	/* All acked, none replied: the window alone decides. */
	begin_replies(1, 400 * MS);
	ack(3, 0, 401 * MS);
	assert_int_equal(inflight_next_deadline(&f), 451 * MS);
	assert_null(inflight_done(&f, 450 * MS));
	assert_non_null(inflight_done(&f, 451 * MS));
}

static void reply_unknown_duplicate_ignored(void **state)
{
	uint64_t rtt;
	struct bcast *b = inflight_begin(&f, 5, 7, 0, 100 * MS, 50 * MS, 4);

	(void)state;
	for (unsigned i = 0; i < 3; i++)
		inflight_expect(b, i);
	inflight_miss(b, 3); /* down when it was sent */
	assert_int_equal(reply(1, 0, 0, "", MS), REPLY_UNKNOWN); /* no ack */
	assert_int_equal(reply(2, 0, 0, "", MS), REPLY_UNKNOWN); /* unsent */
	assert_int_equal(reply(0, 0, 0, "", MS), REPLY_UNKNOWN);
	assert_int_equal(reply(1, 9, 0, "", MS), REPLY_UNKNOWN); /* no node */
	ack(1, 0, MS);
	assert_int_equal(reply(1, 0, 0, "a", 2 * MS), REPLY_OK);
	assert_int_equal(reply(1, 0, 0, "a", 3 * MS), REPLY_DUPLICATE);
	assert_int_equal(inflight_ack(&f, 1, 1, 4, 7, MS, &rtt), ACK_CORRUPT);
	assert_int_equal(reply(1, 1, 0, "a", 3 * MS), REPLY_IGNORED);
	assert_int_equal(reply(1, 3, 0, "a", 3 * MS), REPLY_LATE); /* lost */
	assert_int_equal(b->replied, 1);
	assert_int_equal(b->awaiting, 0);
	assert_int_equal(b->replies.ngroups, 1);
	assert_int_equal(b->replies.groups[0].nnodes, 1);
	assert_int_equal(b->slot[1], SLOT_CORRUPT);
}

/* A node lost after its ack owes no reply any more: SLOT_NO_REPLY. */
static void node_lost_before_reply(void **state)
{
	struct bcast *b1 = begin_replies(3, 0), *b2;

	(void)state;
	ack(1, 0, MS);
	ack(1, 1, MS);
	ack(1, 2, MS);
	assert_int_equal(reply(1, 0, 0, "", 2 * MS), REPLY_OK);
	b2 = begin_replies(3, 2 * MS);
	ack(2, 0, 3 * MS);
	inflight_node_lost(&f, 0); /* replied to 1, owes a reply to 2 */
	inflight_node_lost(&f, 1); /* owes a reply to 1, an ack to 2 */
	assert_int_equal(b1->slot[0], SLOT_REPLIED);
	assert_int_equal(b1->slot[1], SLOT_NO_REPLY);
	assert_int_equal(b1->awaiting, 1);
	assert_int_equal(b2->slot[0], SLOT_NO_REPLY);
	assert_int_equal(b2->slot[1], SLOT_LOST);
	assert_int_equal(b2->awaiting, 0);
	assert_int_equal(b2->pending, 1);
	assert_int_equal(reply(1, 1, 0, "", 4 * MS), REPLY_LATE);
	assert_null(inflight_done(&f, 4 * MS)); /* node 2 owes broadcast 1 */
	inflight_node_lost(&f, 2);
	assert_ptr_equal(inflight_done(&f, 4 * MS), b1);
	assert_int_equal(b1->replied, 1);
	assert_int_equal(b1->acked, 3);
	inflight_pop(&f);
	assert_ptr_equal(inflight_done(&f, 4 * MS), b2);
}

/* A reply that cannot be gathered for want of memory counts as none. */
static void reply_without_memory(void **state)
{
	struct bcast *b = begin_replies(2, 0);

	(void)state;
	ack(1, 0, MS);
	ack(1, 1, MS);
	out_of_memory = true;
	assert_int_equal(reply(1, 0, 0, "lost", 2 * MS), REPLY_NOMEM);
	out_of_memory = false;
	assert_int_equal(b->slot[0], SLOT_NO_REPLY);
	assert_int_equal(b->replied, 0);
	assert_int_equal(b->awaiting, 1);
	assert_int_equal(b->replies.ngroups, 0);
	assert_int_equal(reply(1, 0, 0, "lost", 3 * MS), REPLY_LATE);
	assert_int_equal(reply(1, 1, 0, "kept", 3 * MS), REPLY_OK);
	assert_ptr_equal(inflight_done(&f, 3 * MS), b);
	assert_int_equal(b->replies.ngroups, 1);
}

/* A ring slot used again starts with no replies, and gathered outputs
   are freed with the ring (ASan checks the leaks). */
static void replies_cleared_on_reuse(void **state)
{
	(void)state;
	for (unsigned round = 0; round < 6; round++) {
		struct bcast *b = begin_replies(2, 0);

		assert_int_equal(b->replied, 0);
		assert_int_equal(b->awaiting, 0);
		assert_int_equal(b->replies.ngroups, 0);
		ack(b->seq, 0, MS);
		ack(b->seq, 1, MS);
		assert_int_equal(
		    reply(b->seq, 0, (uint16_t)round, "first", 2 * MS),
		    REPLY_OK);
		assert_int_equal(reply(b->seq, 1, 0, "second", 2 * MS),
		                 REPLY_OK);
		assert_int_equal(b->replies.ngroups, 2);
		if (round % 2)
			inflight_pop(&f); /* leave some gathered at the end */
	}
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
	    cmocka_unit_test_setup_teardown(no_window_awaits_nothing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(replies_complete_a_broadcast, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(ack_past_deadline_is_late, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(gathered_bytes_counted, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(reply_window_runs_out, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(ack_and_reply_deadlines, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(reply_unknown_duplicate_ignored,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(node_lost_before_reply, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(reply_without_memory, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(replies_cleared_on_reuse, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
