/* test_format.c - the text of reports, against fixed expected strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "format.h"

#define MS 1000000ull

static struct node n0, n1, n2;
static struct node *const nodes[] = {&n0, &n1, &n2};
static struct inflight f;
static struct buf b;

static int setup(void **state)
{
	(void)state;
	n0 = (struct node){.index = 0, .port = 8888, .host = "127.0.0.1"};
	n1 = (struct node){.index = 1, .port = 8889, .host = "127.0.0.1"};
	n2 = (struct node){.index = 2, .port = 8890, .host = "::1"};
	n0.proc.pid = 4240;
	n1.proc.pid = 4241;
	n2.proc.pid = 4242;
	memset(&b, 0, sizeof(b));
	return inflight_init(&f, 4);
}

static int teardown(void **state)
{
	(void)state;
	inflight_free(&f);
	buf_free(&b);
	return 0;
}

/* Assert that b holds exactly want, then empty it. */
static void expect(const char *want)
{
	/* Nothing written may leave the buffer without memory: no memcmp
	   on a null pointer, even of 0 bytes. */
	if (buf_used(&b) != strlen(want) ||
	    (want[0] && memcmp(buf_head(&b), want, strlen(want)) != 0))
		fail_msg("got \"%.*s\", want \"%s\"", (int)buf_used(&b),
		         (const char *)buf_head(&b), want);
	buf_consume(&b, buf_used(&b));
}

static void node_names(void **state)
{
	char name[128];

	(void)state;
	format_node_name(&n1, name, sizeof(name));
	assert_string_equal(name, "node 1 (127.0.0.1:8889, pid 4241)");
	format_node_name(&n2, name, sizeof(name));
	assert_string_equal(name, "node 2 ([::1]:8890, pid 4242)");
	n2.proc.pid = 0;
	format_node_name(&n2, name, sizeof(name));
	assert_string_equal(name, "node 2 ([::1]:8890)");
}

static void control_bytes_escaped(void **state)
{
	(void)state;
	format_escape(&b,
	              "a\tb\033[2J\r\0\x7f"
	              "é",
	              12);
	expect("a\tb\\x1b[2J\\x0d\\x00\\x7f"
	       "é");
}

/* A broadcast to three nodes at 10 ms, acked by 0 and 1 by 10.41 ms. */
static struct bcast *acked_by_two(void)
{
	struct bcast *bc = inflight_begin(&f, 5, 7, 10 * MS, 100 * MS, 0, 3);
	uint64_t rtt;

	for (unsigned i = 0; i < 3; i++)
		inflight_expect(bc, i);
	inflight_ack(&f, 1, 0, 5, 7, 10 * MS + 200000, &rtt);
	inflight_ack(&f, 1, 1, 5, 7, 10 * MS + 410000, &rtt);
	return bc;
}

static void c1_controls_and_invalid_utf8_escaped(void **state)
{
	(void)state;
	/* CSI as UTF-8 (U+009B), NEL (U+0085), lone CSI, an overlong
	   "/", a surrogate, a cut sequence; then valid 2-, 3-, 4-byte
	   characters and U+00A0 just past C1. */
	format_escape(&b,
	              "\xc2\x9b"
	              "2J\xc2\x85\x9b\xc0\xaf\xed\xa0\x80\xe2\x82",
	              14);
	expect("\\xc2\\x9b"
	       "2J\\xc2\\x85\\x9b\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x82");
	format_escape(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\xa0", 11);
	expect("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\xa0");
}

static void broadcast_with_a_node_missing(void **state)
{
	struct bcast *bc = acked_by_two();

	(void)state;
	format_broadcast(&b, bc, nodes, 3);
	expect("#1 acked 2/3 in 0.41 ms, slowest node 1; missing: node 2 "
	       "([::1]:8890, pid 4242)");
	format_broadcast_json(&b, bc);
	expect("{\"event\":\"broadcast\",\"seq\":1,\"bytes\":5,\"acked\":2,"
	       "\"expected\":3,\"missing\":[2],\"corrupt\":[],\"ms\":0.410}");
}

static void node_retired_since_is_named_by_index(void **state)
{
	struct bcast *bc = acked_by_two();

	(void)state;
	format_broadcast(&b, bc, nodes, 2); /* node 2 was freed */
	expect("#1 acked 2/3 in 0.41 ms, slowest node 1; missing: node 2");
}

static void broadcast_corrupt_and_none_acked(void **state)
{
	struct bcast *bc = inflight_begin(&f, 5, 7, 0, 100 * MS, 0, 2);
	uint64_t rtt;

	(void)state;
	inflight_expect(bc, 0);
	inflight_expect(bc, 1);
	assert_int_equal(inflight_ack(&f, 1, 0, 4, 7, MS, &rtt), ACK_CORRUPT);
	format_broadcast(&b, bc, nodes, 3);
	expect("#1 acked 0/2; missing: node 1 (127.0.0.1:8889, pid 4241); "
	       "corrupt: node 0 (127.0.0.1:8888, pid 4240)");
	format_broadcast_json(&b, bc);
	expect("{\"event\":\"broadcast\",\"seq\":1,\"bytes\":5,\"acked\":0,"
	       "\"expected\":2,\"missing\":[1],\"corrupt\":[0],\"ms\":0.000}");
}

static void broadcast_to_nobody(void **state)
{
	struct bcast *bc = inflight_begin(&f, 5, 7, 0, 100 * MS, 0, 3);

	(void)state;
	format_broadcast(&b, bc, nodes, 3);
	expect("#1 not sent: no node is connected");
}

static void long_missing_lists_are_cut(void **state)
{
	struct node many[15];
	struct node *ptrs[15];
	struct bcast *bc = inflight_begin(&f, 1, 1, 0, MS, 0, 15);

	(void)state;
	for (unsigned i = 0; i < 15; i++) {
		many[i] =
		    (struct node){.index = i, .port = 9000 + i, .host = "h"};
		ptrs[i] = &many[i];
		inflight_expect(bc, i);
	}
	format_broadcast(&b, bc, ptrs, 15);
	assert_non_null(memmem(buf_head(&b), buf_used(&b),
	                       "node 9 (h:9009) and 5 more", 26));
	assert_null(memmem(buf_head(&b), buf_used(&b), "node 10 ", 8));
}

static void events(void **state)
{
	(void)state;
	format_ready_json(&b, 5, 5, 12.3);
	expect(
	    "{\"event\":\"ready\",\"nodes\":5,\"expected\":5,\"ms\":12.300}");
	n2.proc.wait_status = 9; /* killed by SIGKILL */
	format_node_exit_json(&b, &n2);
	expect("{\"event\":\"node_exit\",\"index\":2,\"pid\":4242,"
	       "\"code\":null,\"signal\":9}");
	n2.proc.wait_status = 3 << 8; /* exited 3 */
	format_node_exit_json(&b, &n2);
	expect("{\"event\":\"node_exit\",\"index\":2,\"pid\":4242,\"code\":3,"
	       "\"signal\":null}");
	format_scale_json(&b, 3, 6, 6, 14.25);
	expect("{\"event\":\"scale\",\"from\":3,\"to\":6,\"nodes\":6,"
	       "\"ms\":14.250}");
	format_shutdown_json(&b, "eof", 0, 8);
	expect("{\"event\":\"shutdown\",\"reason\":\"eof\",\"status\":0,"
	       "\"ms\":8.000}");
}

static void status_table(void **state)
{
	(void)state;
	format_status_header(&b);
	expect(" node  address                   pid  state       acked "
	       "missed  late  last rtt    median restarts\n");
	n1.state = NODE_CONNECTED;
	n1.link.acked = 3;
	n1.link.last_rtt_ns = 350000;
	n1.link.rtt_us[0] = 100;
	n1.link.rtt_us[1] = 350;
	n1.link.rtt_us[2] = 200;
	n1.link.rtt_count = 3;
	n1.up.total_restarts = 2;
	format_status_row(&b, &n1);
	expect("    1  127.0.0.1:8889           4241  connected       3      "
	       "0     0   0.35 ms   0.20 ms        2\n");
}

/* A broadcast at 10 ms to n nodes that wants replies, acked by each
   node i at 10 ms + (i + 1) * 0.1 ms when i < acks. */
static struct bcast *wanting(unsigned n, unsigned acks)
{
	struct bcast *bc =
	    inflight_begin(&f, 5, 7, 10 * MS, 100 * MS, 50 * MS, n);
	uint64_t rtt;

	for (unsigned i = 0; i < n; i++)
		inflight_expect(bc, i);
	for (unsigned i = 0; i < acks; i++)
		assert_int_equal(inflight_ack(&f, 1, i, 5, 7,
		                              10 * MS + (i + 1) * 100000, &rtt),
		                 ACK_OK);
	return bc;
}

/* node's reply, at time us microseconds after the broadcast was sent. */
static void answer(unsigned node, enum reply_how how, uint16_t code,
                   uint8_t flags, uint32_t dropped, const char *text,
                   size_t len, unsigned us)
{
	struct proto_reply r = {.seq = 1,
	                        .index = node,
	                        .how = how,
	                        .flags = flags,
	                        .code = code,
	                        .dropped = dropped,
	                        .output = (const uint8_t *)text,
	                        .len = (uint32_t)len};

	assert_int_equal(inflight_reply(&f, node, &r, 10 * MS + us * 1000ull),
	                 REPLY_OK);
}

/* node exited 0 with text. */
static void ok(unsigned node, const char *text, unsigned us)
{
	answer(node, REPLY_EXITED, 0, 0, 0, text, strlen(text), us);
}

static void headline_all_replied(void **state)
{
	struct bcast *bc = wanting(3, 3);

	(void)state;
	ok(0, "up\n", 1200);
	ok(2, "up\n", 2000);
	ok(1, "up\n", 4100);
	gather_sort(&bc->replies);
	format_broadcast(&b, bc, nodes, 3);
	expect("#1 acked 3/3 in 0.30 ms, replied 3/3 in 4.10 ms, slowest "
	       "node 1");
}

static void headline_no_reply_and_failed(void **state)
{
	struct bcast *bc = wanting(3, 3);

	(void)state;
	ok(0, "", 1000);
	answer(1, REPLY_EXITED, 1, 0, 0, "", 0, 4100);
	gather_sort(&bc->replies);
	format_broadcast(&b, bc, nodes, 3);
	expect("#1 acked 3/3 in 0.30 ms, replied 2/3 in 4.10 ms, slowest "
	       "node 1; no reply: node 2 ([::1]:8890, pid 4242); failed: "
	       "node1 (1)");
}

/* Missing acks, a node lost after its ack, none replied. */
static void headline_missing_and_lost(void **state)
{
	struct bcast *bc = wanting(3, 2);

	(void)state;
	inflight_node_lost(&f, 0);
	format_broadcast(&b, bc, nodes, 3);
	expect("#1 acked 2/3 in 0.20 ms, replied 0/3, slowest node 1; "
	       "missing: node 2 ([::1]:8890, pid 4242); no reply: node 0 "
	       "(127.0.0.1:8888, pid 4240), node 1 (127.0.0.1:8889, pid "
	       "4241)");
	format_broadcast_json(&b, bc);
	expect("{\"event\":\"broadcast\",\"seq\":1,\"bytes\":5,\"acked\":2,"
	       "\"expected\":3,\"missing\":[2],\"corrupt\":[],\"replied\":0,"
	       "\"no_reply\":[0,1],\"replies\":[],\"ms\":0.200}");
}

/* Six nodes: two agree, one fails with output cut short of a newline,
   one is silent and clean, one killed, one timed out. */
static struct bcast *six_endings(void)
{
	struct bcast *bc = wanting(6, 6);

	ok(2, "hello\n", 1000);
	answer(1, REPLY_EXITED, 1, 0, 0, "oops", 4, 1100);
	ok(0, "hello\n", 1200);
	ok(3, "", 1300);
	answer(4, REPLY_SIGNALED, 9, 0, 0, "", 0, 1400);
	answer(5, REPLY_TIMED_OUT, 15, REPLY_F_RESTARTED, 12, "a\x1b[2Jb\n\n",
	       8, 1500);
	gather_sort(&bc->replies);
	return bc;
}

static void replies_gathered(void **state)
{
	struct bcast *bc = six_endings();

	(void)state;
	format_replies(&b, bc);
	expect("---------------- node[0,2] (2)\n"
	       "hello\n"
	       "---------------- node1 (1): exit 1\n"
	       "oops\n"
	       "---------------- node4 (1): killed by signal 9 (SIGKILL)\n"
	       "---------------- node5 (1): timed out, killed by signal 15 "
	       "(SIGTERM); co-process restarted; 12 bytes dropped\n"
	       "a\\x1b[2Jb\n"
	       "\n");
}

static void reply_lines(void **state)
{
	struct bcast *bc = six_endings();

	(void)state;
	format_reply_lines(&b, bc);
	expect("node0: hello\n"
	       "node1: oops\n"
	       "node2: hello\n"
	       "node5: a\\x1b[2Jb\n"
	       "node5: \n");
}

static void reply_endings(void **state)
{
	struct bcast *bc = six_endings();

	(void)state;
	format_reply_endings(&b, bc);
	expect("node1: exit 1\n"
	       "node4: killed by signal 9 (SIGKILL)\n"
	       "node5: timed out, killed by signal 15 (SIGTERM); co-process "
	       "restarted; 12 bytes dropped\n");
	format_broadcast(&b, bc, nodes, 3);
	expect("#1 acked 6/6 in 0.60 ms, replied 6/6 in 1.50 ms, slowest "
	       "node 5; failed: node[1,4-5] (3)");
}

static void replies_json(void **state)
{
	struct bcast *bc = six_endings();

	(void)state;
	format_broadcast_json(&b, bc);
	expect("{\"event\":\"broadcast\",\"seq\":1,\"bytes\":5,\"acked\":6,"
	       "\"expected\":6,\"missing\":[],\"corrupt\":[],\"replied\":6,"
	       "\"no_reply\":[],\"replies\":["
	       "{\"nodes\":[0,2],\"status\":0,\"signal\":null,"
	       "\"timed_out\":false,\"restarted\":false,\"truncated\":0,"
	       "\"output\":\"hello\\n\"},"
	       "{\"nodes\":[1],\"status\":1,\"signal\":null,"
	       "\"timed_out\":false,\"restarted\":false,\"truncated\":0,"
	       "\"output\":\"oops\"},"
	       "{\"nodes\":[3],\"status\":0,\"signal\":null,"
	       "\"timed_out\":false,\"restarted\":false,\"truncated\":0,"
	       "\"output\":\"\"},"
	       "{\"nodes\":[4],\"status\":null,\"signal\":9,"
	       "\"timed_out\":false,\"restarted\":false,\"truncated\":0,"
	       "\"output\":\"\"},"
	       "{\"nodes\":[5],\"status\":null,\"signal\":15,"
	       "\"timed_out\":true,\"restarted\":true,\"truncated\":12,"
	       "\"output\":\"a\\u001b[2Jb\\n\\n\"}],\"ms\":0.600,\"reply_ms\":"
	       "1.500}");
}

/* Whatever bytes a command prints, the JSON string is valid: invalid
   UTF-8 as \ufffd, and the exact bytes in base64 then. */
static void json_output_any_bytes(void **state)
{
	struct bcast *bc = wanting(2, 2);

	(void)state;
	ok(0, "\xff\x00\n\"\\x", 1000); /* strlen stops at the NUL */
	answer(1, REPLY_EXITED, 0, 0, 0, "\xff\x00\n\"\\x", 6, 1000);
	gather_sort(&bc->replies);
	format_broadcast_json(&b, bc);
	expect("{\"event\":\"broadcast\",\"seq\":1,\"bytes\":5,\"acked\":2,"
	       "\"expected\":2,\"missing\":[],\"corrupt\":[],\"replied\":2,"
	       "\"no_reply\":[],\"replies\":["
	       "{\"nodes\":[0],\"status\":0,\"signal\":null,"
	       "\"timed_out\":false,\"restarted\":false,\"truncated\":0,"
	       "\"output\":\"\\ufffd\",\"output_base64\":\"/w==\"},"
	       "{\"nodes\":[1],\"status\":0,\"signal\":null,"
	       "\"timed_out\":false,\"restarted\":false,\"truncated\":0,"
	       "\"output\":\"\\ufffd\\u0000\\n\\\"\\\\x\","
	       "\"output_base64\":\"/"
	       "wAKIlx4\"}],\"ms\":0.200,\"reply_ms\":1.000}");
}

/* Assert that b holds want somewhere. */
static void contains(const char *want)
{
	if (!memmem(buf_head(&b), buf_used(&b), want, strlen(want)))
		fail_msg("\"%s\" not in \"%.*s\"", want, (int)buf_used(&b),
		         (const char *)buf_head(&b));
}

/* Valid UTF-8 passes as it is (C1 controls and U+2028 included), other
   controls are escaped; a cut or overlong sequence is escaped byte by
   byte. */
static void json_output_utf8(void **state)
{
	static const char text[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
	                           "\xc2\x9b\xe2\x80\xa8\t\r\x7f";
	struct bcast *bc = wanting(3, 3);

	(void)state;
	ok(0, text, 1000);
	ok(1, "\xe2\x82", 1000);
	ok(2, "\xc0\xaf", 1000);
	gather_sort(&bc->replies);
	format_broadcast_json(&b, bc);
	contains("\"output\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\x9b"
	         "\xe2\x80\xa8\\t\\u000d\x7f\"}");
	contains("\"output\":\"\\ufffd\\ufffd\",\"output_base64\":\"4oI=\"}");
	contains("\"output\":\"\\ufffd\\ufffd\",\"output_base64\":\"wK8=\"}");
}

/* Every reply empty and clean: nothing to show. */
static void clean_empty_replies_show_nothing(void **state)
{
	struct bcast *bc = wanting(3, 3);

	(void)state;
	ok(0, "", 1000);
	ok(1, "", 1000);
	ok(2, "", 1000);
	gather_sort(&bc->replies);
	format_replies(&b, bc);
	format_reply_lines(&b, bc);
	format_reply_endings(&b, bc);
	expect("");
}

/* Eight nodes, seven agree: one header folds them. Output cut short
   but clean is said in the header and on the endings. */
static void folded_header(void **state)
{
	struct bcast *bc = wanting(8, 8);

	(void)state;
	for (unsigned i = 8; i-- > 0;) /* in reverse: sorted anyway */
		if (i != 6)
			ok(i, "same\n", 1000 + i);
	answer(6, REPLY_EXITED, 0, 0, 3, "cut", 3, 2000);
	gather_sort(&bc->replies);
	format_replies(&b, bc);
	expect("---------------- node[0-5,7] (7)\n"
	       "same\n"
	       "---------------- node6 (1): exit 0; 3 bytes dropped\n"
	       "cut\n");
	format_reply_endings(&b, bc);
	expect("node6: exit 0; 3 bytes dropped\n");
	format_broadcast(&b, bc, nodes, 3);
	expect("#1 acked 8/8 in 0.80 ms, replied 8/8 in 2.00 ms, slowest "
	       "node 6");
}

/* A signal without a name is said by its number alone. */
static void unnamed_signal(void **state)
{
	struct bcast *bc = wanting(1, 1);

	(void)state;
	answer(0, REPLY_SIGNALED, 200, 0, 0, "", 0, 1000);
	gather_sort(&bc->replies);
	format_reply_endings(&b, bc);
	expect("node0: killed by signal 200\n");
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(node_names),
	    T(control_bytes_escaped),
	    T(c1_controls_and_invalid_utf8_escaped),
	    T(broadcast_with_a_node_missing),
	    T(node_retired_since_is_named_by_index),
	    T(broadcast_corrupt_and_none_acked),
	    T(broadcast_to_nobody),
	    T(long_missing_lists_are_cut),
	    T(events),
	    T(status_table),
	    T(headline_all_replied),
	    T(headline_no_reply_and_failed),
	    T(headline_missing_and_lost),
	    T(replies_gathered),
	    T(reply_lines),
	    T(reply_endings),
	    T(replies_json),
	    T(json_output_any_bytes),
	    T(json_output_utf8),
	    T(clean_empty_replies_show_nothing),
	    T(folded_header),
	    T(unnamed_signal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
