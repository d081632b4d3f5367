/* test_proto.c - unit tests for the wire protocol (common/proto.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

/* Bytes of a frame encoded into a heap buffer of exactly its size. */
struct enc {
	uint8_t *p;
	size_t len;
};

static struct enc encode(const struct frame *f)
{
	struct enc e;

	e.len = proto_frame_size(f);
	assert_true(e.len >= PROTO_HEADER_LEN);
	e.p = malloc(e.len);
	assert_non_null(e.p);
	assert_int_equal(proto_encode(e.p, e.len, f), e.len);
	return e;
}

/* Point *p and *n at the tail a decoded frame of f's type carries (a
   MSG's payload, a SETUP's command, a REPLY's output), and return the
   offset of that tail in the body; return 0 for a frame without one. */
static size_t tail_of(struct frame *f, const uint8_t ***p, uint32_t **n)
{
	switch (f->type) {
	case FRAME_MSG:
		*p = &f->u.msg.data;
		*n = &f->u.msg.len;
		return 8;
	case FRAME_SETUP:
		*p = &f->u.setup.command;
		*n = &f->u.setup.command_len;
		return PROTO_SETUP_FIXED;
	case FRAME_REPLY:
		*p = &f->u.reply.output;
		*n = &f->u.reply.len;
		return PROTO_REPLY_FIXED;
	default: return 0;
	}
}

/* Decode len bytes of in from a heap copy of exactly len bytes, so that
   ASan reports any read past them. The tail of a decoded frame (see
   tail_of()) is copied into data and its pointer cleared. */
static int decode_exact(const uint8_t *in, size_t len, struct frame *f,
                        size_t *used, uint8_t *data)
{
	uint8_t *copy = malloc(len ? len : 1);
	const uint8_t **p;
	uint32_t *n;
	size_t off;
	int rc;

	assert_non_null(copy);
	if (len)
		memcpy(copy, in, len);
	rc = proto_decode(copy, len, f, used);
	if (rc == 1 && (off = tail_of(f, &p, &n)) > 0) {
		assert_ptr_equal(*p, copy + PROTO_HEADER_LEN + off);
		if (data && *n)
			memcpy(data, *p, *n);
		*p = NULL;
	}
	free(copy);
	return rc;
}

/* Encode f, decode it back and check the frame size is used whole. */
static void round_trip(const struct frame *f, struct frame *out, uint8_t *data)
{
	struct enc e = encode(f);
	size_t used = 0;

	assert_int_equal(decode_exact(e.p, e.len, out, &used, data), 1);
	assert_int_equal(used, e.len);
	assert_int_equal(out->type, f->type);
	free(e.p);
}

/* Write a header with the given fields into h. */
static void header(uint8_t h[PROTO_HEADER_LEN], uint32_t body, uint8_t ver,
                   uint8_t type, uint16_t reserved)
{
	h[0] = (uint8_t)(body >> 24);
	h[1] = (uint8_t)(body >> 16);
	h[2] = (uint8_t)(body >> 8);
	h[3] = (uint8_t)body;
	h[4] = ver;
	h[5] = type;
	h[6] = (uint8_t)(reserved >> 8);
	h[7] = (uint8_t)reserved;
}

/* Decode a bare header (body absent) from an exact-size buffer. */
static int decode_header(uint32_t body, uint8_t ver, uint8_t type,
                         uint16_t reserved)
{
	uint8_t h[PROTO_HEADER_LEN];
	struct frame f;
	size_t used;

	header(h, body, ver, type, reserved);
	return decode_exact(h, sizeof(h), &f, &used, NULL);
}

static void test_hello_round_trip(void **state)
{
	struct frame f = {.type = FRAME_HELLO}, g;

	(void)state;
	for (size_t i = 0; i < PROTO_TOKEN_LEN; i++)
		f.u.hello.token[i] = (uint8_t)(0xA0 + i);
	assert_int_equal(proto_frame_size(&f), PROTO_HEADER_LEN + 32);
	round_trip(&f, &g, NULL);
	assert_memory_equal(g.u.hello.token, f.u.hello.token, PROTO_TOKEN_LEN);
}

static void test_welcome_round_trip(void **state)
{
	struct frame f = {.type = FRAME_WELCOME}, g;

	(void)state;
	f.u.welcome.index = 4095;
	f.u.welcome.pid = 0xFEDCBA98u;
	assert_int_equal(proto_frame_size(&f), PROTO_HEADER_LEN + 8);
	round_trip(&f, &g, NULL);
	assert_int_equal(g.u.welcome.index, 4095);
	assert_int_equal(g.u.welcome.pid, 0xFEDCBA98u);
}

static void test_msg_round_trip(void **state)
{
	static const uint8_t payload[] = "hello, fleet\n\0\xff";
	struct frame f = {.type = FRAME_MSG}, g;
	uint8_t got[sizeof(payload)];

	(void)state;
	f.u.msg.seq = 0x0102030405060708ull;
	f.u.msg.data = payload;
	f.u.msg.len = sizeof(payload);
	assert_int_equal(proto_frame_size(&f),
	                 PROTO_HEADER_LEN + 8 + sizeof(payload));
	round_trip(&f, &g, got);
	assert_int_equal(g.u.msg.seq, 0x0102030405060708ull);
	assert_int_equal(g.u.msg.len, sizeof(payload));
	assert_memory_equal(got, payload, sizeof(payload));
}

static void test_msg_empty_round_trip(void **state)
{
	struct frame f = {.type = FRAME_MSG}, g;

	(void)state;
	f.u.msg.seq = UINT64_MAX;
	f.u.msg.data = NULL;
	f.u.msg.len = 0;
	assert_int_equal(proto_frame_size(&f), PROTO_HEADER_LEN + 8);
	round_trip(&f, &g, NULL);
	assert_int_equal(g.u.msg.seq, UINT64_MAX);
	assert_int_equal(g.u.msg.len, 0);
}

static void test_msg_max_round_trip(void **state)
{
	struct frame f = {.type = FRAME_MSG}, g;
	uint8_t *payload = malloc(PROTO_MAX_PAYLOAD);
	uint8_t *got = malloc(PROTO_MAX_PAYLOAD);

	(void)state;
	assert_non_null(payload);
	assert_non_null(got);
	for (size_t i = 0; i < PROTO_MAX_PAYLOAD; i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8));
	f.u.msg.seq = 42;
	f.u.msg.data = payload;
	f.u.msg.len = PROTO_MAX_PAYLOAD;
	/* Under PROTO_MAX_FRAME: a REPLY's fixed part is the longest. */
	assert_int_equal(proto_frame_size(&f),
	                 PROTO_HEADER_LEN + 8 + PROTO_MAX_PAYLOAD);
	round_trip(&f, &g, got);
	assert_int_equal(g.u.msg.seq, 42);
	assert_int_equal(g.u.msg.len, PROTO_MAX_PAYLOAD);
	assert_memory_equal(got, payload, PROTO_MAX_PAYLOAD);
	free(payload);
	free(got);
}

static void test_msg_over_max_not_encoded(void **state)
{
	static uint8_t out[64];
	struct frame f = {.type = FRAME_MSG};

	(void)state;
	f.u.msg.data = out;
	f.u.msg.len = PROTO_MAX_PAYLOAD + 1;
	assert_int_equal(proto_frame_size(&f), 0);
	assert_int_equal(proto_encode(out, sizeof(out), &f), 0);
	assert_int_equal(
	    proto_encode_msg_head(out, sizeof(out), 1, PROTO_MAX_PAYLOAD + 1),
	    0);
}

static void test_ack_round_trip(void **state)
{
	struct frame f = {.type = FRAME_ACK}, g;

	(void)state;
	f.u.ack.seq = 0x8000000000000001ull;
	f.u.ack.index = 17;
	f.u.ack.len = PROTO_MAX_PAYLOAD;
	f.u.ack.crc = 0xCBF43926u;
	assert_int_equal(proto_frame_size(&f), PROTO_ACK_FRAME_LEN);
	round_trip(&f, &g, NULL);
	assert_int_equal(g.u.ack.seq, 0x8000000000000001ull);
	assert_int_equal(g.u.ack.index, 17);
	assert_int_equal(g.u.ack.len, PROTO_MAX_PAYLOAD);
	assert_int_equal(g.u.ack.crc, 0xCBF43926u);
}

static void test_bye_round_trip(void **state)
{
	struct frame f = {.type = FRAME_BYE}, g;

	(void)state;
	assert_int_equal(proto_frame_size(&f), PROTO_HEADER_LEN);
	round_trip(&f, &g, NULL);
}

static void test_setup_round_trip(void **state)
{
	static const uint8_t words[] = "python3\0-u\0worker.py"; /* 3 NULs */
	struct frame f = {.type = FRAME_SETUP}, g;
	uint8_t got[sizeof(words)];

	(void)state;
	f.u.setup.handler = HANDLER_PIPE;
	f.u.setup.timeout_ms = 30000;
	f.u.setup.stop_timeout_ms = UINT32_MAX;
	f.u.setup.max_reply_bytes = PROTO_MAX_PAYLOAD;
	f.u.setup.command = words;
	f.u.setup.command_len = sizeof(words);
	assert_int_equal(proto_frame_size(&f),
	                 PROTO_HEADER_LEN + PROTO_SETUP_FIXED + sizeof(words));
	round_trip(&f, &g, got);
	assert_int_equal(g.u.setup.handler, HANDLER_PIPE);
	assert_int_equal(g.u.setup.timeout_ms, 30000);
	assert_int_equal(g.u.setup.stop_timeout_ms, UINT32_MAX);
	assert_int_equal(g.u.setup.max_reply_bytes, PROTO_MAX_PAYLOAD);
	assert_int_equal(g.u.setup.command_len, sizeof(words));
	assert_memory_equal(got, words, sizeof(words));
}

/* Every handler, with no command words (ack and exec have none). */
static void test_setup_empty_round_trip(void **state)
{
	(void)state;
	for (int h = 0; h < HANDLER_KINDS; h++) {
		struct frame f = {.type = FRAME_SETUP}, g;

		f.u.setup.handler = (enum handler_kind)h;
		f.u.setup.timeout_ms = (uint32_t)h;
		assert_int_equal(proto_frame_size(&f),
		                 PROTO_HEADER_LEN + PROTO_SETUP_FIXED);
		round_trip(&f, &g, NULL);
		assert_int_equal(g.u.setup.handler, h);
		assert_int_equal(g.u.setup.timeout_ms, h);
		assert_int_equal(g.u.setup.command_len, 0);
	}
}

static void test_setup_max_round_trip(void **state)
{
	struct frame f = {.type = FRAME_SETUP}, g;
	uint8_t *words = malloc(PROTO_MAX_PAYLOAD);
	uint8_t *got = malloc(PROTO_MAX_PAYLOAD);

	(void)state;
	assert_non_null(words);
	assert_non_null(got);
	for (size_t i = 0; i < PROTO_MAX_PAYLOAD; i++)
		words[i] = i % 100 == 99 ? 0 : (uint8_t)('a' + i % 26);
	words[PROTO_MAX_PAYLOAD - 1] = 0;
	f.u.setup.handler = HANDLER_SHELL;
	f.u.setup.command = words;
	f.u.setup.command_len = PROTO_MAX_PAYLOAD;
	assert_int_equal(proto_frame_size(&f), PROTO_HEADER_LEN +
	                                           PROTO_SETUP_FIXED +
	                                           PROTO_MAX_PAYLOAD);
	round_trip(&f, &g, got);
	assert_int_equal(g.u.setup.command_len, PROTO_MAX_PAYLOAD);
	assert_memory_equal(got, words, PROTO_MAX_PAYLOAD);
	free(words);
	free(got);
}

static void test_reply_round_trip(void **state)
{
	static const uint8_t output[] = "line 1\nline 2\0\xff no newline";
	struct frame f = {.type = FRAME_REPLY}, g;
	uint8_t got[sizeof(output)];

	(void)state;
	for (int how = 0; how <= REPLY_HOW_MAX; how++) {
		f.u.reply.seq = UINT64_MAX - (uint64_t)how;
		f.u.reply.index = 4095;
		f.u.reply.how = (enum reply_how)how;
		f.u.reply.flags = how == REPLY_SIGNALED ? REPLY_F_RESTARTED : 0;
		f.u.reply.code = how == REPLY_EXITED ? 255 : 9;
		f.u.reply.dropped = UINT32_MAX;
		f.u.reply.output = output;
		f.u.reply.len = sizeof(output);
		assert_int_equal(proto_frame_size(&f), PROTO_HEADER_LEN +
		                                           PROTO_REPLY_FIXED +
		                                           sizeof(output));
		round_trip(&f, &g, got);
		assert_int_equal(g.u.reply.seq, f.u.reply.seq);
		assert_int_equal(g.u.reply.index, 4095);
		assert_int_equal(g.u.reply.how, how);
		assert_int_equal(g.u.reply.flags, f.u.reply.flags);
		assert_int_equal(g.u.reply.code, f.u.reply.code);
		assert_int_equal(g.u.reply.dropped, UINT32_MAX);
		assert_int_equal(g.u.reply.len, sizeof(output));
		assert_memory_equal(got, output, sizeof(output));
	}
}

static void test_reply_empty_round_trip(void **state)
{
	struct frame f = {.type = FRAME_REPLY}, g;

	(void)state;
	f.u.reply.seq = 1;
	f.u.reply.code = 65535;
	assert_int_equal(proto_frame_size(&f),
	                 PROTO_HEADER_LEN + PROTO_REPLY_FIXED);
	round_trip(&f, &g, NULL);
	assert_int_equal(g.u.reply.seq, 1);
	assert_int_equal(g.u.reply.how, REPLY_EXITED);
	assert_int_equal(g.u.reply.code, 65535);
	assert_int_equal(g.u.reply.len, 0);
}

/* The largest reply is the largest frame. */
static void test_reply_max_round_trip(void **state)
{
	struct frame f = {.type = FRAME_REPLY}, g;
	uint8_t *output = malloc(PROTO_MAX_PAYLOAD);
	uint8_t *got = malloc(PROTO_MAX_PAYLOAD);

	(void)state;
	assert_non_null(output);
	assert_non_null(got);
	for (size_t i = 0; i < PROTO_MAX_PAYLOAD; i++)
		output[i] = (uint8_t)(i * 13 + (i >> 10));
	f.u.reply.seq = 9;
	f.u.reply.output = output;
	f.u.reply.len = PROTO_MAX_PAYLOAD;
	assert_int_equal(proto_frame_size(&f), PROTO_MAX_FRAME);
	round_trip(&f, &g, got);
	assert_int_equal(g.u.reply.len, PROTO_MAX_PAYLOAD);
	assert_memory_equal(got, output, PROTO_MAX_PAYLOAD);
	free(output);
	free(got);
}

/* Assert that f is refused by proto_frame_size() and proto_encode(). */
static void refused(const struct frame *f)
{
	uint8_t out[64];

	assert_int_equal(proto_frame_size(f), 0);
	assert_int_equal(proto_encode(out, sizeof(out), f), 0);
}

static void test_setup_invalid_not_encoded(void **state)
{
	static const uint8_t words[] = {'s', 'h', 0, '-', 'c'};
	struct frame f = {.type = FRAME_SETUP};

	(void)state;
	f.u.setup.handler = (enum handler_kind)HANDLER_KINDS;
	refused(&f);
	f.u.setup.handler = (enum handler_kind)255;
	refused(&f);
	f.u.setup.handler = HANDLER_PIPE;
	f.u.setup.command = words; /* last word without its NUL */
	f.u.setup.command_len = sizeof(words);
	refused(&f);
	f.u.setup.command_len = 3; /* "sh\0": fine */
	assert_int_not_equal(proto_frame_size(&f), 0);
}

static void test_setup_over_max_not_encoded(void **state)
{
	struct frame f = {.type = FRAME_SETUP};
	uint8_t *words = calloc(1, PROTO_MAX_PAYLOAD + 1);

	(void)state;
	assert_non_null(words);
	f.u.setup.handler = HANDLER_PIPE;
	f.u.setup.command = words;
	f.u.setup.command_len = PROTO_MAX_PAYLOAD + 1;
	refused(&f);
	free(words);
}

static void test_reply_invalid_not_encoded(void **state)
{
	static const uint8_t out[1];
	struct frame f = {.type = FRAME_REPLY};

	(void)state;
	f.u.reply.how = (enum reply_how)(REPLY_HOW_MAX + 1);
	refused(&f);
	f.u.reply.how = REPLY_EXITED;
	for (int bit = 1; bit < 8; bit++) {
		f.u.reply.flags = (uint8_t)(1u << bit);
		refused(&f);
	}
	f.u.reply.flags = REPLY_F_ALL;
	assert_int_not_equal(proto_frame_size(&f), 0);
	f.u.reply.output = out;
	f.u.reply.len = PROTO_MAX_PAYLOAD + 1;
	refused(&f);
}

/* The bytes on the wire are exactly those proto.h documents. */
static void test_wire_layout(void **state)
{
	static const uint8_t welcome[] = {0, 0, 0, 8, 2, 2, 0, 0,
	                                  1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t ack[] = {
	    0,    0,    0, 20, 2, 4, 0, 0, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
	    0x17, 0x18, 0, 0,  0, 9, 0, 0, 1,    0,    0xCB, 0xF4, 0x39, 0x26};
	struct frame f = {.type = FRAME_WELCOME};
	struct enc e;

	(void)state;
	f.u.welcome.index = 0x01020304u;
	f.u.welcome.pid = 0x05060708u;
	e = encode(&f);
	assert_int_equal(e.len, sizeof(welcome));
	assert_memory_equal(e.p, welcome, sizeof(welcome));
	free(e.p);

	memset(&f, 0, sizeof(f));
	f.type = FRAME_ACK;
	f.u.ack.seq = 0x1112131415161718ull;
	f.u.ack.index = 9;
	f.u.ack.len = 256;
	f.u.ack.crc = 0xCBF43926u;
	e = encode(&f);
	assert_int_equal(e.len, sizeof(ack));
	assert_memory_equal(e.p, ack, sizeof(ack));
	free(e.p);
}

static void test_wire_layout_setup_reply(void **state)
{
	static const uint8_t setup[] = {0,   0,   0,    21,   2,
	                                6,   0,   0,       /* header */
	                                3,   0,   0,    0, /* pipe, reserved */
	                                0,   0,   0x13, 0x88, /* 5000 ms */
	                                0,   0,   0x03, 0xe8, /* 1000 ms */
	                                0,   1,   0,    0,    /* 65536 bytes */
	                                'c', 'a', 't',  '\0', 0};
	static const uint8_t reply[] = {
	    0,   0,   0,   23, 2, 7, 0, 0,    /* header */
	    0,   0,   0,   0,  0, 0, 0, 0x2a, /* seq 42 */
	    0,   0,   0,   5,                 /* node 5 */
	    2,   1,   0,   15,                /* timed out, restarted, 15 */
	    0,   0,   1,   0,                 /* 256 dropped */
	    'o', 'k', '\n'};
	struct frame f = {.type = FRAME_SETUP};
	struct enc e;

	(void)state;
	f.u.setup.handler = HANDLER_PIPE;
	f.u.setup.timeout_ms = 5000;
	f.u.setup.stop_timeout_ms = 1000;
	f.u.setup.max_reply_bytes = 65536;
	f.u.setup.command = (const uint8_t *)"cat\0";
	f.u.setup.command_len = 5;
	e = encode(&f);
	assert_int_equal(e.len, sizeof(setup));
	assert_memory_equal(e.p, setup, sizeof(setup));
	free(e.p);

	memset(&f, 0, sizeof(f));
	f.type = FRAME_REPLY;
	f.u.reply.seq = 42;
	f.u.reply.index = 5;
	f.u.reply.how = REPLY_TIMED_OUT;
	f.u.reply.flags = REPLY_F_RESTARTED;
	f.u.reply.code = 15;
	f.u.reply.dropped = 256;
	f.u.reply.output = (const uint8_t *)"ok\n";
	f.u.reply.len = 3;
	e = encode(&f);
	assert_int_equal(e.len, sizeof(reply));
	assert_memory_equal(e.p, reply, sizeof(reply));
	free(e.p);
}

/* Head plus payload is byte for byte what proto_encode() writes. */
static void test_msg_head_matches_encode(void **state)
{
	static const uint32_t lens[] = {0, 1, 100, PROTO_MAX_PAYLOAD};
	uint8_t *payload = calloc(1, PROTO_MAX_PAYLOAD);

	(void)state;
	assert_non_null(payload);
	for (size_t i = 0; i < PROTO_MAX_PAYLOAD; i++)
		payload[i] = (uint8_t)(i ^ (i >> 9));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct frame f = {.type = FRAME_MSG};
		uint8_t *head = malloc(PROTO_HEADER_LEN + 8);
		struct enc e;

		assert_non_null(head);
		f.u.msg.seq = 0xDEADBEEF00000000ull + i;
		f.u.msg.data = payload;
		f.u.msg.len = lens[i];
		e = encode(&f);
		assert_int_equal(proto_encode_msg_head(head,
		                                       PROTO_HEADER_LEN + 8,
		                                       f.u.msg.seq, lens[i]),
		                 PROTO_HEADER_LEN + 8);
		assert_memory_equal(head, e.p, PROTO_HEADER_LEN + 8);
		assert_memory_equal(e.p + PROTO_HEADER_LEN + 8, payload,
		                    lens[i]);
		free(head);
		free(e.p);
	}
	free(payload);
}

static void test_msg_head_small_cap(void **state)
{
	uint8_t *out = malloc(PROTO_HEADER_LEN + 7);

	(void)state;
	assert_non_null(out);
	assert_int_equal(proto_encode_msg_head(out, PROTO_HEADER_LEN + 7, 1, 0),
	                 0);
	assert_int_equal(proto_encode_msg_head(out, 0, 1, 0), 0);
	free(out);
}

/* Every frame type, encoded into a buffer one byte short, encodes to 0;
   into a buffer of exactly its size, encodes whole. */
static void test_encode_small_cap(void **state)
{
	static const uint8_t payload[300];
	struct frame fs[7] = {{.type = FRAME_HELLO}, {.type = FRAME_WELCOME},
	                      {.type = FRAME_MSG},   {.type = FRAME_ACK},
	                      {.type = FRAME_BYE},   {.type = FRAME_SETUP},
	                      {.type = FRAME_REPLY}};

	(void)state;
	fs[2].u.msg.data = payload;
	fs[2].u.msg.len = sizeof(payload);
	fs[5].u.setup.command = payload; /* 300 NULs: 300 empty words */
	fs[5].u.setup.command_len = sizeof(payload);
	fs[6].u.reply.output = payload;
	fs[6].u.reply.len = sizeof(payload);
	for (size_t i = 0; i < 7; i++) {
		size_t size = proto_frame_size(&fs[i]);
		uint8_t *out = malloc(size);

		assert_non_null(out);
		assert_int_equal(proto_encode(out, size - 1, &fs[i]), 0);
		assert_int_equal(proto_encode(out, 0, &fs[i]), 0);
		assert_int_equal(proto_encode(out, size, &fs[i]), size);
		free(out);
	}
}

static void test_encode_unknown_type(void **state)
{
	static const int types[] = {0, 8, 255};
	uint8_t out[64];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct frame f;

		memset(&f, 0, sizeof(f));
		f.type = (enum frame_type)types[i];
		assert_int_equal(proto_frame_size(&f), 0);
		assert_int_equal(proto_encode(out, sizeof(out), &f), 0);
	}
}

/* Every proper prefix of every frame type needs more bytes, and leaves the
   outputs alone. */
static void test_truncated(void **state)
{
	static const uint8_t payload[] = "truncate me";
	struct frame fs[9] = {{.type = FRAME_HELLO}, {.type = FRAME_WELCOME},
	                      {.type = FRAME_MSG},   {.type = FRAME_ACK},
	                      {.type = FRAME_BYE},   {.type = FRAME_MSG},
	                      {.type = FRAME_SETUP}, {.type = FRAME_REPLY},
	                      {.type = FRAME_REPLY}};

	(void)state;
	fs[2].u.msg.data = payload;
	fs[2].u.msg.len = sizeof(payload);
	fs[6].u.setup.command = payload;
	fs[6].u.setup.command_len = sizeof(payload);
	fs[7].u.reply.output = payload;
	fs[7].u.reply.len = sizeof(payload);
	for (size_t i = 0; i < 9; i++) {
		struct enc e = encode(&fs[i]);

		for (size_t n = 0; n < e.len; n++) {
			struct frame g, sentinel;
			size_t used = 12345;

			memset(&g, 0x5A, sizeof(g));
			memcpy(&sentinel, &g, sizeof(g));
			assert_int_equal(decode_exact(e.p, n, &g, &used, NULL),
			                 0);
			assert_int_equal(used, 12345);
			assert_memory_equal(&g, &sentinel, sizeof(g));
		}
		free(e.p);
	}
}

/* A body over its type's limit (the fixed part and PROTO_MAX_PAYLOAD) is
   refused from the 8 header bytes alone, before any of it arrives. */
static void test_too_big(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t fixed;
	} tails[] = {{FRAME_MSG, 8},
	             {FRAME_SETUP, PROTO_SETUP_FIXED},
	             {FRAME_REPLY, PROTO_REPLY_FIXED}};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		uint32_t max = tails[i].fixed + PROTO_MAX_PAYLOAD;
		uint8_t t = tails[i].type;

		/* Exactly the limit is fine: more bytes are needed. */
		assert_int_equal(decode_header(max, PROTO_VERSION, t, 0), 0);
		assert_int_equal(decode_header(max + 1, PROTO_VERSION, t, 0),
		                 PROTO_E_TOO_BIG);
		assert_int_equal(decode_header(UINT32_MAX, PROTO_VERSION, t, 0),
		                 PROTO_E_TOO_BIG);
		assert_int_equal(
		    decode_header(0x80000000u, PROTO_VERSION, t, 0),
		    PROTO_E_TOO_BIG);
	}
	/* Fixed-size types: past the largest body of all, too big. */
	assert_int_equal(
	    decode_header(PROTO_MAX_BODY + 1, PROTO_VERSION, FRAME_ACK, 0),
	    PROTO_E_TOO_BIG);
}

static void test_wrong_version(void **state)
{
	static const uint8_t versions[] = {0, PROTO_VERSION + 1, 0x81, 255};

	(void)state;
	for (size_t i = 0; i < sizeof(versions); i++) {
		assert_int_equal(decode_header(0, versions[i], FRAME_BYE, 0),
		                 PROTO_E_VERSION);
		assert_int_equal(decode_header(8, versions[i], FRAME_MSG, 0),
		                 PROTO_E_VERSION);
	}
}

static void test_unknown_type(void **state)
{
	static const uint8_t types[] = {0, 8, 9, 0x83, 0x86, 255};

	(void)state;
	for (size_t i = 0; i < sizeof(types); i++) {
		assert_int_equal(decode_header(0, PROTO_VERSION, types[i], 0),
		                 PROTO_E_TYPE);
		assert_int_equal(decode_header(20, PROTO_VERSION, types[i], 0),
		                 PROTO_E_TYPE);
	}
}

static void test_reserved_bits(void **state)
{
	(void)state;
	for (int bit = 0; bit < 16; bit++)
		assert_int_equal(decode_header(0, PROTO_VERSION, FRAME_BYE,
		                               (uint16_t)(1u << bit)),
		                 PROTO_E_RESERVED);
	assert_int_equal(decode_header(8, PROTO_VERSION, FRAME_WELCOME, 0xFFFF),
	                 PROTO_E_RESERVED);
}

/* A body length that the type cannot have is refused from the header. */
static void test_wrong_length(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t body;
	} cases[] = {
	    {FRAME_HELLO, 0},   {FRAME_HELLO, 31},
	    {FRAME_HELLO, 33},  {FRAME_HELLO, 1000},
	    {FRAME_WELCOME, 0}, {FRAME_WELCOME, 7},
	    {FRAME_WELCOME, 9}, {FRAME_MSG, 0},
	    {FRAME_MSG, 7},     {FRAME_ACK, 0},
	    {FRAME_ACK, 19},    {FRAME_ACK, 21},
	    {FRAME_ACK, 8},     {FRAME_BYE, 1},
	    {FRAME_BYE, 8},     {FRAME_BYE, PROTO_MAX_BODY},
	    {FRAME_SETUP, 0},   {FRAME_SETUP, PROTO_SETUP_FIXED - 1},
	    {FRAME_REPLY, 0},   {FRAME_REPLY, PROTO_REPLY_FIXED - 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = decode_header(cases[i].body, PROTO_VERSION,
		                       cases[i].type, 0);

		if (rc != PROTO_E_LENGTH)
			fail_msg("type %u body %u: got %d, want %d",
			         cases[i].type, cases[i].body, rc,
			         PROTO_E_LENGTH);
	}
}

/* Also with the whole (wrong-sized) body present. */
static void test_wrong_length_full(void **state)
{
	uint8_t in[PROTO_HEADER_LEN + 64] = {0};
	struct frame f;
	size_t used;

	(void)state;
	header(in, 33, PROTO_VERSION, FRAME_HELLO, 0);
	assert_int_equal(
	    decode_exact(in, PROTO_HEADER_LEN + 33, &f, &used, NULL),
	    PROTO_E_LENGTH);
	header(in, 9, PROTO_VERSION, FRAME_WELCOME, 0);
	assert_int_equal(decode_exact(in, sizeof(in), &f, &used, NULL),
	                 PROTO_E_LENGTH);
}

/* Decode a whole frame of type whose body is the n bytes at body. */
static int decode_body(uint8_t type, const uint8_t *body, uint32_t n)
{
	uint8_t in[PROTO_HEADER_LEN + 64];
	struct frame f;
	size_t used;

	assert_true(n <= sizeof(in) - PROTO_HEADER_LEN);
	header(in, n, PROTO_VERSION, type, 0);
	memcpy(in + PROTO_HEADER_LEN, body, n);
	return decode_exact(in, PROTO_HEADER_LEN + n, &f, &used, NULL);
}

static void test_setup_bad_fields(void **state)
{
	/* pipe, reserved, three u32s, "cat\0" */
	uint8_t ok[] = {3, 0, 0, 0, 0, 0, 0, 1, 0,   0,   0,   2,
	                0, 0, 0, 3, 0, 0, 0, 0, 'c', 'a', 't', 0};
	uint8_t body[sizeof(ok)];

	(void)state;
	assert_int_equal(decode_body(FRAME_SETUP, ok, sizeof(ok)), 1);
	for (int i = 1; i < 4; i++) { /* each reserved byte */
		memcpy(body, ok, sizeof(ok));
		body[i] = 0x40;
		assert_int_equal(decode_body(FRAME_SETUP, body, sizeof(body)),
		                 PROTO_E_RESERVED);
	}
	memcpy(body, ok, sizeof(ok));
	body[0] = HANDLER_KINDS;
	assert_int_equal(decode_body(FRAME_SETUP, body, sizeof(body)),
	                 PROTO_E_VALUE);
	body[0] = 255;
	assert_int_equal(decode_body(FRAME_SETUP, body, sizeof(body)),
	                 PROTO_E_VALUE);
	/* Command words whose last has no NUL. */
	memcpy(body, ok, sizeof(ok));
	assert_int_equal(decode_body(FRAME_SETUP, body, sizeof(body) - 1),
	                 PROTO_E_VALUE);
	body[sizeof(body) - 1] = 'x';
	assert_int_equal(decode_body(FRAME_SETUP, body, sizeof(body)),
	                 PROTO_E_VALUE);
	/* No words at all is fine. */
	assert_int_equal(decode_body(FRAME_SETUP, body, PROTO_SETUP_FIXED), 1);
}

static void test_reply_bad_fields(void **state)
{
	/* seq 1, node 2, exited, no flags, code 0, 0 dropped, "hi" */
	uint8_t ok[] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0,   0,
	                2, 0, 0, 0, 0, 0, 0, 0, 0, 'h', 'i'};
	uint8_t body[sizeof(ok)];

	(void)state;
	assert_int_equal(decode_body(FRAME_REPLY, ok, sizeof(ok)), 1);
	memcpy(body, ok, sizeof(ok));
	body[12] = REPLY_HOW_MAX + 1;
	assert_int_equal(decode_body(FRAME_REPLY, body, sizeof(body)),
	                 PROTO_E_VALUE);
	body[12] = 255;
	assert_int_equal(decode_body(FRAME_REPLY, body, sizeof(body)),
	                 PROTO_E_VALUE);
	memcpy(body, ok, sizeof(ok));
	for (int bit = 1; bit < 8; bit++) {
		body[13] = (uint8_t)(1u << bit);
		assert_int_equal(decode_body(FRAME_REPLY, body, sizeof(body)),
		                 PROTO_E_VALUE);
	}
	body[13] = REPLY_F_RESTARTED;
	assert_int_equal(decode_body(FRAME_REPLY, body, sizeof(body)), 1);
}

/* The version of a peer's frame is read from its header alone, whatever
   the rest says, so both versions can be named. */
static void test_version_of(void **state)
{
	uint8_t h[PROTO_HEADER_LEN];

	(void)state;
	header(h, 0, 1, FRAME_BYE, 0);
	assert_int_equal(proto_version_of(h, sizeof(h)), 1);
	assert_int_equal(
	    decode_exact(h, sizeof(h), &(struct frame){0}, &(size_t){0}, NULL),
	    PROTO_E_VERSION);
	header(h, UINT32_MAX, 255, 0, 0xffff);
	assert_int_equal(proto_version_of(h, sizeof(h)), 255);
	header(h, 0, PROTO_VERSION, FRAME_BYE, 0);
	assert_int_equal(proto_version_of(h, sizeof(h)), PROTO_VERSION);
	assert_int_equal(proto_version_of(h, PROTO_HEADER_LEN - 1), -1);
	assert_int_equal(proto_version_of(h, 0), -1);
}

static void test_handler_names(void **state)
{
	static const char *const names[HANDLER_KINDS] = {"ack", "exec", "shell",
	                                                 "pipe"};
	static const char *const bad[] = {"",      "ACK",   "exe",
	                                  "execs", " pipe", "?"};

	(void)state;
	for (int h = 0; h < HANDLER_KINDS; h++) {
		assert_int_equal(proto_handler_from_name(names[h]), h);
		assert_string_equal(proto_handler_name((enum handler_kind)h),
		                    names[h]);
	}
	assert_int_equal(HANDLER_ACK, 0);
	assert_int_equal(HANDLER_PIPE, 3);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(proto_handler_from_name(bad[i]), -1);
	assert_string_equal(
	    proto_handler_name((enum handler_kind)HANDLER_KINDS), "?");
	assert_string_equal(proto_handler_name((enum handler_kind) - 1), "?");
}

/* Tiny deterministic generator, so failures reproduce. */
static uint32_t rng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random bytes never crash the decoder or read past them (ASan), and a
   result is always one of the documented ones. */
static void test_garbage(void **state)
{
	uint32_t seed = 0x12345678;
	unsigned seen[8] = {0}; /* results 1 .. PROTO_E_VALUE */
	uint8_t in[96];

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		size_t len = rng(&seed) % sizeof(in), used = 0;
		struct frame f;
		int rc;

		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)rng(&seed);
		/* Steer some cases past the version and type checks. */
		if (len > 5 && iter % 2) {
			in[4] = PROTO_VERSION;
			in[5] = (uint8_t)(1 + rng(&seed) % FRAME_REPLY);
		}
		if (len > 7 && iter % 4 == 1)
			in[6] = in[7] = 0;
		if (len > 3 && iter % 8 == 1) {
			in[0] = in[1] = in[2] = 0;
			in[3] = (uint8_t)(rng(&seed) % 64);
		}
		rc = decode_exact(in, len, &f, &used, NULL);
		if (rc >= PROTO_E_VALUE && rc <= 1)
			seen[1 - rc]++;
		else
			fail_msg("iteration %d: result %d", iter, rc);
		if (rc == 1) {
			assert_in_range(used, PROTO_HEADER_LEN, len);
			assert_in_range(f.type, FRAME_HELLO, FRAME_REPLY);
		}
	}
	/* The steering reached every outcome, so the loop tested them. */
	for (int i = 0; i < 8; i++)
		if (seen[i] == 0)
			fail_msg("result %d never seen", 1 - i);
}

/* Printable junk (say, someone typing at a node's port) is refused. */
static void test_garbage_text(void **state)
{
	static const char *const junk[] = {"GET / HTTP/1.1\r\n\r\n",
	                                   "hello world\n",
	                                   "\xff\xff\xff\xff"
	                                   "\xff\xff\xff\xff"};
	struct frame f;
	size_t used;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		assert_true(decode_exact((const uint8_t *)junk[i],
		                         strlen(junk[i]), &f, &used, NULL) < 0);
}

/* Several frames back to back decode one after another. */
static void test_back_to_back(void **state)
{
	static const uint8_t payload[] = "abc";
	struct frame fs[9] = {{.type = FRAME_HELLO}, {.type = FRAME_WELCOME},
	                      {.type = FRAME_SETUP}, {.type = FRAME_MSG},
	                      {.type = FRAME_MSG},   {.type = FRAME_ACK},
	                      {.type = FRAME_REPLY}, {.type = FRAME_REPLY},
	                      {.type = FRAME_BYE}};
	size_t sizes[9], total = 0, off = 0;
	uint8_t *all;

	(void)state;
	fs[1].u.welcome.index = 3;
	fs[2].u.setup.handler = HANDLER_PIPE;
	fs[2].u.setup.command = payload;
	fs[2].u.setup.command_len = sizeof(payload);
	fs[3].u.msg.seq = 7;
	fs[3].u.msg.data = payload;
	fs[3].u.msg.len = 3;
	fs[4].u.msg.seq = 8;
	fs[5].u.ack.seq = 7;
	fs[5].u.ack.len = 3;
	fs[6].u.reply.seq = 7;
	fs[6].u.reply.output = payload;
	fs[6].u.reply.len = 3;
	fs[7].u.reply.seq = 8;
	for (size_t i = 0; i < 9; i++)
		total += sizes[i] = proto_frame_size(&fs[i]);
	all = malloc(total);
	assert_non_null(all);
	for (size_t i = 0; i < 9; i++)
		off += proto_encode(all + off, total - off, &fs[i]);
	assert_int_equal(off, total);

	off = 0;
	for (size_t i = 0; i < 9; i++) {
		struct frame g;
		size_t used = 0;

		assert_int_equal(
		    decode_exact(all + off, total - off, &g, &used, NULL), 1);
		assert_int_equal(used, sizes[i]);
		assert_int_equal(g.type, fs[i].type);
		off += used;
	}
	assert_int_equal(off, total);
	{
		struct frame g;
		size_t used;

		/* A partial frame behind a whole one: the whole one decodes,
		   then more bytes are needed. */
		assert_int_equal(
		    decode_exact(all, sizes[0] + 5, &g, &used, NULL), 1);
		assert_int_equal(used, sizes[0]);
		assert_int_equal(decode_exact(all + used, 5, &g, &used, NULL),
		                 0);
	}
	free(all);
}

static void test_checksum(void **state)
{
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	uint8_t *zeros = calloc(1, 1 << 16);

	(void)state;
	assert_non_null(zeros);
	assert_int_equal(proto_checksum((const uint8_t *)"123456789", 9),
	                 0xCBF43926u);
	assert_int_equal(proto_checksum((const uint8_t *)"", 0), 0);
	assert_int_equal(proto_checksum(NULL, 0), 0);
	assert_int_equal(proto_checksum((const uint8_t *)"a", 1), 0xE8B7BE43u);
	assert_int_equal(proto_checksum((const uint8_t *)fox, strlen(fox)),
	                 0x414FA339u);
	assert_int_equal(proto_checksum(zeros, 32), 0x190A55ADu);
	free(zeros);
}

static void test_strerror(void **state)
{
	static const int codes[] = {PROTO_E_VERSION,  PROTO_E_TYPE,
	                            PROTO_E_TOO_BIG,  PROTO_E_LENGTH,
	                            PROTO_E_RESERVED, PROTO_E_VALUE};
	const char *none = proto_strerror(0);

	(void)state;
	assert_non_null(none);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = proto_strerror(codes[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, none);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s, proto_strerror(codes[j]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_round_trip),
	    cmocka_unit_test(test_welcome_round_trip),
	    cmocka_unit_test(test_msg_round_trip),
	    cmocka_unit_test(test_msg_empty_round_trip),
	    cmocka_unit_test(test_msg_max_round_trip),
	    cmocka_unit_test(test_msg_over_max_not_encoded),
	    cmocka_unit_test(test_ack_round_trip),
	    cmocka_unit_test(test_bye_round_trip),
	    cmocka_unit_test(test_setup_round_trip),
	    cmocka_unit_test(test_setup_empty_round_trip),
	    cmocka_unit_test(test_setup_max_round_trip),
	    cmocka_unit_test(test_reply_round_trip),
	    cmocka_unit_test(test_reply_empty_round_trip),
	    cmocka_unit_test(test_reply_max_round_trip),
	    cmocka_unit_test(test_setup_invalid_not_encoded),
	    cmocka_unit_test(test_setup_over_max_not_encoded),
	    cmocka_unit_test(test_reply_invalid_not_encoded),
	    cmocka_unit_test(test_wire_layout),
	    cmocka_unit_test(test_wire_layout_setup_reply),
	    cmocka_unit_test(test_msg_head_matches_encode),
	    cmocka_unit_test(test_msg_head_small_cap),
	    cmocka_unit_test(test_encode_small_cap),
	    cmocka_unit_test(test_encode_unknown_type),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_wrong_version),
	    cmocka_unit_test(test_unknown_type),
	    cmocka_unit_test(test_reserved_bits),
	    cmocka_unit_test(test_wrong_length),
	    cmocka_unit_test(test_wrong_length_full),
	    cmocka_unit_test(test_setup_bad_fields),
	    cmocka_unit_test(test_reply_bad_fields),
	    cmocka_unit_test(test_version_of),
	    cmocka_unit_test(test_handler_names),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_garbage_text),
	    cmocka_unit_test(test_back_to_back),
	    cmocka_unit_test(test_checksum),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
