/* nodeset.c - see nodeset.h. */
#include "nodeset.h"

#include <stdio.h>
#include <string.h>

#define PREFIX     "node"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

void nodeset_fold(struct buf *b, const unsigned *idx, unsigned n)
{
	for (unsigned i = 0, j; i < n; i = j + 1) {
		for (j = i; j + 1 < n && idx[j + 1] == idx[j] + 1; j++)
			;
		buf_printf(b, "%s%u", i ? "," : "", idx[i]);
		if (j > i)
			buf_printf(b, "-%u", idx[j]);
	}
}

void nodeset_format(struct buf *b, const unsigned *idx, unsigned n)
{
	if (n == 1) {
		buf_printf(b, PREFIX "%u", idx[0]);
		return;
	}
	buf_append(b, PREFIX "[", PREFIX_LEN + 1);
	nodeset_fold(b, idx, n);
	buf_append(b, "]", 1);
}

/* A parse in progress: the text left, and where to say what is wrong. */
struct cursor {
	const char *p, *end;
	unsigned limit;
	uint8_t *member;
	int count;
	char *err;
	size_t errlen;
};

/* Say that want was expected where the cursor stands; return -1. */
static int expected(struct cursor *c, const char *want)
{
	unsigned char at = c->p < c->end ? (unsigned char)*c->p : 0;

	if (c->p == c->end)
		snprintf(c->err, c->errlen, "expected %s, found the end", want);
	else if (at > ' ' && at < 0x7f)
		snprintf(c->err, c->errlen, "expected %s, found '%c'", want,
		         at);
	else
		snprintf(c->err, c->errlen, "expected %s, found byte 0x%02x",
		         want, at);
	return -1;
}

/* Whether the cursor stands on the character ch; step over it if so. */
static bool eat(struct cursor *c, char ch)
{
	if (c->p == c->end || *c->p != ch)
		return false;
	c->p++;
	return true;
}

/* Read a node index below the limit into *out; return 0 or -1. Digits
   past the limit are read on (and not accumulated) so that the error
   names the number as written, however long. */
static int index_of(struct cursor *c, unsigned *out)
{
	const char *start = c->p;
	uint64_t v = 0;

	if (c->p == c->end || *c->p < '0' || *c->p > '9')
		return expected(c, "a node index");
	for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++)
		if (v < c->limit)
			v = v * 10 + (uint64_t)(*c->p - '0');
	if (v >= c->limit) {
		int n = (int)(c->p - start);

		if (c->limit == 0)
			snprintf(c->err, c->errlen,
			         "no node %.*s: there are no nodes", n, start);
		else
			snprintf(c->err, c->errlen,
			         "no node %.*s: the last is node %u", n, start,
			         c->limit - 1);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Read "N" or "N-M" (M not below N) and mark its nodes; return 0 or -1. */
static int range(struct cursor *c)
{
	unsigned lo, hi;

	if (index_of(c, &lo) < 0)
		return -1;
	hi = lo;
	if (eat(c, '-') && index_of(c, &hi) < 0)
		return -1;
	if (hi < lo) {
		snprintf(c->err, c->errlen, "range %u-%u is not ascending", lo,
		         hi);
		return -1;
	}
	for (unsigned i = lo;; i++) {
		c->count += !c->member[i];
		c->member[i] = 1;
		if (i == hi)
			return 0;
	}
}

/* Read ranges separated by commas, up to the end of the text, or up to
   and past ']' when bracketed; return 0 or -1. */
static int ranges(struct cursor *c, bool bracketed)
{
	do {
		if (range(c) < 0)
			return -1;
	} while (eat(c, ','));
	if (bracketed && !eat(c, ']'))
		return expected(c, "',' or ']'");
	if (c->p != c->end)
		return expected(c, bracketed ? "the end" : "','");
	return 0;
}

/* Read one node index, up to the end of the text; return 0 or -1. */
static int single(struct cursor *c)
{
	unsigned i;

	if (index_of(c, &i) < 0)
		return -1;
	if (c->p != c->end)
		return expected(c, "the end");
	c->member[i] = 1;
	c->count = 1;
	return 0;
}

int nodeset_parse(const char *text, size_t len, unsigned limit, uint8_t *member,
                  char *err, size_t errlen)
{
	struct cursor c = {text, text + len, limit, member, 0, err, errlen};
	bool prefixed = len >= PREFIX_LEN && !memcmp(text, PREFIX, PREFIX_LEN);
	int rc;

	if (len == 0) {
		snprintf(err, errlen, "empty node set");
		return -1;
	}
	if (limit > 0)
		memset(member, 0, limit);
	if (prefixed)
		c.p += PREFIX_LEN;
	if (!prefixed)
		rc = ranges(&c, false);
	else if (eat(&c, '['))
		rc = ranges(&c, true);
	else
		rc = single(&c); /* "node6", as a group header names it */
	return rc < 0 ? -1 : c.count;
}
