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
	assert_int_equal(buf_used(&b), strlen(want));
	assert_memory_equal(buf_head(&b), want, strlen(want));
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
