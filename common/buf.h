/*
 * buf.h - a growable byte buffer with a read offset, for socket I/O.
 *
 * Bytes are appended at the end and consumed from the front; the consumed
 * prefix is reclaimed lazily, so appending and consuming are both O(1)
 * amortised. Functions returning int return 0 on success and -1 when memory
 * runs out (errno ENOMEM); the buffer is unchanged then.
 */
#ifndef FANOUT_BUF_H
#define FANOUT_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t off; /* first unconsumed byte */
	size_t len; /* end of valid bytes */
	size_t cap;
};

/* Return a pointer to the first unconsumed byte. */
static inline uint8_t *buf_head(const struct buf *b)
{
	return b->data + b->off;
}

/* Return the number of unconsumed bytes. */
static inline size_t buf_used(const struct buf *b)
{
	return b->len - b->off;
}

/* Make room for at least n more bytes after the end; return 0 or -1. */
int buf_reserve(struct buf *b, size_t n);

/* Return a pointer to the free space after the end (buf_reserve first). */
static inline uint8_t *buf_tail(const struct buf *b)
{
	return b->data + b->len;
}

/* Append n bytes; return 0 or -1. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Append printf-formatted text (without its NUL); return 0 or -1. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Mark n bytes written at buf_tail() as valid. */
static inline void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

/* Drop n bytes from the front (n <= buf_used). */
void buf_consume(struct buf *b, size_t n);

/* Release the memory; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);

#endif
