/* linebuf.c - see linebuf.h. */
#include "linebuf.h"

#include <string.h>

uint8_t *linebuf_room(struct linebuf *lb, size_t n)
{
	return buf_reserve(&lb->b, n) < 0 ? NULL : buf_tail(&lb->b);
}

void linebuf_commit(struct linebuf *lb, size_t n)
{
	buf_commit(&lb->b, n);
}

enum line_result linebuf_next(struct linebuf *lb, const uint8_t **line,
                              size_t *len)
{
	struct buf *b = &lb->b;

	while (buf_used(b) > 0) {
		uint8_t *nl = memchr(buf_head(b), '\n', buf_used(b));
		size_t n = nl ? (size_t)(nl - buf_head(b)) : buf_used(b);
		bool was_discarding = lb->discarding;

		if (!nl && !lb->eof) {
			/* Part of a line: wait for the rest, unless it is
			   already too long; then drop it up to its newline. */
			if (n <= lb->max)
				return LINE_NONE;
			lb->discarding = true;
			buf_consume(b, n);
			return was_discarding ? LINE_NONE : LINE_TOO_LONG;
		}
		*line = buf_head(b);
		*len = n;
		buf_consume(b, nl ? n + 1 : n);
		if (was_discarding) {
			lb->discarding = false; /* the tail of a refused line */
			continue;
		}
		return n > lb->max ? LINE_TOO_LONG : LINE_OK;
	}
	return LINE_NONE;
}

void linebuf_free(struct linebuf *lb)
{
	buf_free(&lb->b);
}
