/*
 * linebuf.h - input bytes framed into lines (SPEC §4).
 *
 * A line is the bytes before a newline, without it; any byte, NUL
 * included, may be in a line. At end of input a last line without a
 * newline counts too. A line longer than the limit is refused once, as
 * soon as it is known to be too long, and the rest of it, up to its
 * newline, is dropped without being held. Pure: no I/O.
 */
#ifndef FANOUT_LINEBUF_H
#define FANOUT_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum line_result {
	LINE_NONE,     /* no whole line yet */
	LINE_OK,       /* *line and *len hold the next line */
	LINE_TOO_LONG, /* the next line is over the limit: refused */
};

struct linebuf {
	struct buf b;
	size_t max;      /* longest line accepted, in bytes */
	bool eof;        /* no more bytes will come */
	bool discarding; /* inside a refused line */
};

/* Return room for n more bytes (to read into), or NULL when out of
   memory. */
uint8_t *linebuf_room(struct linebuf *lb, size_t n);

/* Take n bytes written into the room. */
void linebuf_commit(struct linebuf *lb, size_t n);

/* Take the next line. With LINE_OK, *line points into the buffer and
   stays valid until the next linebuf_room(). */
enum line_result linebuf_next(struct linebuf *lb, const uint8_t **line,
                              size_t *len);

/* Whether bytes are held that are not yet taken as a line. */
static inline bool linebuf_pending(const struct linebuf *lb)
{
	return buf_used(&lb->b) > 0;
}

/* Release the memory. */
void linebuf_free(struct linebuf *lb);

#endif
