/* test_ctl.c - unit tests for the console protocol (common/ctl.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"
#include "proto.h"

#define NTYPES 7

/* Bytes of a frame encoded into a heap buffer of exactly its size. */
struct enc {
	uint8_t *p;
	size_t len;
};

static struct enc encode(const struct ctl_frame *f)
{
	struct enc e;

	e.len = ctl_frame_size(f);
	assert_true(e.len >= CTL_HEADER_LEN);
	assert_true(e.len <= CTL_MAX_FRAME);
	e.p = malloc(e.len);
	assert_non_null(e.p);
	assert_int_equal(ctl_encode(e.p, e.len, f), e.len);
	return e;
}

/* The byte field of f and its offset in the body in *off, or NULL for a
   type without one. */
static struct ctl_bytes *tail_of(struct ctl_frame *f, size_t *off)
{
	switch (f->type) {
	case CTL_HELLO: *off = CTL_HELLO_FIXED; return &f->u.hello.name;
	case CTL_LINE: *off = 0; return &f->u.line;
	case CTL_WELCOME: *off = CTL_WELCOME_FIXED; return &f->u.welcome.name;
	case CTL_OUT: *off = CTL_OUT_FIXED; return &f->u.out.data;
	case CTL_REFUSED: *off = 0; return &f->u.refused;
	default: return NULL;
	}
}

/* Decode len bytes of in from a heap copy of exactly len bytes, so that
   ASan reports any read past them. The byte field of a decoded frame
   must point into the copy, where the frame has it; it is copied into
   data (when not NULL) and its pointer cleared. */
static int decode_exact(const uint8_t *in, size_t len, struct ctl_frame *f,
                        size_t *used, uint8_t *data)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct ctl_bytes *t;
	size_t off;
	int rc;

	assert_non_null(copy);
	if (len)
		memcpy(copy, in, len);
	rc = ctl_decode(copy, len, f, used);
	if (rc == 1 && (t = tail_of(f, &off)) != NULL) {
		assert_ptr_equal(t->p, copy + CTL_HEADER_LEN + off);
		assert_int_equal(CTL_HEADER_LEN + off + t->len, *used);
		if (data && t->len)
			memcpy(data, t->p, t->len);
		t->p = NULL;
	}
	free(copy);
	return rc;
}

/* Encode f, decode it back, and check every field and byte came back and
   the frame's size is used whole. */
static void round_trip(const struct ctl_frame *f)
{
	struct enc e = encode(f);
	struct ctl_frame in = *f, out;
	struct ctl_bytes *ti, *to;
	uint8_t *data;
	size_t used = 0, off;

	data = malloc(e.len);
	assert_non_null(data);
	assert_int_equal(decode_exact(e.p, e.len, &out, &used, data), 1);
	assert_int_equal(used, e.len);
	assert_int_equal(out.type, f->type);
	ti = tail_of(&in, &off);
	to = tail_of(&out, &off);
	if (ti) {
		assert_int_equal(to->len, ti->len);
		if (ti->len)
			assert_memory_equal(data, ti->p, ti->len);
		ti->p = NULL;
	}
	switch (f->type) {
	case CTL_HELLO:
		assert_int_equal(out.u.hello.mode, in.u.hello.mode);
		assert_int_equal(out.u.hello.flags, in.u.hello.flags);
		break;
	case CTL_WELCOME:
		assert_int_equal(out.u.welcome.pid, in.u.welcome.pid);
		assert_int_equal(out.u.welcome.nodes, in.u.welcome.nodes);
		break;
	case CTL_OUT:
		assert_int_equal(out.u.out.stream, in.u.out.stream);
		break;
	case CTL_DONE:
		assert_int_equal(out.u.done.status, in.u.done.status);
		break;
	default: break;
	}
	free(data);
	free(e.p);
}

static struct ctl_bytes str(const char *s)
{
	return (struct ctl_bytes){(const uint8_t *)s, (uint32_t)strlen(s)};
}

/* One ordinary frame of each type, in type order. */
static struct ctl_frame sample(int type)
{
	struct ctl_frame f = {.type = (enum ctl_type)type};

	switch (f.type) {
	case CTL_HELLO:
		f.u.hello.mode = CTL_MODE_ATTACH;
		f.u.hello.flags = CTL_F_JSON | CTL_F_TTY;
		f.u.hello.name = str("alice on /dev/pts/3");
		break;
	case CTL_LINE: f.u.line = str("uname -a"); break;
	case CTL_END: break;
	case CTL_WELCOME:
		f.u.welcome.pid = 4242;
		f.u.welcome.nodes = 5;
		f.u.welcome.name = str("default");
		break;
	case CTL_OUT:
		f.u.out.stream = CTL_STDOUT;
		f.u.out.data = str("#1 acked 5/5 in 0.41 ms, slowest node 3\n");
		break;
	case CTL_DONE: f.u.done.status = 1; break;
	case CTL_REFUSED:
		f.u.refused = str("fleet default belongs to another user");
		break;
	}
	return f;
}

/* A heap buffer of n bytes, each byte fill(i). */
static uint8_t *filled(size_t n, uint8_t (*fill)(size_t))
{
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = fill(i);
	return p;
}

static uint8_t any_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static uint8_t line_byte(size_t i) /* every byte but '\n' */
{
	uint8_t b = any_byte(i);
	return b == '\n' ? '\r' : b;
}

static uint8_t text_byte(size_t i) /* text: no ASCII control */
{
	uint8_t b = any_byte(i);
	return b < 0x20 || b == 0x7f ? (uint8_t)('a' + b % 26) : b;
}

static void test_sample_round_trips(void **state)
{
	(void)state;
	for (int t = 1; t <= NTYPES; t++) {
		struct ctl_frame f = sample(t);
		round_trip(&f);
	}
}

/* Every mode and every combination of flags. */
static void test_hello_modes_flags(void **state)
{
	struct ctl_frame f = sample(CTL_HELLO);

	(void)state;
	for (int m = 1; m <= CTL_MODE_MAX; m++)
		for (uint8_t fl = 0; fl <= CTL_F_ALL; fl++) {
			f.u.hello.mode = (enum ctl_mode)m;
			f.u.hello.flags = fl;
			round_trip(&f);
		}
}

/* The smallest body of each type: no name, no line, no output. */
static void test_empty_round_trips(void **state)
{
	struct ctl_frame f;
	size_t sizes[NTYPES + 1] = {0, 12, 8, 8, 17, 12, 12, 9};

	(void)state;
	for (int t = 1; t <= NTYPES; t++) {
		size_t off;
		struct ctl_bytes *b;

		f = sample(t);
		b = tail_of(&f, &off);
		if (b) {
			/* A fleet name and a reason are never empty. */
			b->len = t == CTL_WELCOME || t == CTL_REFUSED ? 1 : 0;
			if (b->len == 0)
				b->p = NULL;
		}
		if (t == CTL_DONE)
			f.u.done.status = 0;
		assert_int_equal(ctl_frame_size(&f), sizes[t]);
		round_trip(&f);
	}
}

/* The largest body of each byte field, and one byte more refused. */
static void test_max_round_trips(void **state)
{
	static const struct {
		enum ctl_type type;
		uint32_t max;
		uint8_t (*fill)(size_t);
	} cases[] = {{CTL_HELLO, CTL_MAX_NAME, text_byte},
	             {CTL_LINE, CTL_MAX_DATA, line_byte},
	             {CTL_WELCOME, CTL_MAX_NAME, text_byte},
	             {CTL_OUT, CTL_MAX_DATA, any_byte},
	             {CTL_REFUSED, CTL_MAX_TEXT, text_byte}};
	uint8_t out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_frame f = sample(cases[i].type);
		uint8_t *p = filled(cases[i].max + 1, cases[i].fill);
		struct ctl_bytes *b;
		size_t off;

		b = tail_of(&f, &off);
		b->p = p;
		b->len = cases[i].max;
		assert_int_equal(ctl_frame_size(&f),
		                 CTL_HEADER_LEN + off + cases[i].max);
		assert_true(ctl_frame_size(&f) <= CTL_MAX_FRAME);
		round_trip(&f);
		b->len++;
		assert_int_equal(ctl_frame_size(&f), 0);
		assert_int_equal(ctl_encode(out, sizeof(out), &f), 0);
		free(p);
	}
	/* OUT is the largest frame of all; HELLO's largest is the bound
	   before a peer is known. */
	assert_int_equal(CTL_MAX_FRAME,
	                 CTL_HEADER_LEN + CTL_OUT_FIXED + CTL_MAX_DATA);
	assert_int_equal(CTL_HELLO_MAX_FRAME, 8 + 4 + 64);
	/* A line is one message of the node protocol. */
	assert_int_equal(CTL_MAX_DATA, PROTO_MAX_PAYLOAD);
}

/* CTL_HELLO_MAX_FRAME bytes hold any HELLO whole: with that many bytes
   there, a first frame still asking for more is no HELLO. */
static void test_hello_bound(void **state)
{
	uint8_t *line = filled(CTL_MAX_DATA, line_byte);
	struct ctl_frame f = sample(CTL_HELLO);
	struct ctl_frame g;
	struct enc e;
	size_t used;

	(void)state;
	f.u.hello.name = (struct ctl_bytes){line, CTL_MAX_NAME};
	for (uint32_t i = 0; i < CTL_MAX_NAME; i++)
		line[i] = 'n';
	e = encode(&f);
	assert_int_equal(e.len, CTL_HELLO_MAX_FRAME);
	free(e.p);
	/* A whole line, then an OUT, each first on the wire. */
	f = sample(CTL_LINE);
	f.u.line = (struct ctl_bytes){line, CTL_MAX_DATA};
	e = encode(&f);
	assert_int_equal(
	    decode_exact(e.p, CTL_HELLO_MAX_FRAME, &g, &used, NULL), 0);
	free(e.p);
	f = sample(CTL_OUT);
	f.u.out.data = (struct ctl_bytes){line, 1000};
	e = encode(&f);
	assert_int_equal(
	    decode_exact(e.p, CTL_HELLO_MAX_FRAME, &g, &used, NULL), 0);
	free(e.p);
	free(line);
}

/* Statuses of SPEC §4 and the extremes. */
static void test_done_statuses(void **state)
{
	static const uint32_t ok[] = {0, 1, 64, 69, 78, 130, 143, 255};
	struct ctl_frame f = {.type = CTL_DONE};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		f.u.done.status = ok[i];
		round_trip(&f);
	}
}

/* f is not a frame: not sized, not encoded, nothing written. */
static void not_encoded(const struct ctl_frame *f)
{
	uint8_t out[CTL_HEADER_LEN + CTL_WELCOME_FIXED + CTL_MAX_TEXT + 8];

	memset(out, 0xA5, sizeof(out));
	assert_int_equal(ctl_frame_size(f), 0);
	assert_int_equal(ctl_encode(out, sizeof(out), f), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xA5);
}

/* Every value the decoder refuses, the encoder refuses to make. */
static void test_invalid_not_encoded(void **state)
{
	static const int types[] = {0, 8, 9, 0x7f, 0x80, 0xff, -1};
	static const uint8_t ctls[] = {0,    1,    '\t', '\n',
	                               '\r', 0x1b, 0x1f, 0x7f};
	struct ctl_frame f;
	uint8_t name[8];

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&f, 0, sizeof(f));
		f.type = (enum ctl_type)types[i];
		not_encoded(&f);
	}
	f = sample(CTL_HELLO);
	f.u.hello.mode = 0;
	not_encoded(&f);
	f.u.hello.mode = CTL_MODE_MAX + 1;
	not_encoded(&f);
	f.u.hello.mode = (enum ctl_mode) - 1;
	not_encoded(&f);
	f = sample(CTL_HELLO);
	for (int bit = 2; bit < 8; bit++) {
		f.u.hello.flags = (uint8_t)(1u << bit);
		not_encoded(&f);
	}
	for (size_t i = 0; i < sizeof(ctls); i++) {
		memcpy(name, "ab cd ef", 8);
		name[i % 8] = ctls[i];
		f = sample(CTL_HELLO);
		f.u.hello.name = (struct ctl_bytes){name, 8};
		not_encoded(&f);
		f = sample(CTL_WELCOME);
		f.u.welcome.name = (struct ctl_bytes){name, 8};
		not_encoded(&f);
		f = sample(CTL_REFUSED);
		f.u.refused = (struct ctl_bytes){name, 8};
		not_encoded(&f);
	}
	f = sample(CTL_LINE);
	f.u.line = str("two\nlines");
	not_encoded(&f);
	f.u.line = str("\n");
	not_encoded(&f);
	f = sample(CTL_WELCOME);
	f.u.welcome.name = str("");
	not_encoded(&f);
	f = sample(CTL_REFUSED);
	f.u.refused = str("");
	not_encoded(&f);
	f = sample(CTL_OUT);
	f.u.out.stream = 0;
	not_encoded(&f);
	f.u.out.stream = 3;
	not_encoded(&f);
	f = sample(CTL_DONE);
	f.u.done.status = 256;
	not_encoded(&f);
	f.u.done.status = UINT32_MAX;
	not_encoded(&f);
	/* Bytes announced but not given. */
	f = sample(CTL_OUT);
	f.u.out.data = (struct ctl_bytes){NULL, 1};
	not_encoded(&f);
}

static void test_encode_small_cap(void **state)
{
	(void)state;
	for (int t = 1; t <= NTYPES; t++) {
		struct ctl_frame f = sample(t);
		size_t size = ctl_frame_size(&f);
		uint8_t *out = malloc(size);

		assert_non_null(out);
		for (size_t cap = 0; cap < size; cap++)
			assert_int_equal(ctl_encode(out, cap, &f), 0);
		assert_int_equal(ctl_encode(out, size, &f), size);
		free(out);
	}
}

/* The bytes on the wire are exactly those ctl.h documents. */
static void test_wire_layout(void **state)
{
	static const uint8_t hello[] = {0, 0, 0, 6, 1, 1,   0,
	                                0, 2, 1, 0, 0, 'a', 'b'};
	static const uint8_t line[] = {0, 0, 0, 2, 1, 2, 0, 0, 'h', 'i'};
	static const uint8_t end[] = {0, 0, 0, 0, 1, 3, 0, 0};
	static const uint8_t welcome[] = {0, 0, 0, 9, 1, 4, 0, 0,  1,
	                                  2, 3, 4, 5, 6, 7, 8, 'f'};
	static const uint8_t out[] = {0, 0, 0, 6, 1, 5,   0,
	                              0, 2, 0, 0, 0, 'x', '\n'};
	static const uint8_t done[] = {0, 0, 0, 4, 1, 6, 0, 0, 0, 0, 0, 143};
	static const uint8_t refused[] = {0, 0, 0, 2, 1, 7, 0, 0, 'n', 'o'};
	static const struct {
		const uint8_t *bytes;
		size_t len;
	} wire[NTYPES + 1] = {
	    {NULL, 0},
	    {hello, sizeof(hello)},
	    {line, sizeof(line)},
	    {end, sizeof(end)},
	    {welcome, sizeof(welcome)},
	    {out, sizeof(out)},
	    {done, sizeof(done)},
	    {refused, sizeof(refused)},
	};
	struct ctl_frame fs[NTYPES + 1];

	(void)state;
	memset(fs, 0, sizeof(fs));
	fs[1].type = CTL_HELLO;
	fs[1].u.hello.mode = CTL_MODE_SEND;
	fs[1].u.hello.flags = CTL_F_JSON;
	fs[1].u.hello.name = str("ab");
	fs[2].type = CTL_LINE;
	fs[2].u.line = str("hi");
	fs[3].type = CTL_END;
	fs[4].type = CTL_WELCOME;
	fs[4].u.welcome.pid = 0x01020304u;
	fs[4].u.welcome.nodes = 0x05060708u;
	fs[4].u.welcome.name = str("f");
	fs[5].type = CTL_OUT;
	fs[5].u.out.stream = CTL_STDERR;
	fs[5].u.out.data = str("x\n");
	fs[6].type = CTL_DONE;
	fs[6].u.done.status = 143;
	fs[7].type = CTL_REFUSED;
	fs[7].u.refused = str("no");
	for (int t = 1; t <= NTYPES; t++) {
		struct enc e = encode(&fs[t]);
		struct ctl_frame g;
		size_t used;

		assert_int_equal(e.len, wire[t].len);
		assert_memory_equal(e.p, wire[t].bytes, e.len);
		free(e.p);
		assert_int_equal(
		    decode_exact(wire[t].bytes, wire[t].len, &g, &used, NULL),
		    1);
		assert_int_equal(used, wire[t].len);
	}
}

/* Every proper prefix of a frame of each type needs more bytes, and
   touches neither output; so does a large frame short by one byte. */
static void test_truncated(void **state)
{
	struct ctl_frame big = {.type = CTL_OUT};
	uint8_t *data = filled(CTL_MAX_DATA, any_byte);
	struct enc e;

	(void)state;
	for (int t = 1; t <= NTYPES + 1; t++) {
		struct ctl_frame f = t <= NTYPES ? sample(t) : big;

		if (t > NTYPES) {
			f.u.out.stream = CTL_STDOUT;
			f.u.out.data = (struct ctl_bytes){data, CTL_MAX_DATA};
		}
		e = encode(&f);
		for (size_t n = 0; n < e.len; n++) {
			struct ctl_frame g, sentinel;
			size_t used = 12345;

			/* Of the 1 MiB frame, the start and the end. */
			if (t > NTYPES && n > 64 && n < e.len - 64)
				n = e.len - 64;
			memset(&g, 0x5A, sizeof(g));
			memcpy(&sentinel, &g, sizeof(g));
			assert_int_equal(decode_exact(e.p, n, &g, &used, NULL),
			                 0);
			assert_int_equal(used, 12345);
			assert_memory_equal(&g, &sentinel, sizeof(g));
		}
		free(e.p);
	}
	free(data);
}

/* Write a header with the given fields into h. */
static void header(uint8_t h[CTL_HEADER_LEN], uint32_t body, uint8_t ver,
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

/* Decode a frame of type made of a valid header and body (n bytes), and
   return the result; the outputs must be untouched unless it is 1. */
static int decode_body(uint8_t type, const void *body, size_t n)
{
	uint8_t *in = malloc(CTL_HEADER_LEN + n);
	struct ctl_frame g, sentinel;
	size_t used = 12345;
	int rc;

	assert_non_null(in);
	header(in, (uint32_t)n, CTL_VERSION, type, 0);
	if (n)
		memcpy(in + CTL_HEADER_LEN, body, n);
	memset(&g, 0x5A, sizeof(g));
	memcpy(&sentinel, &g, sizeof(g));
	rc = decode_exact(in, CTL_HEADER_LEN + n, &g, &used, NULL);
	if (rc != 1) {
		assert_int_equal(used, 12345);
		assert_memory_equal(&g, &sentinel, sizeof(g));
	} else {
		assert_int_equal(used, CTL_HEADER_LEN + n);
	}
	free(in);
	return rc;
}

/* Decode a bare header (body absent) from an exact-size buffer. */
static int decode_header(uint32_t body, uint8_t ver, uint8_t type,
                         uint16_t reserved)
{
	uint8_t h[CTL_HEADER_LEN];
	struct ctl_frame f, sentinel;
	size_t used = 12345;
	int rc;

	header(h, body, ver, type, reserved);
	memset(&f, 0x5A, sizeof(f));
	memcpy(&sentinel, &f, sizeof(f));
	rc = decode_exact(h, sizeof(h), &f, &used, NULL);
	assert_int_equal(used, 12345);
	assert_memory_equal(&f, &sentinel, sizeof(f));
	return rc;
}

/* A body over its type's bound is refused from the 8 header bytes alone,
   before any of it arrives: a stranger cannot make a daemon buffer a
   megabyte with a HELLO. */
static void test_too_big(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t max;
	} tails[] = {{CTL_HELLO, CTL_HELLO_FIXED + CTL_MAX_NAME},
	             {CTL_LINE, CTL_MAX_DATA},
	             {CTL_WELCOME, CTL_WELCOME_FIXED + CTL_MAX_NAME},
	             {CTL_OUT, CTL_OUT_FIXED + CTL_MAX_DATA},
	             {CTL_REFUSED, CTL_MAX_TEXT}};

	(void)state;
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		uint32_t max = tails[i].max;
		uint8_t t = tails[i].type;

		/* Exactly the bound is fine: more bytes are needed. */
		assert_int_equal(decode_header(max, CTL_VERSION, t, 0), 0);
		assert_int_equal(decode_header(max + 1, CTL_VERSION, t, 0),
		                 CTL_E_TOO_BIG);
		assert_int_equal(
		    decode_header(CTL_MAX_BODY + 1, CTL_VERSION, t, 0),
		    CTL_E_TOO_BIG);
		assert_int_equal(decode_header(0x80000000u, CTL_VERSION, t, 0),
		                 CTL_E_TOO_BIG);
		assert_int_equal(decode_header(UINT32_MAX, CTL_VERSION, t, 0),
		                 CTL_E_TOO_BIG);
	}
	/* Fixed-size types: past the largest body of all, too big; below,
	   the wrong length. */
	assert_int_equal(
	    decode_header(CTL_MAX_BODY + 1, CTL_VERSION, CTL_END, 0),
	    CTL_E_TOO_BIG);
	assert_int_equal(decode_header(UINT32_MAX, CTL_VERSION, CTL_DONE, 0),
	                 CTL_E_TOO_BIG);
	assert_int_equal(decode_header(CTL_MAX_BODY, CTL_VERSION, CTL_DONE, 0),
	                 CTL_E_LENGTH);
}

/* A version is refused from the header, before the type or anything else
   is looked at, and ctl_version_of() names it. */
static void test_wrong_version(void **state)
{
	static const uint8_t versions[] = {0, CTL_VERSION + 1, 0x81, 255};

	(void)state;
	for (size_t i = 0; i < sizeof(versions); i++) {
		uint8_t h[CTL_HEADER_LEN];

		assert_int_equal(decode_header(0, versions[i], CTL_END, 0),
		                 CTL_E_VERSION);
		assert_int_equal(decode_header(4, versions[i], CTL_HELLO, 0),
		                 CTL_E_VERSION);
		/* A header wrong in every other way too. */
		assert_int_equal(
		    decode_header(UINT32_MAX, versions[i], 0xEE, 0xFFFF),
		    CTL_E_VERSION);
		header(h, UINT32_MAX, versions[i], 0xEE, 0xFFFF);
		assert_int_equal(ctl_version_of(h, sizeof(h)), versions[i]);
	}
}

static void test_version_of(void **state)
{
	uint8_t h[CTL_HEADER_LEN];

	(void)state;
	header(h, 0, CTL_VERSION, CTL_END, 0);
	assert_int_equal(ctl_version_of(h, sizeof(h)), CTL_VERSION);
	for (size_t n = 0; n < CTL_HEADER_LEN; n++)
		assert_int_equal(ctl_version_of(h, n), -1);
	/* A node protocol frame is told apart by its version, the only
	   thing both protocols' headers are sure to agree on reading. */
	header(h, 8, PROTO_VERSION, 2, 0);
	assert_int_equal(ctl_version_of(h, sizeof(h)), PROTO_VERSION);
	assert_int_not_equal(PROTO_VERSION, CTL_VERSION);
}

static void test_unknown_type(void **state)
{
	static const uint8_t types[] = {0, NTYPES + 1, 9, 0x81, 0xC0, 255};

	(void)state;
	for (size_t i = 0; i < sizeof(types); i++) {
		assert_int_equal(decode_header(0, CTL_VERSION, types[i], 0),
		                 CTL_E_TYPE);
		assert_int_equal(decode_header(12, CTL_VERSION, types[i], 0),
		                 CTL_E_TYPE);
		assert_int_equal(
		    decode_header(UINT32_MAX, CTL_VERSION, types[i], 0xFFFF),
		    CTL_E_TYPE);
	}
}

/* Reserved bits of the header and of HELLO's and OUT's fixed parts. */
static void test_reserved_bits(void **state)
{
	(void)state;
	for (int bit = 0; bit < 16; bit++) {
		uint8_t hello[4] = {CTL_MODE_ATTACH, 0, 0, 0};
		uint8_t out[4] = {CTL_STDOUT, 0, 0, 0};

		assert_int_equal(decode_header(0, CTL_VERSION, CTL_END,
		                               (uint16_t)(1u << bit)),
		                 CTL_E_RESERVED);
		hello[2 + bit / 8] = (uint8_t)(1u << bit % 8);
		assert_int_equal(decode_body(CTL_HELLO, hello, 4),
		                 CTL_E_RESERVED);
		out[2 + bit / 8] = (uint8_t)(1u << bit % 8);
		assert_int_equal(decode_body(CTL_OUT, out, 4), CTL_E_RESERVED);
	}
	for (int bit = 0; bit < 8; bit++) {
		uint8_t out[4] = {CTL_STDERR, (uint8_t)(1u << bit), 0, 0};

		assert_int_equal(decode_body(CTL_OUT, out, 4), CTL_E_RESERVED);
	}
	/* Reserved bits come before the length. */
	assert_int_equal(decode_header(3, CTL_VERSION, CTL_DONE, 1),
	                 CTL_E_RESERVED);
}

/* A body length the type cannot have is refused from the header. */
static void test_wrong_length(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t body;
	} cases[] = {
	    {CTL_HELLO, 0},  {CTL_HELLO, 3},   {CTL_END, 1},     {CTL_END, 4},
	    {CTL_END, 1000}, {CTL_WELCOME, 0}, {CTL_WELCOME, 7}, {CTL_OUT, 0},
	    {CTL_OUT, 3},    {CTL_DONE, 0},    {CTL_DONE, 3},    {CTL_DONE, 5},
	    {CTL_DONE, 8},   {CTL_DONE, 1000},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
		    decode_header(cases[i].body, CTL_VERSION, cases[i].type, 0),
		    CTL_E_LENGTH);
}

/* Every impossible value of a field, decoded from a whole frame. */
static void test_bad_values(void **state)
{
	static const uint8_t ctls[] = {0,    1,    '\t', '\n',
	                               '\r', 0x1b, 0x1f, 0x7f};
	uint8_t b[16];

	(void)state;
	/* HELLO: modes and flags. */
	for (int m = 0; m < 256; m++) {
		uint8_t hello[4] = {(uint8_t)m, 0, 0, 0};
		int ok = m >= 1 && m <= CTL_MODE_MAX;

		assert_int_equal(decode_body(CTL_HELLO, hello, 4),
		                 ok ? 1 : CTL_E_VALUE);
	}
	for (int fl = 0; fl < 256; fl++) {
		uint8_t hello[4] = {CTL_MODE_SEND, (uint8_t)fl, 0, 0};

		assert_int_equal(decode_body(CTL_HELLO, hello, 4),
		                 fl & ~CTL_F_ALL ? CTL_E_VALUE : 1);
	}
	/* Text: no control byte anywhere; the rest is fine. */
	for (size_t i = 0; i < sizeof(ctls); i++) {
		for (size_t at = 0; at < 3; at++) {
			memcpy(b, "\x01\x00\x00\x00xyz", 7);
			b[4 + at] = ctls[i];
			assert_int_equal(decode_body(CTL_HELLO, b, 7),
			                 CTL_E_VALUE);
			memcpy(b, "\0\0\0\1\0\0\0\2xyz", 11);
			b[8 + at] = ctls[i];
			assert_int_equal(decode_body(CTL_WELCOME, b, 11),
			                 CTL_E_VALUE);
			memcpy(b, "xyz", 3);
			b[at] = ctls[i];
			assert_int_equal(decode_body(CTL_REFUSED, b, 3),
			                 CTL_E_VALUE);
		}
	}
	memcpy(b, "\x01\x00\x00\x00 ~\x80\xff\xc3\xa9", 10);
	assert_int_equal(decode_body(CTL_HELLO, b, 10), 1);
	assert_int_equal(decode_body(CTL_REFUSED, b + 4, 6), 1);
	/* A fleet name, a reason: never empty. */
	assert_int_equal(decode_body(CTL_WELCOME, "\0\0\0\1\0\0\0\2", 8),
	                 CTL_E_VALUE);
	assert_int_equal(decode_body(CTL_REFUSED, NULL, 0), CTL_E_VALUE);
	/* LINE: no newline; any other byte, CR and NUL included. */
	assert_int_equal(decode_body(CTL_LINE, "\n", 1), CTL_E_VALUE);
	assert_int_equal(decode_body(CTL_LINE, "a\nb", 3), CTL_E_VALUE);
	assert_int_equal(decode_body(CTL_LINE, "ab\n", 3), CTL_E_VALUE);
	assert_int_equal(decode_body(CTL_LINE, "a\r\0\x7f\xff", 5), 1);
	assert_int_equal(decode_body(CTL_LINE, NULL, 0), 1);
	/* OUT: two streams; its bytes are anything. */
	for (int s = 0; s < 256; s++) {
		uint8_t out[6] = {(uint8_t)s, 0, 0, 0, '\n', 0};
		int ok = s == CTL_STDOUT || s == CTL_STDERR;

		assert_int_equal(decode_body(CTL_OUT, out, 6),
		                 ok ? 1 : CTL_E_VALUE);
	}
	/* DONE: an exit status, 0..255. */
	assert_int_equal(decode_body(CTL_DONE, "\0\0\0\xff", 4), 1);
	assert_int_equal(decode_body(CTL_DONE, "\0\0\1\0", 4), CTL_E_VALUE);
	assert_int_equal(decode_body(CTL_DONE, "\x80\0\0\0", 4), CTL_E_VALUE);
	assert_int_equal(decode_body(CTL_DONE, "\xff\xff\xff\xff", 4),
	                 CTL_E_VALUE);
}

static uint32_t rng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random bytes never crash the decoder or read past them (ASan); a result
   is always one of the documented ones, and a frame decoded encodes back
   to its bytes. */
static void test_garbage(void **state)
{
	uint32_t seed = 0x2468ACE1;
	unsigned seen[8] = {0}; /* results 1 .. CTL_E_VALUE */
	uint8_t in[96], out[96];

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		size_t len = rng(&seed) % sizeof(in), used = 0;
		struct ctl_frame f;
		int rc;

		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)rng(&seed);
		/* Steer some cases past the version and type checks. */
		if (len > 5 && iter % 2) {
			in[4] = CTL_VERSION;
			in[5] = (uint8_t)(1 + rng(&seed) % NTYPES);
		}
		if (len > 7 && iter % 4 == 1)
			in[6] = in[7] = 0;
		if (len > 3 && iter % 8 == 1) {
			in[0] = in[1] = in[2] = 0;
			in[3] = (uint8_t)(rng(&seed) % 32);
		}
		if (len > 12 && iter % 16 == 1) { /* plausible HELLO, OUT */
			in[8] = (uint8_t)(1 + rng(&seed) % 2);
			in[9] &= 3;
			in[10] = in[11] = 0;
			for (size_t i = 12; i < len; i++)
				in[i] = (uint8_t)(0x20 + in[i] % 0x5f);
		}
		rc = ctl_decode(in, len, &f, &used);
		if (rc >= CTL_E_VALUE && rc <= 1)
			seen[1 - rc]++;
		else
			fail_msg("iteration %d: result %d", iter, rc);
		if (rc == 1) {
			assert_in_range(used, CTL_HEADER_LEN, len);
			assert_in_range(f.type, CTL_HELLO, CTL_REFUSED);
			assert_int_equal(ctl_encode(out, sizeof(out), &f),
			                 used);
			assert_memory_equal(out, in, used);
		}
	}
	/* The steering reached every outcome, so the loop tested them. */
	for (int i = 0; i < 8; i++)
		if (seen[i] == 0)
			fail_msg("result %d never seen", 1 - i);
}

/* Printable junk, and a node protocol frame, are refused once 8 bytes
   are there. */
static void test_garbage_text(void **state)
{
	static const char *const junk[] = {"GET / HTTP/1.1\r\n\r\n",
	                                   "hello world\n", "status\r\n\r\n",
	                                   "\xff\xff\xff\xff\xff\xff\xff\xff"};
	uint8_t ack[PROTO_ACK_FRAME_LEN];
	struct frame pf = {.type = FRAME_ACK};
	struct ctl_frame f;
	size_t used;

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_true(decode_exact((const uint8_t *)junk[i],
		                         strlen(junk[i]), &f, &used, NULL) < 0);
	/* Fewer than 8 bytes of anything: more are needed. */
	assert_int_equal(
	    decode_exact((const uint8_t *)"status\n", 7, &f, &used, NULL), 0);
	assert_int_equal(proto_encode(ack, sizeof(ack), &pf), sizeof(ack));
	assert_int_equal(decode_exact(ack, sizeof(ack), &f, &used, NULL),
	                 CTL_E_VERSION);
}

/* A session's frames back to back decode one after another; a partial
   frame behind a whole one waits. */
static void test_back_to_back(void **state)
{
	static const int order[] = {CTL_HELLO, CTL_LINE,    CTL_LINE,
	                            CTL_END,   CTL_WELCOME, CTL_OUT,
	                            CTL_OUT,   CTL_DONE,    CTL_REFUSED};
	enum { N = sizeof(order) / sizeof(order[0]) };
	struct ctl_frame fs[N];
	size_t sizes[N], total = 0, off = 0;
	uint8_t *all;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		fs[i] = sample(order[i]);
		total += sizes[i] = ctl_frame_size(&fs[i]);
	}
	fs[2].u.line = str("");
	total -= sizes[2];
	total += sizes[2] = ctl_frame_size(&fs[2]);
	fs[6].u.out.stream = CTL_STDERR;
	all = malloc(total);
	assert_non_null(all);
	for (size_t i = 0; i < N; i++)
		off += ctl_encode(all + off, total - off, &fs[i]);
	assert_int_equal(off, total);

	off = 0;
	for (size_t i = 0; i < N; i++) {
		struct ctl_frame g;
		size_t used = 0;

		assert_int_equal(
		    decode_exact(all + off, total - off, &g, &used, NULL), 1);
		assert_int_equal(used, sizes[i]);
		assert_int_equal(g.type, fs[i].type);
		off += used;
	}
	assert_int_equal(off, total);
	{
		struct ctl_frame g;
		size_t used = 0;

		assert_int_equal(
		    decode_exact(all, sizes[0] + 5, &g, &used, NULL), 1);
		assert_int_equal(used, sizes[0]);
		assert_int_equal(decode_exact(all + used, 5, &g, &used, NULL),
		                 0);
	}
	free(all);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(ctl_from_client(CTL_HELLO));
	assert_true(ctl_from_client(CTL_LINE));
	assert_true(ctl_from_client(CTL_END));
	assert_false(ctl_from_client(CTL_WELCOME));
	assert_false(ctl_from_client(CTL_OUT));
	assert_false(ctl_from_client(CTL_DONE));
	assert_false(ctl_from_client(CTL_REFUSED));
	assert_false(ctl_from_client((enum ctl_type)0));
	assert_string_equal(ctl_mode_name(CTL_MODE_ATTACH), "attach");
	assert_string_equal(ctl_mode_name(CTL_MODE_SEND), "send");
	assert_string_equal(ctl_mode_name(CTL_MODE_STATUS), "status");
	assert_string_equal(ctl_mode_name(CTL_MODE_STOP), "stop");
	assert_string_equal(ctl_mode_name((enum ctl_mode)0), "?");
	assert_string_equal(ctl_mode_name((enum ctl_mode)(CTL_MODE_MAX + 1)),
	                    "?");
	assert_string_equal(ctl_mode_name((enum ctl_mode) - 1), "?");
}

static void test_strerror(void **state)
{
	static const int codes[] = {CTL_E_VERSION,  CTL_E_TYPE,
	                            CTL_E_TOO_BIG,  CTL_E_LENGTH,
	                            CTL_E_RESERVED, CTL_E_VALUE};
	const char *none = ctl_strerror(0);

	(void)state;
	assert_string_equal(none, "no error");
	assert_string_equal(ctl_strerror(1), none);
	assert_string_equal(ctl_strerror(-7), none);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = ctl_strerror(codes[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, none);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s, ctl_strerror(codes[j]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sample_round_trips),
	    cmocka_unit_test(test_hello_modes_flags),
	    cmocka_unit_test(test_empty_round_trips),
	    cmocka_unit_test(test_max_round_trips),
	    cmocka_unit_test(test_hello_bound),
	    cmocka_unit_test(test_done_statuses),
	    cmocka_unit_test(test_invalid_not_encoded),
	    cmocka_unit_test(test_encode_small_cap),
	    cmocka_unit_test(test_wire_layout),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_wrong_version),
	    cmocka_unit_test(test_version_of),
	    cmocka_unit_test(test_unknown_type),
	    cmocka_unit_test(test_reserved_bits),
	    cmocka_unit_test(test_wrong_length),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_garbage_text),
	    cmocka_unit_test(test_back_to_back),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
