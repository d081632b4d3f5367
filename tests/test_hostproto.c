/* test_hostproto.c - unit tests for the host-mode protocol
   (common/hostproto.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "hostproto.h"
#include "token.h"

#define INDEX_MAX 4095
#define PID_MAX   2147483647

/* A token, as a literal to build lines with and as an array. */
#define TOK "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char tok[] = TOK;

/* A parsed message and a copy of its text, which is freed with the line
   it points into. */
struct parsed {
	struct hostmsg m;
	char text[HOSTPROTO_LINE_MAX];
};

/* Parse len bytes of line from a heap copy of exactly len bytes, so that
   ASan reports any read past them. A text must point into the copy and
   end where the line ends (before a final CR); it is copied into p->text
   and its pointer cleared. */
static int parse_exact(const char *line, size_t len, struct parsed *p)
{
	char *copy = malloc(len ? len : 1);
	size_t end = len;
	int rc;

	assert_non_null(copy);
	if (len)
		memcpy(copy, line, len);
	memset(&p->m, 0xA5, sizeof(p->m));
	rc = hostproto_parse(copy, len, &p->m);
	if (rc == 0 && (p->m.type == HOST_OUT || p->m.type == HOST_ERROR)) {
		if (end > 0 && copy[end - 1] == '\r')
			end--;
		assert_non_null(p->m.text);
		assert_true(p->m.textlen <= HOSTPROTO_TEXT_MAX);
		assert_true(p->m.text >= copy);
		assert_ptr_equal(p->m.text + p->m.textlen, copy + end);
		memcpy(p->text, p->m.text, p->m.textlen);
		p->m.text = NULL;
	}
	free(copy);
	return rc;
}

static int parse_str(const char *line, struct parsed *p)
{
	return parse_exact(line, strlen(line), p);
}

/* The first bytes of line, C escapes for what is not printable, in
   out. */
static const char *shown(const char *line, size_t len, char out[200])
{
	size_t o = 0;

	for (size_t i = 0; i < len && o < 190; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c >= ' ' && c <= '~' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

/* Assert that len bytes of line are no message. */
static void refused_n(const char *line, size_t len)
{
	struct parsed p;

	if (parse_exact(line, len, &p) != -1) {
		char s[200];
		fail_msg("accepted: \"%s\" (%zu bytes)", shown(line, len, s),
		         len);
	}
}

static void refused(const char *line)
{
	refused_n(line, strlen(line));
}

/* Assert that line is a message of type t, into *p. */
static void accepted(const char *line, enum hostmsg_type t, struct parsed *p)
{
	if (parse_str(line, p) != 0) {
		char s[200];
		fail_msg("refused: \"%s\"", shown(line, strlen(line), s));
	}
	assert_int_equal(p->m.type, t);
}

/* Append m to an empty buffer: exactly one line, newline at its end,
   within HOSTPROTO_LINE_MAX. The caller frees b. */
static void append_line(const struct hostmsg *m, struct buf *b)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(hostproto_append(b, m), 0);
	assert_true(buf_used(b) >= 2);
	assert_true(buf_used(b) <= HOSTPROTO_LINE_MAX);
	assert_int_equal(buf_head(b)[buf_used(b) - 1], '\n');
	assert_null(memchr(buf_head(b), '\n', buf_used(b) - 1));
}

/* Assert that got carries the fields of want its type has; the text is
   compared with want_text, want_len. */
static void same_fields(const struct parsed *got, const struct hostmsg *want,
                        const char *want_text, size_t want_len)
{
	const struct hostmsg *m = &got->m;

	assert_int_equal(m->type, want->type);
	switch (want->type) {
	case HOST_HELLO: /* an order has a token, a report a pid */
		assert_int_equal(m->version, want->version);
		assert_string_equal(m->token, want->token);
		if (want->token[0] == '\0')
			assert_int_equal(m->pid, want->pid);
		break;
	case HOST_START:
		assert_int_equal(m->index, want->index);
		assert_int_equal(m->port, want->port);
		assert_string_equal(m->addr, want->addr);
		break;
	case HOST_SIGNAL:
		assert_int_equal(m->index, want->index);
		assert_int_equal(m->signo, want->signo);
		break;
	case HOST_STARTED:
		assert_int_equal(m->index, want->index);
		assert_int_equal(m->pid, want->pid);
		break;
	case HOST_EXIT:
		assert_int_equal(m->index, want->index);
		assert_int_equal(m->signo, want->signo);
		assert_int_equal(m->code, want->code);
		break;
	case HOST_OUT:
	case HOST_READY:
	case HOST_EMPTY: assert_int_equal(m->index, want->index); break;
	case HOST_ERROR: break;
	}
	if ((want->type == HOST_OUT || want->type == HOST_ERROR) &&
	    (m->textlen != want_len ||
	     (want_len && memcmp(got->text, want_text, want_len) != 0))) {
		char g[200], w[200];

		fail_msg("text \"%s\" (%zu bytes), want \"%s\" (%zu "
		         "bytes)",
		         shown(got->text, m->textlen, g), m->textlen,
		         shown(want_text, want_len, w), want_len);
	}
}

/* Append m, parse the line back (without its newline), and check it
   carries m's fields and the text want_text, want_len; return the
   line's length with its newline. */
static size_t round_trip_text(const struct hostmsg *m, const char *want_text,
                              size_t want_len)
{
	struct parsed *p = malloc(sizeof(*p));
	struct buf b;
	size_t n;

	assert_non_null(p);
	append_line(m, &b);
	n = buf_used(&b);
	if (parse_exact((const char *)buf_head(&b), n - 1, p) != 0) {
		char s[200];
		fail_msg("appended line refused: \"%s\"",
		         shown((const char *)buf_head(&b), n - 1, s));
	}
	same_fields(p, m, want_text, want_len);
	free(p);
	buf_free(&b);
	return n;
}

/* Round trip of m, whose text must come back whole. */
static size_t round_trip(const struct hostmsg *m)
{
	return round_trip_text(m, m->text, m->textlen);
}

/* Assert that m appends as exactly want (newline included) and parses
   back. */
static void wire_is(const struct hostmsg *m, const char *want)
{
	struct buf b;

	append_line(m, &b);
	assert_int_equal(buf_used(&b), strlen(want));
	assert_memory_equal(buf_head(&b), want, strlen(want));
	buf_free(&b);
	round_trip(m);
}

/* A heap buffer of n bytes, each byte fill(i). */
static char *filled(size_t n, char (*fill)(size_t))
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = fill(i);
	return p;
}

static char line_byte(size_t i) /* every byte but '\n' */
{
	unsigned char b = (unsigned char)(i * 7 + 3);
	return (char)(b == '\n' ? 0 : b);
}

static char addr_byte(size_t i) /* printable, no blank */
{
	return (char)('!' + i % ('~' - '!' + 1));
}

/* One line of len bytes: prefix, then fill up to len. */
static char *line_of(const char *prefix, size_t len, char c)
{
	size_t n = strlen(prefix);
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	assert_true(len >= n);
	memcpy(p, prefix, n);
	memset(p + n, c, len - n);
	return p;
}

/* Each type on the wire, exactly as hostproto.h draws it. */
static void test_wire_layout(void **state)
{
	struct hostmsg m;

	(void)state;
	m = (struct hostmsg){.type = HOST_HELLO, .version = 1};
	memcpy(m.token, tok, sizeof(tok));
	wire_is(&m, "fanout-host 1 " TOK "\n");
	m = (struct hostmsg){.type = HOST_HELLO, .version = 1, .pid = 4242};
	wire_is(&m, "fanout-host 1 4242\n");
	m = (struct hostmsg){.type = HOST_START, .index = 7, .port = 4007};
	strcpy(m.addr, "10.0.0.2");
	wire_is(&m, "start 7 4007 10.0.0.2\n");
	m = (struct hostmsg){.type = HOST_SIGNAL, .index = 7, .signo = 15};
	wire_is(&m, "signal 7 15\n");
	m = (struct hostmsg){.type = HOST_STARTED, .index = 7, .pid = 31337};
	wire_is(&m, "started 7 31337\n");
	m = (struct hostmsg){.type = HOST_READY, .index = 7};
	wire_is(&m, "ready 7\n");
	m = (struct hostmsg){
	    .type = HOST_OUT, .index = 7, .text = "hi there", .textlen = 8};
	wire_is(&m, "out 7 hi there\n");
	m = (struct hostmsg){.type = HOST_EXIT, .index = 7, .code = 3};
	wire_is(&m, "exit 7 code 3\n");
	m = (struct hostmsg){.type = HOST_EXIT, .index = 7, .signo = 9};
	wire_is(&m, "exit 7 signal 9\n");
	m = (struct hostmsg){.type = HOST_EMPTY, .index = 7};
	wire_is(&m, "empty 7\n");
	m = (struct hostmsg){
	    .type = HOST_ERROR, .text = "no node here", .textlen = 12};
	wire_is(&m, "error no node here\n");
}

/* Every type at the ends of its fields' ranges. */
static void test_round_trip_ranges(void **state)
{
	static const unsigned indexes[] = {0, 1, 99, INDEX_MAX};
	char addr[HOSTPROTO_ADDR_MAX + 1];
	struct hostmsg m;

	(void)state;
	for (size_t i = 0; i < HOSTPROTO_ADDR_MAX; i++)
		addr[i] = addr_byte(i);
	addr[HOSTPROTO_ADDR_MAX] = '\0';
	for (size_t k = 0; k < sizeof(indexes) / sizeof(indexes[0]); k++) {
		unsigned ix = indexes[k];

		m = (struct hostmsg){.type = HOST_START, .index = ix};
		strcpy(m.addr, "h");
		m.port = 1;
		round_trip(&m);
		m.port = 65535;
		round_trip(&m);
		strcpy(m.addr, addr);
		round_trip(&m);
		strcpy(m.addr, "node-1.cluster.example.org");
		round_trip(&m);
		strcpy(m.addr, "[fe80::1%eth0]");
		round_trip(&m);
		m = (struct hostmsg){.type = HOST_SIGNAL, .index = ix};
		for (int s = 1; s <= 64; s++) {
			m.signo = s;
			round_trip(&m);
		}
		m = (struct hostmsg){.type = HOST_STARTED, .index = ix};
		m.pid = 1;
		round_trip(&m);
		m.pid = PID_MAX;
		round_trip(&m);
		m = (struct hostmsg){.type = HOST_READY, .index = ix};
		round_trip(&m);
		m = (struct hostmsg){.type = HOST_EMPTY, .index = ix};
		round_trip(&m);
		m = (struct hostmsg){
		    .type = HOST_OUT, .index = ix, .text = "x", .textlen = 1};
		round_trip(&m);
	}
}

/* The order carries the token, the report the host daemon's pid. */
static void test_hello(void **state)
{
	static const unsigned versions[] = {1, 2, 7, 65535};
	static const int pids[] = {1, 2, 4242, PID_MAX};
	struct hostmsg m;
	struct parsed p;

	(void)state;
	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		m = (struct hostmsg){.type = HOST_HELLO,
		                     .version = versions[v]};
		memcpy(m.token, tok, sizeof(tok));
		round_trip(&m);
		for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
			m = (struct hostmsg){.type = HOST_HELLO,
			                     .version = versions[v],
			                     .pid = pids[i]};
			round_trip(&m);
		}
	}
	/* A token of digits only is a token, not a pid; capitals are
	   hex. */
	accepted(
	    "fanout-host 1 "
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    HOST_HELLO, &p);
	assert_int_equal(strlen(p.m.token), TOKEN_HEX_LEN);
	assert_int_equal(p.m.pid, 0);
	accepted(
	    "fanout-host 1 "
	    "0123456789ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef",
	    HOST_HELLO, &p);
	assert_string_equal(p.m.token, "0123456789ABCDEF0123456789abcdef"
	                               "0123456789ABCDEF0123456789abcdef");
	/* A report has no token; the version is taken whatever it is. */
	accepted("fanout-host 2 77", HOST_HELLO, &p);
	assert_int_equal(p.m.version, 2);
	assert_int_equal(p.m.pid, 77);
	assert_string_equal(p.m.token, "");
	accepted("fanout-host 9999 77", HOST_HELLO, &p);
	assert_int_equal(p.m.version, 9999);
}

static void test_exit(void **state)
{
	static const int codes[] = {0, 1, 2, 64, 69, 78, 126, 127, 255};
	struct hostmsg m = {.type = HOST_EXIT, .index = 3};
	struct parsed p;

	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		m.code = codes[i];
		round_trip(&m);
	}
	m.code = 0;
	for (int s = 1; s <= 64; s++) {
		m.signo = s;
		round_trip(&m);
	}
	/* A code and a signal exclude each other. */
	accepted("exit 3 code 0", HOST_EXIT, &p);
	assert_int_equal(p.m.code, 0);
	assert_int_equal(p.m.signo, 0);
	accepted("exit 4 signal 15", HOST_EXIT, &p);
	assert_int_equal(p.m.index, 4);
	assert_int_equal(p.m.code, 0);
	assert_int_equal(p.m.signo, 15);
	accepted("exit 5 code 255", HOST_EXIT, &p);
	assert_int_equal(p.m.code, 255);
	assert_int_equal(p.m.signo, 0);
}

/* Text of any byte but a newline, NULs and CRs among them, comes back
   whole. */
static void test_text_any_bytes(void **state)
{
	char all[255], nuls[] = {'\0', 'a', '\0', '\0', 'b', '\0', 'c'};
	char *big = filled(HOSTPROTO_TEXT_MAX, line_byte);
	size_t n = 0;
	struct hostmsg m;

	(void)state;
	for (int c = 255; c >= 0; c--) /* ends in 0x00, not a CR */
		if (c != '\n')
			all[n++] = (char)c;
	assert_int_equal(n, sizeof(all));
	m = (struct hostmsg){
	    .type = HOST_OUT, .index = 1, .text = all, .textlen = n};
	round_trip(&m);
	m = (struct hostmsg){.type = HOST_ERROR, .text = all, .textlen = n};
	round_trip(&m);
	m = (struct hostmsg){
	    .type = HOST_OUT, .index = 2, .text = nuls, .textlen = 7};
	round_trip(&m);
	m.text = "\0";
	m.textlen = 1;
	round_trip(&m);
	m.text = "a\rb";
	m.textlen = 3;
	round_trip(&m);
	m.text = "  leading and trailing blanks  ";
	m.textlen = strlen(m.text);
	round_trip(&m);
	m.text = "out 2 ready 3 \t";
	m.textlen = strlen(m.text);
	round_trip(&m);
	m = (struct hostmsg){.type = HOST_OUT,
	                     .index = INDEX_MAX,
	                     .text = big,
	                     .textlen = HOSTPROTO_TEXT_MAX};
	round_trip(&m);
	free(big);
}

/* A text whose last byte is a CR comes back with it: the parser drops a
   CR before the newline, so the line must still end in one after the
   text's own. */
static void test_text_ending_in_cr(void **state)
{
	static const char *const texts[] = {"\r", "abc\r", "a\r\r",
	                                    "progress 50%\r"};
	struct hostmsg m;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		m = (struct hostmsg){.type = HOST_OUT,
		                     .index = 1,
		                     .text = texts[i],
		                     .textlen = strlen(texts[i])};
		round_trip(&m);
		m = (struct hostmsg){.type = HOST_ERROR,
		                     .text = texts[i],
		                     .textlen = strlen(texts[i])};
		round_trip(&m);
	}
}

static void test_text_empty(void **state)
{
	struct hostmsg m;
	struct parsed p;

	(void)state;
	m = (struct hostmsg){.type = HOST_OUT, .index = 6, .text = ""};
	wire_is(&m, "out 6 \n");
	m.text = NULL;
	wire_is(&m, "out 6 \n");
	m = (struct hostmsg){.type = HOST_ERROR, .text = ""};
	wire_is(&m, "error \n");
	m.text = NULL;
	wire_is(&m, "error \n");
	/* Without the blank before the text too. */
	accepted("out 6", HOST_OUT, &p);
	assert_int_equal(p.m.index, 6);
	assert_int_equal(p.m.textlen, 0);
	accepted("error", HOST_ERROR, &p);
	assert_int_equal(p.m.textlen, 0);
}

/* Longer text is cut at HOSTPROTO_TEXT_MAX, and the parser takes no
   more. */
static void test_text_max(void **state)
{
	char *big = filled(HOSTPROTO_TEXT_MAX + 100, line_byte);
	char *line;
	struct hostmsg m;
	struct parsed *p = malloc(sizeof(*p));
	size_t n;

	(void)state;
	assert_non_null(p);
	m = (struct hostmsg){.type = HOST_OUT,
	                     .index = INDEX_MAX,
	                     .text = big,
	                     .textlen = HOSTPROTO_TEXT_MAX};
	n = round_trip(&m);
	assert_int_equal(n, strlen("out 4095 ") + HOSTPROTO_TEXT_MAX + 1);
	m.textlen = HOSTPROTO_TEXT_MAX + 1;
	assert_int_equal(round_trip_text(&m, big, HOSTPROTO_TEXT_MAX), n);
	m.textlen = HOSTPROTO_TEXT_MAX + 100;
	assert_int_equal(round_trip_text(&m, big, HOSTPROTO_TEXT_MAX), n);
	m = (struct hostmsg){
	    .type = HOST_ERROR, .text = big, .textlen = HOSTPROTO_TEXT_MAX + 1};
	n = round_trip_text(&m, big, HOSTPROTO_TEXT_MAX);
	assert_int_equal(n, strlen("error ") + HOSTPROTO_TEXT_MAX + 1);

	/* The parser: TEXT_MAX bytes of text are a message, one more is
	   not; a final CR is not text. */
	line = line_of("out 1 ", 6 + HOSTPROTO_TEXT_MAX + 1, 'x');
	assert_int_equal(parse_exact(line, 6 + HOSTPROTO_TEXT_MAX, p), 0);
	assert_int_equal(p->m.textlen, HOSTPROTO_TEXT_MAX);
	refused_n(line, 6 + HOSTPROTO_TEXT_MAX + 1);
	line[6 + HOSTPROTO_TEXT_MAX] = '\r';
	assert_int_equal(parse_exact(line, 6 + HOSTPROTO_TEXT_MAX + 1, p), 0);
	assert_int_equal(p->m.textlen, HOSTPROTO_TEXT_MAX);
	free(line);
	line = line_of("error ", 6 + HOSTPROTO_TEXT_MAX + 1, 'y');
	assert_int_equal(parse_exact(line, 6 + HOSTPROTO_TEXT_MAX, p), 0);
	assert_int_equal(p->m.type, HOST_ERROR);
	assert_int_equal(p->m.textlen, HOSTPROTO_TEXT_MAX);
	refused_n(line, 6 + HOSTPROTO_TEXT_MAX + 1);
	free(line);
	free(big);
	free(p);
}

/* Text is cut at its first newline, within HOSTPROTO_TEXT_MAX. */
static void test_text_newline(void **state)
{
	char *big = filled(HOSTPROTO_TEXT_MAX + 10, line_byte);
	struct hostmsg m = {.type = HOST_OUT, .index = 2};

	(void)state;
	m.text = "abc\ndef";
	m.textlen = 7;
	round_trip_text(&m, "abc", 3);
	m.text = "\nabc";
	m.textlen = 4;
	round_trip_text(&m, "", 0);
	m.text = "a\n\nb\n";
	m.textlen = 5;
	round_trip_text(&m, "a", 1);
	m.text = "a\0b\nc";
	m.textlen = 5;
	round_trip_text(&m, "a\0b", 3);
	m.text = "ab\r\ncd"; /* the CR is the text's: it stays */
	m.textlen = 6;
	round_trip_text(&m, "ab\r", 3);
	m.text = "abc\n";
	m.textlen = 3; /* the newline is past the text */
	round_trip_text(&m, "abc", 3);
	m.text = big;
	big[HOSTPROTO_TEXT_MAX - 1] = '\n';
	m.textlen = HOSTPROTO_TEXT_MAX + 10;
	round_trip_text(&m, big, HOSTPROTO_TEXT_MAX - 1);
	big[HOSTPROTO_TEXT_MAX - 1] = 'z';
	big[HOSTPROTO_TEXT_MAX] = '\n'; /* past the cut */
	round_trip_text(&m, big, HOSTPROTO_TEXT_MAX);
	m = (struct hostmsg){
	    .type = HOST_ERROR, .text = "bad\nworse", .textlen = 9};
	round_trip_text(&m, "bad", 3);
	free(big);
}

/* A CR before the end of a line is not part of it; one anywhere else
   is. */
static void test_cr(void **state)
{
	struct parsed p;

	(void)state;
	accepted("ready 3\r", HOST_READY, &p);
	assert_int_equal(p.m.index, 3);
	accepted("start 2 4002 h\r", HOST_START, &p);
	assert_string_equal(p.m.addr, "h");
	accepted("exit 1 code 0\r", HOST_EXIT, &p);
	accepted("fanout-host 1 5\r", HOST_HELLO, &p);
	assert_int_equal(p.m.pid, 5);
	accepted("out 1 abc\r", HOST_OUT, &p);
	assert_int_equal(p.m.textlen, 3);
	assert_memory_equal(p.text, "abc", 3);
	accepted("out 1 \r", HOST_OUT, &p);
	assert_int_equal(p.m.textlen, 0);
	accepted("out 1 a\rb", HOST_OUT, &p);
	assert_int_equal(p.m.textlen, 3);
	assert_memory_equal(p.text, "a\rb", 3);
	accepted("out 1 \rb", HOST_OUT, &p);
	assert_int_equal(p.m.textlen, 2);
	accepted("error broken\r", HOST_ERROR, &p);
	assert_int_equal(p.m.textlen, 6);
	/* Only one, and only at the end. */
	accepted("out 1 a\r\r", HOST_OUT, &p);
	assert_int_equal(p.m.textlen, 2);
	assert_memory_equal(p.text, "a\r", 2);
	refused("ready 3\r\r");
	refused("ready\r 3");
	refused("ready 3\rx");
	refused("start 2 4002 h\r\r");
	refused("\r");
	refused("\r\r");
}

static void test_unknown_type(void **state)
{
	static const char *const lines[] = {
	    "hello 1 2",
	    "Start 1 2 x",
	    "START 1 2 x",
	    "star 1 2 x",
	    "startx 1 2 x",
	    "start1 2 x",
	    "st",
	    "s",
	    "readyx 3",
	    "read 3",
	    "ready3",
	    "out1 x",
	    "outx 1 x",
	    "ou 1 x",
	    "errors x",
	    "erro x",
	    "error\tx",
	    "exited 1 code 0",
	    "emptyy 1",
	    "signals 1 9",
	    "started1 9",
	    "fanout 1 42",
	    "fanout-hos 1 42",
	    "fanout-hostx 1 42",
	    "fanout_host 1 42",
	    "Warning: Permanently added 'h' (ED25519) to known hosts.",
	    "bash: node: command not found",
	    "x",
	};
	struct parsed p;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		refused(lines[i]);
	refused_n("ready\0 3", 8);
	refused_n("\0ready 3", 8);
	refused_n("error\0x", 7);
	/* The near twins are messages. */
	accepted("start 1 2 x", HOST_START, &p);
	accepted("ready 3", HOST_READY, &p);
	accepted("error x", HOST_ERROR, &p);
}

static void test_empty_line(void **state)
{
	(void)state;
	refused_n("", 0);
	refused_n("ready 3", 0);
	refused(" ");
	refused("  ");
	refused(" \r");
	refused_n("\0", 1);
}

/* A line of HOSTPROTO_LINE_MAX bytes or more is no message, whatever
   it begins with. */
static void test_line_max(void **state)
{
	static const char *const prefixes[] = {"out 1 ", "error ", "ready 3",
	                                       "x"};
	static const size_t lens[] = {HOSTPROTO_LINE_MAX,
	                              HOSTPROTO_LINE_MAX + 1,
	                              2 * HOSTPROTO_LINE_MAX, 1 << 20};
	char *line;

	(void)state;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			line = line_of(prefixes[i], lens[j], 'a');
			refused_n(line, lens[j]);
			line[lens[j] - 1] = '\r';
			refused_n(line, lens[j]);
			free(line);
		}
	/* Every message appended fits, and the largest has room. */
	assert_true(strlen("out 4095 ") + HOSTPROTO_TEXT_MAX + 2 <=
	            HOSTPROTO_LINE_MAX);
	assert_true(strlen("start 4095 65535 ") + HOSTPROTO_ADDR_MAX + 1 <=
	            HOSTPROTO_LINE_MAX);
}

static void test_double_blanks(void **state)
{
	static const char *const lines[] = {
	    "start  1 2 x",
	    "start 1  2 x",
	    "start 1 2  x",
	    "signal  1 9",
	    "signal 1  9",
	    "started  1 9",
	    "started 1  9",
	    "ready  3",
	    "empty  3",
	    "exit  1 code 0",
	    "exit 1  code 0",
	    "exit 1 code  0",
	    "fanout-host  1 42",
	    "fanout-host 1  42",
	    ("fanout-host  1 " TOK),
	    "out  3 x",
	    "out  3",
	};
	struct parsed p;

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		refused(lines[i]);
	/* After the words, blanks are text. */
	accepted("out 3  x", HOST_OUT, &p);
	assert_int_equal(p.m.textlen, 2);
	assert_memory_equal(p.text, " x", 2);
	accepted("error  x ", HOST_ERROR, &p);
	assert_int_equal(p.m.textlen, 3);
	assert_memory_equal(p.text, " x ", 3);
	accepted("out 3    ", HOST_OUT, &p);
	assert_int_equal(p.m.textlen, 3);
}

/* A message without text has no blank before or after its words. */
static void test_leading_blank(void **state)
{
	static const char *const lines[] = {
	    " start 1 2 x", " signal 1 9",    " started 1 9",      " ready 3",
	    " empty 3",     " exit 1 code 0", " fanout-host 1 42", " out 3 x",
	    " error x",     "\tready 3",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		refused(lines[i]);
}

static void test_trailing_blank(void **state)
{
	static const char *const lines[] = {
	    "start 1 2 x ",     "signal 1 9 ",       "started 1 9 ",
	    "ready 3 ",         "empty 3 ",          "exit 1 code 0 ",
	    "exit 1 signal 9 ", "fanout-host 1 42 ", ("fanout-host 1 " TOK " "),
	    "ready 3 \r",       "ready 3\t",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		refused(lines[i]);
}

static void test_missing_words(void **state)
{
	static const char *const lines[] = {
	    "fanout-host", "fanout-host ", "fanout-host 1", "fanout-host 1 ",
	    "start",       "start ",       "start 1",       "start 1 2",
	    "start 1 2 ",  "signal",       "signal 1",      "signal 1 ",
	    "started",     "started 1",    "ready",         "ready ",
	    "empty",       "empty ",       "exit",          "exit 1",
	    "exit 1 code", "exit 1 code ", "exit 1 signal", "exit 1 9",
	    "out",         "out ",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		refused(lines[i]);
}

static void test_extra_words(void **state)
{
	static const char *const lines[] = {
	    "fanout-host 1 42 43",
	    "fanout-host 1 42 x",
	    ("fanout-host 1 " TOK " x"),
	    "start 1 2 x y",
	    "signal 1 9 9",
	    "started 1 42 43",
	    "ready 3 4",
	    "ready 3 x",
	    "empty 3 4",
	    "exit 1 code 0 0",
	    "exit 1 signal 9 x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		refused(lines[i]);
}

/* Below 4096 for every message about a node. */
static void test_index_range(void **state)
{
	static const char *const around[][2] = {
	    {"start ", " 2 x"}, {"signal ", " 9"}, {"started ", " 9"},
	    {"ready ", ""},     {"empty ", ""},    {"exit ", " code 0"},
	    {"out ", " text"},
	};
	static const char *const bad[] = {
	    "4096",
	    "4097",
	    "9999",
	    "65536",
	    "4294967295",
	    "4294967296",
	    "18446744073709551616",
	    "-1",
	    "+1",
	    "0x10",
	    "1e3",
	    "1.0",
	    "a",
	};
	char line[128];
	struct parsed p;

	(void)state;
	for (size_t f = 0; f < sizeof(around) / sizeof(around[0]); f++) {
		snprintf(line, sizeof(line), "%s4095%s", around[f][0],
		         around[f][1]);
		if (parse_str(line, &p) != 0)
			fail_msg("refused: \"%s\"", line);
		assert_int_equal(p.m.index, INDEX_MAX);
		snprintf(line, sizeof(line), "%s0%s", around[f][0],
		         around[f][1]);
		if (parse_str(line, &p) != 0)
			fail_msg("refused: \"%s\"", line);
		assert_int_equal(p.m.index, 0);
		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			snprintf(line, sizeof(line), "%s%s%s", around[f][0],
			         bad[b], around[f][1]);
			refused(line);
		}
	}
}

static void test_port_range(void **state)
{
	struct parsed p;

	(void)state;
	accepted("start 1 1 h", HOST_START, &p);
	assert_int_equal(p.m.port, 1);
	accepted("start 1 65535 h", HOST_START, &p);
	assert_int_equal(p.m.port, 65535);
	refused("start 1 0 h");
	refused("start 1 65536 h");
	refused("start 1 99999 h");
	refused("start 1 4294967297 h");
	refused("start 1 -1 h");
	refused("start 1 +80 h");
	refused("start 1 http h");
}

/* Positive and within an int, for the host daemon and for a node. */
static void test_pid_range(void **state)
{
	static const char *const bad[] = {
	    "0",
	    "2147483648",
	    "4294967295",
	    "4294967296",
	    "18446744073709551615",
	    "-1",
	    "+1",
	    "1a",
	    "0x1",
	};
	char line[128];
	struct parsed p;

	(void)state;
	accepted("started 1 1", HOST_STARTED, &p);
	assert_int_equal(p.m.pid, 1);
	accepted("started 1 2147483647", HOST_STARTED, &p);
	assert_int_equal(p.m.pid, PID_MAX);
	accepted("fanout-host 1 1", HOST_HELLO, &p);
	assert_int_equal(p.m.pid, 1);
	accepted("fanout-host 1 2147483647", HOST_HELLO, &p);
	assert_int_equal(p.m.pid, PID_MAX);
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		snprintf(line, sizeof(line), "started 1 %s", bad[b]);
		refused(line);
		snprintf(line, sizeof(line), "fanout-host 1 %s", bad[b]);
		refused(line);
	}
}

static void test_signal_range(void **state)
{
	struct parsed p;

	(void)state;
	accepted("signal 1 1", HOST_SIGNAL, &p);
	assert_int_equal(p.m.signo, 1);
	accepted("signal 1 64", HOST_SIGNAL, &p);
	assert_int_equal(p.m.signo, 64);
	accepted("exit 1 signal 1", HOST_EXIT, &p);
	assert_int_equal(p.m.signo, 1);
	accepted("exit 1 signal 64", HOST_EXIT, &p);
	assert_int_equal(p.m.signo, 64);
	refused("signal 1 0");
	refused("signal 1 65");
	refused("signal 1 -9");
	refused("signal 1 +9");
	refused("signal 1 TERM");
	refused("signal 1 SIGTERM");
	refused("signal 1 4294967305"); /* 9 modulo 2^32 */
	refused("exit 1 signal 0");
	refused("exit 1 signal 65");
	refused("exit 1 signal -9");
	refused("exit 1 signal KILL");
}

static void test_exit_words(void **state)
{
	struct parsed p;

	(void)state;
	accepted("exit 1 code 255", HOST_EXIT, &p);
	refused("exit 1 code 256");
	refused("exit 1 code 4294967296");
	refused("exit 1 code -1");
	refused("exit 1 code +1");
	refused("exit 1 kind 3");
	refused("exit 1 Code 3");
	refused("exit 1 codes 3");
	refused("exit 1 cod 3");
	refused("exit 1 signals 3");
	refused("exit 1 sig 3");
	refused("exit 1 status 3");
	refused("exit 1 3 code");
	refused("exit 1 code 3x");
}

static void test_token(void **state)
{
	static const char not_hex[] = {'g', 'G',  'x',        'z',        '-',
	                               ':', 0x7f, (char)0x80, (char)0xff, '\t'};
	char line[256];
	char t[TOKEN_HEX_LEN + 2];
	struct parsed p;

	(void)state;
	/* 63 and 65 hex digits, letters and digits. */
	memcpy(t, tok, TOKEN_HEX_LEN);
	t[TOKEN_HEX_LEN - 1] = '\0';
	snprintf(line, sizeof(line), "fanout-host 1 %s", t);
	refused(line);
	t[TOKEN_HEX_LEN - 1] = tok[TOKEN_HEX_LEN - 1];
	t[TOKEN_HEX_LEN] = 'a';
	t[TOKEN_HEX_LEN + 1] = '\0';
	snprintf(line, sizeof(line), "fanout-host 1 %s", t);
	refused(line);
	/* 63 and 65 decimal digits: no token, and no pid either. */
	memset(t, '7', sizeof(t) - 1);
	t[TOKEN_HEX_LEN - 1] = '\0';
	snprintf(line, sizeof(line), "fanout-host 1 %s", t);
	refused(line);
	t[TOKEN_HEX_LEN - 1] = '7';
	snprintf(line, sizeof(line), "fanout-host 1 %s", t);
	refused(line);
	/* 64 characters, one of them no hex digit. */
	for (size_t i = 0; i < sizeof(not_hex); i++)
		for (size_t at = 0; at < TOKEN_HEX_LEN; at += 21) {
			memcpy(t, tok, TOKEN_HEX_LEN + 1);
			t[at] = not_hex[i];
			snprintf(line, sizeof(line), "fanout-host 1 %s", t);
			refused(line);
		}
	/* The twin with the token whole is a message. */
	snprintf(line, sizeof(line), "fanout-host 1 %s", tok);
	accepted(line, HOST_HELLO, &p);
	assert_string_equal(p.m.token, tok);
	assert_int_equal(p.m.pid, 0);
	/* A token is no pid for the other messages. */
	snprintf(line, sizeof(line), "started 1 %s", tok);
	refused(line);
}

static void test_address(void **state)
{
	static const char bad[] = {1, '\t', '\r', 0x1b, 0x1f, 0x7f};
	char addr[HOSTPROTO_ADDR_MAX + 2];
	char line[HOSTPROTO_ADDR_MAX + 64];
	struct parsed p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad); i++) {
		snprintf(line, sizeof(line), "start 1 80 ho%cst", bad[i]);
		refused(line);
		snprintf(line, sizeof(line), "start 1 80 %c", bad[i]);
		refused(line);
	}
	/* Bytes past ASCII are no printable characters. */
	refused("start 1 80 h\x80st");
	refused("start 1 80 h\xc3\xa9");
	refused("start 1 80 \xff");
	for (size_t i = 0; i < HOSTPROTO_ADDR_MAX + 1; i++)
		addr[i] = addr_byte(i);
	addr[HOSTPROTO_ADDR_MAX] = '\0';
	snprintf(line, sizeof(line), "start 1 80 %s", addr);
	accepted(line, HOST_START, &p);
	assert_string_equal(p.m.addr, addr);
	addr[HOSTPROTO_ADDR_MAX] = 'x';
	addr[HOSTPROTO_ADDR_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "start 1 80 %s", addr);
	refused(line);
	accepted("start 1 80 a", HOST_START, &p);
	assert_string_equal(p.m.addr, "a");
}

/* Numbers are decimal digits alone. */
static void test_number_syntax(void **state)
{
	static const char *const lines[] = {
	    "ready -3",          "ready +3",          "ready 3.",
	    "ready 3a",          "ready 0x3",         "ready \t3",
	    "ready \v3",         "ready 3\t",         "signal 1 +9",
	    "signal 1 9.0",      "started 1 -42",     "started 1 +42",
	    "start 1 +80 h",     "start 1 80. h",     "exit 1 code +0",
	    "exit 1 code -0",    "exit 1 signal +9",  "fanout-host +1 42",
	    "fanout-host -1 42", "fanout-host 1 +42", "fanout-host 1 -42",
	    "fanout-host x 42",  "fanout-host 1x 42",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		refused(lines[i]);
}

/* A NUL byte is in no word: the word is not cut there. */
static void test_nul_in_words(void **state)
{
	static const struct {
		const char *line;
		size_t len;
	} lines[] = {
#define L(s) {s, sizeof(s) - 1}
	    L("ready 3\0"),
	    L("ready 3\0x"),
	    L("ready \0"),
	    L("empty 3\0"),
	    L("started 1 42\0"),
	    L("started 1 42\0000"),
	    L("signal 1 9\0"),
	    L("start 1 80 host\0"),
	    L("start 1 80 host\0evil"),
	    L("start 1 80\0 host"),
	    L("exit 1 code 0\0"),
	    L("exit 1 code\0 0"),
	    L("fanout-host 1 42\0"),
	    L("fanout-host 1\0 42"),
	    L("out 3\0 text"),
#undef L
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		refused_n(lines[i].line, lines[i].len);
}

/* The text points into the line; fields of other types are not read
   into it. */
static void test_text_in_line(void **state)
{
	static const char line[] = "out 12 hello";
	struct hostmsg m;

	(void)state;
	assert_int_equal(hostproto_parse(line, sizeof(line) - 1, &m), 0);
	assert_ptr_equal(m.text, line + 7);
	assert_int_equal(m.textlen, 5);
	assert_int_equal(m.index, 12);
	/* len is honoured: what follows is not read. */
	assert_int_equal(hostproto_parse(line, 8, &m), 0);
	assert_int_equal(m.textlen, 1);
	assert_int_equal(hostproto_parse(line, 6, &m), 0);
	assert_int_equal(m.index, 12);
	assert_int_equal(m.textlen, 0);
	assert_int_equal(hostproto_parse(line, 5, &m), 0);
	assert_int_equal(m.index, 1);
	assert_int_equal(hostproto_parse("ready 34", 7, &m), 0);
	assert_int_equal(m.index, 3);
}

/* Appending adds a line after what the buffer holds. */
static void test_append_after(void **state)
{
	struct hostmsg a = {.type = HOST_READY, .index = 1};
	struct hostmsg e = {.type = HOST_ERROR, .text = "x", .textlen = 1};
	static const char want[] = "ready 1\nerror x\nready 1\n";
	struct buf b = {0};

	(void)state;
	assert_int_equal(hostproto_append(&b, &a), 0);
	assert_int_equal(hostproto_append(&b, &e), 0);
	assert_int_equal(hostproto_append(&b, &a), 0);
	assert_int_equal(buf_used(&b), sizeof(want) - 1);
	assert_memory_equal(buf_head(&b), want, sizeof(want) - 1);
	buf_consume(&b, 8);
	assert_int_equal(hostproto_append(&b, &e), 0);
	assert_int_equal(buf_used(&b), 24);
	assert_memory_equal(buf_head(&b), "error x\nready 1\nerror x\n", 24);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wire_layout),
	    cmocka_unit_test(test_round_trip_ranges),
	    cmocka_unit_test(test_hello),
	    cmocka_unit_test(test_exit),
	    cmocka_unit_test(test_text_any_bytes),
	    cmocka_unit_test(test_text_ending_in_cr),
	    cmocka_unit_test(test_text_empty),
	    cmocka_unit_test(test_text_max),
	    cmocka_unit_test(test_text_newline),
	    cmocka_unit_test(test_cr),
	    cmocka_unit_test(test_unknown_type),
	    cmocka_unit_test(test_empty_line),
	    cmocka_unit_test(test_line_max),
	    cmocka_unit_test(test_double_blanks),
	    cmocka_unit_test(test_leading_blank),
	    cmocka_unit_test(test_trailing_blank),
	    cmocka_unit_test(test_missing_words),
	    cmocka_unit_test(test_extra_words),
	    cmocka_unit_test(test_index_range),
	    cmocka_unit_test(test_port_range),
	    cmocka_unit_test(test_pid_range),
	    cmocka_unit_test(test_signal_range),
	    cmocka_unit_test(test_exit_words),
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_address),
	    cmocka_unit_test(test_number_syntax),
	    cmocka_unit_test(test_nul_in_words),
	    cmocka_unit_test(test_text_in_line),
	    cmocka_unit_test(test_append_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
