/*
 * fuzz_hostproto.c - libFuzzer target for the host-mode protocol's line
 * codec.
 *
 * Splits the input at newlines and parses each line, from a copy of
 * exactly its length. Each line that is a message must have its fields in
 * their documented ranges, its words printable and one blank apart, and
 * its text inside the line; appended, it must make one line of at most
 * HOSTPROTO_LINE_MAX bytes that parses back to the same message, and appends
 * again to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hostproto.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the n bytes at p are printable ASCII or blanks. */
static int printable(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < ' ' || (unsigned char)p[i] > '~')
			return 0;
	return 1;
}

/* Whether the n bytes at p are words, one blank between each, with one
   after the last when a text follows (with_text) and none else. */
static int words_ok(const char *p, size_t n, int with_text)
{
	if (n == 0 || p[0] == ' ')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (p[i] == ' ' && p[i - 1] == ' ')
			return 0;
	return with_text || p[n - 1] != ' ';
}

static int has_text(const struct hostmsg *m)
{
	return m->type == HOST_OUT || m->type == HOST_ERROR;
}

/* Abort unless m, parsed from the len bytes at line, is as documented. */
static void check_parsed(const char *line, size_t len, const struct hostmsg *m)
{
	size_t end = len > 0 && line[len - 1] == '\r' ? len - 1 : len;
	size_t words = end;

	if (m->type > HOST_ERROR || m->index > 4095)
		abort();
	if (has_text(m)) {
		if (!m->text || m->text < line || m->textlen > end ||
		    m->text + m->textlen != line + end ||
		    m->textlen > HOSTPROTO_TEXT_MAX)
			abort();
		words = (size_t)(m->text - line);
	}
	if (!printable(line, words) || !words_ok(line, words, has_text(m)))
		abort();
	switch (m->type) {
	case HOST_HELLO:
		if (m->token[0] ? strlen(m->token) != TOKEN_HEX_LEN
		                : m->pid <= 0)
			abort();
		break;
	case HOST_START:
		if (m->port < 1 || m->port > 65535 || m->addr[0] == '\0' ||
		    !memchr(m->addr, '\0', sizeof(m->addr)) ||
		    !printable(m->addr, strlen(m->addr)) ||
		    strchr(m->addr, ' '))
			abort();
		break;
	case HOST_SIGNAL:
		if (m->signo < 1 || m->signo > 64)
			abort();
		break;
	case HOST_STARTED:
		if (m->pid <= 0)
			abort();
		break;
	case HOST_EXIT:
		if (m->signo ? m->signo > 64 || m->code != 0
		             : m->code < 0 || m->code > 255)
			abort();
		break;
	default: break;
	}
}

/* Abort unless a and b are the same message (the fields their type
   has, and the same text). */
static void check_same(const struct hostmsg *a, const struct hostmsg *b)
{
	if (a->type != b->type)
		abort();
	switch (a->type) {
	case HOST_HELLO:
		if (a->version != b->version || strcmp(a->token, b->token) ||
		    (!a->token[0] && a->pid != b->pid))
			abort();
		break;
	case HOST_START:
		if (a->index != b->index || a->port != b->port ||
		    strcmp(a->addr, b->addr))
			abort();
		break;
	case HOST_SIGNAL:
		if (a->index != b->index || a->signo != b->signo)
			abort();
		break;
	case HOST_STARTED:
		if (a->index != b->index || a->pid != b->pid)
			abort();
		break;
	case HOST_EXIT:
		if (a->index != b->index || a->signo != b->signo ||
		    a->code != b->code)
			abort();
		break;
	case HOST_OUT:
	case HOST_READY:
	case HOST_EMPTY:
		if (a->index != b->index)
			abort();
		break;
	case HOST_ERROR: break;
	}
	if (has_text(a) &&
	    (a->textlen != b->textlen ||
	     (a->textlen && memcmp(a->text, b->text, a->textlen) != 0)))
		abort();
}

/* Append m to an empty buffer and abort unless it is one line of at
   most HOSTPROTO_LINE_MAX bytes, newline included. */
static void append_line(const struct hostmsg *m, struct buf *b)
{
	memset(b, 0, sizeof(*b));
	if (hostproto_append(b, m) < 0)
		abort();
	if (buf_used(b) < 2 || buf_used(b) > HOSTPROTO_LINE_MAX ||
	    buf_head(b)[buf_used(b) - 1] != '\n' ||
	    memchr(buf_head(b), '\n', buf_used(b) - 1))
		abort();
}

/* Parse one line; if it is a message, check it and its round trip. */
static void one_line(const uint8_t *p, size_t len)
{
	struct hostmsg m, again;
	struct buf b1, b2;
	char *line;

	if (len == 0) {
		if (hostproto_parse("", 0, &m) == 0)
			abort();
		return;
	}
	/* A copy of exactly len bytes: ASan sees any read past the line. */
	line = malloc(len);
	if (!line)
		abort();
	memcpy(line, p, len);
	if (hostproto_parse(line, len, &m) == 0) {
		check_parsed(line, len, &m);
		append_line(&m, &b1);
		if (hostproto_parse((const char *)buf_head(&b1),
		                    buf_used(&b1) - 1, &again) < 0)
			abort();
		check_same(&m, &again);
		append_line(&again, &b2);
		if (buf_used(&b2) != buf_used(&b1) ||
		    memcmp(buf_head(&b2), buf_head(&b1), buf_used(&b1)) != 0)
			abort();
		buf_free(&b1);
		buf_free(&b2);
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;

		one_line(data + off, len);
		off += len + 1;
	}
	return 0;
}
