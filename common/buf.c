/* buf.c - see buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int buf_reserve(struct buf *b, size_t n)
{
	size_t used = buf_used(b), cap;
	uint8_t *p;

	if (b->cap - b->len >= n)
		return 0;
	/* Slide the unconsumed bytes down before growing: cheap, and keeps a
	   steady-state stream inside one allocation. */
	if (b->off > 0 && b->cap - used >= n) {
		memmove(b->data, b->data + b->off, used);
		b->off = 0;
		b->len = used;
		return 0;
	}
	if (n > SIZE_MAX / 2 - used) {
		errno = ENOMEM;
		return -1;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap < used + n)
		cap *= 2;
	p = malloc(cap);
	if (!p)
		return -1;
	if (used > 0)
		memcpy(p, b->data + b->off, used);
	free(b->data);
	b->data = p;
	b->off = 0;
	b->len = used;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)buf_tail(b), (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_commit(b, (size_t)n);
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}
