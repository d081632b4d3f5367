/* hostproto.c - see hostproto.h. */
#include "hostproto.h"

#include <string.h>

#include "parse.h"
#include "token.h"

#define WORDS_MAX 4 /* a message's words before its text */
#define INDEX_MAX 4095
#define PID_MAX   0x7fffffff
#define SIGNO_MAX 64

static const char *const names[] = {
    [HOST_HELLO] = HOSTPROTO_MAGIC, [HOST_START] = "start",
    [HOST_SIGNAL] = "signal",       [HOST_STARTED] = "started",
    [HOST_READY] = "ready",         [HOST_OUT] = "out",
    [HOST_EXIT] = "exit",           [HOST_EMPTY] = "empty",
    [HOST_ERROR] = "error",
};

/* The words of a line: at most max, each NUL-terminated in store. */
struct words {
	char store[WORDS_MAX][HOSTPROTO_ADDR_MAX + 1];
	unsigned n;
	size_t rest; /* where the text after the words begins */
};

/* Split the first max words of line (blank-separated, one blank each)
   into w; the rest of the line is left as text from w->rest. Return 0,
   or -1 for an empty or over-long word, or one holding a NUL. */
static int split(const char *line, size_t len, unsigned max, struct words *w)
{
	size_t i = 0;

	w->n = 0;
	while (w->n < max && i < len) {
		size_t end = i;
		while (end < len && line[end] != ' ')
			end++;
		if (end == i || end - i > HOSTPROTO_ADDR_MAX ||
		    memchr(line + i, '\0', end - i))
			return -1;
		memcpy(w->store[w->n], line + i, end - i);
		w->store[w->n][end - i] = '\0';
		w->n++;
		i = end < len ? end + 1 : end;
	}
	w->rest = i;
	return 0;
}

/* Whether s is 1..255 printable ASCII characters, no blank (an
   address). */
static int addr_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HOSTPROTO_ADDR_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Whether s is a token's hex digits. */
static int token_ok(const char *s)
{
	return strlen(s) == TOKEN_HEX_LEN &&
	       strspn(s, "0123456789abcdefABCDEF") == TOKEN_HEX_LEN;
}

static int parse_hello(const struct words *w, struct hostmsg *m)
{
	unsigned pid;

	if (w->n != 3 || parse_uint(w->store[1], 1, 0xffff, &m->version) < 0)
		return -1;
	if (token_ok(w->store[2])) {
		memcpy(m->token, w->store[2], TOKEN_HEX_LEN + 1);
		m->pid = 0;
		return 0;
	}
	if (parse_uint(w->store[2], 1, PID_MAX, &pid) < 0)
		return -1;
	m->token[0] = '\0';
	m->pid = (int)pid;
	return 0;
}

static int parse_exit(const struct words *w, struct hostmsg *m)
{
	unsigned v;
	int signaled;

	if (w->n != 4)
		return -1;
	signaled = strcmp(w->store[2], "signal") == 0;
	if (!signaled && strcmp(w->store[2], "code") != 0)
		return -1;
	if (parse_uint(w->store[3], signaled ? 1 : 0,
	               signaled ? SIGNO_MAX : 255, &v) < 0)
		return -1;
	m->signo = signaled ? (int)v : 0;
	m->code = signaled ? 0 : (int)v;
	return 0;
}

/* The words a type has before its text (OUT, ERROR) or in all. */
static unsigned words_of(enum hostmsg_type t)
{
	switch (t) {
	case HOST_HELLO: return 3;
	case HOST_START: return 4;
	case HOST_SIGNAL:
	case HOST_STARTED: return 3;
	case HOST_READY:
	case HOST_EMPTY:
	case HOST_OUT: return 2;
	case HOST_EXIT: return 4;
	case HOST_ERROR: return 1;
	}
	return 0;
}

/* Parse what follows the type word of m->type; return 0 or -1. */
static int parse_body(const struct words *w, struct hostmsg *m)
{
	unsigned v;

	if (m->type == HOST_HELLO)
		return parse_hello(w, m);
	if (m->type != HOST_ERROR &&
	    (w->n < 2 || parse_uint(w->store[1], 0, INDEX_MAX, &m->index) < 0))
		return -1;
	switch (m->type) {
	case HOST_START:
		if (w->n != 4 ||
		    parse_uint(w->store[2], 1, 65535, &m->port) < 0 ||
		    !addr_ok(w->store[3]))
			return -1;
		strcpy(m->addr, w->store[3]);
		return 0;
	case HOST_SIGNAL:
		if (w->n != 3 || parse_uint(w->store[2], 1, SIGNO_MAX, &v) < 0)
			return -1;
		m->signo = (int)v;
		return 0;
	case HOST_STARTED:
		if (w->n != 3 || parse_uint(w->store[2], 1, PID_MAX, &v) < 0)
			return -1;
		m->pid = (int)v;
		return 0;
	case HOST_EXIT: return parse_exit(w, m);
	default: return w->n == words_of(m->type) ? 0 : -1;
	}
}

int hostproto_parse(const char *line, size_t len, struct hostmsg *m)
{
	struct words w;
	const char *end;
	size_t type_len;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0 || len >= HOSTPROTO_LINE_MAX)
		return -1;
	end = memchr(line, ' ', len);
	type_len = end ? (size_t)(end - line) : len;
	memset(m, 0, sizeof(*m));
	for (m->type = HOST_HELLO; m->type <= HOST_ERROR; m->type++)
		if (strlen(names[m->type]) == type_len &&
		    memcmp(line, names[m->type], type_len) == 0)
			break;
	if (m->type > HOST_ERROR)
		return -1;
	if (split(line, len, words_of(m->type), &w) < 0 ||
	    parse_body(&w, m) < 0)
		return -1;
	if (m->type == HOST_OUT || m->type == HOST_ERROR) {
		m->text = line + w.rest;
		m->textlen = len - w.rest;
		if (m->textlen > HOSTPROTO_TEXT_MAX)
			return -1;
	} else if (w.rest < len || line[len - 1] == ' ') {
		return -1; /* words past the message's own, or a blank */
	}
	return 0;
}

/* Append the text of m: up to its first newline, at most
   HOSTPROTO_TEXT_MAX bytes. */
static int append_text(struct buf *b, const struct hostmsg *m)
{
	size_t n =
	    m->textlen < HOSTPROTO_TEXT_MAX ? m->textlen : HOSTPROTO_TEXT_MAX;
	const char *nl = n ? memchr(m->text, '\n', n) : NULL;

	if (nl)
		n = (size_t)(nl - m->text);
	if (buf_append(b, m->text, n) < 0)
		return -1;
	/* The parser drops a CR before the newline: keep the text's own. */
	return n && m->text[n - 1] == '\r' ? buf_append(b, "\r", 1) : 0;
}

int hostproto_append(struct buf *b, const struct hostmsg *m)
{
	const char *name = names[m->type];
	int rc;

	switch (m->type) {
	case HOST_HELLO:
		if (m->token[0])
			rc = buf_printf(b, "%s %u %s", name, m->version,
			                m->token);
		else
			rc =
			    buf_printf(b, "%s %u %d", name, m->version, m->pid);
		break;
	case HOST_START:
		rc = buf_printf(b, "%s %u %u %s", name, m->index, m->port,
		                m->addr);
		break;
	case HOST_SIGNAL:
		rc = buf_printf(b, "%s %u %d", name, m->index, m->signo);
		break;
	case HOST_STARTED:
		rc = buf_printf(b, "%s %u %d", name, m->index, m->pid);
		break;
	case HOST_EXIT:
		rc = m->signo ? buf_printf(b, "%s %u signal %d", name, m->index,
		                           m->signo)
		              : buf_printf(b, "%s %u code %d", name, m->index,
		                           m->code);
		break;
	case HOST_OUT:
		rc = buf_printf(b, "%s %u ", name, m->index);
		if (rc == 0)
			rc = append_text(b, m);
		break;
	case HOST_ERROR:
		rc = buf_printf(b, "%s ", name);
		if (rc == 0)
			rc = append_text(b, m);
		break;
	default: rc = buf_printf(b, "%s %u", name, m->index); break;
	}
	return rc < 0 ? -1 : buf_append(b, "\n", 1);
}
