/* capture.c - see capture.h. */
#include "capture.h"

#include <errno.h>
#include <sys/ioctl.h>

#include "io.h"

#define READ_CHUNK  65536
#define READ_ROUNDS 16

void capture_reset(struct capture *c, uint32_t max)
{
	buf_consume(&c->kept, buf_used(&c->kept));
	c->max = max;
	c->dropped = 0;
}

void capture_add(struct capture *c, const uint8_t *p, size_t n)
{
	size_t room = c->max - buf_used(&c->kept);
	size_t keep = n < room ? n : room;

	/* Out of memory: count the bytes as dropped rather than fail. */
	if (keep > 0 && buf_append(&c->kept, p, keep) < 0)
		keep = 0;
	n -= keep;
	c->dropped =
	    n > UINT32_MAX - c->dropped ? UINT32_MAX : c->dropped + (uint32_t)n;
}

int capture_read(struct capture *c, int fd)
{
	uint8_t chunk[READ_CHUNK];

	/* Bounded, so a writer that never stops cannot hold the loop. */
	for (int i = 0; i < READ_ROUNDS; i++) {
		ssize_t r = io_read(fd, chunk, sizeof(chunk));
		if (r == 0)
			return 1;
		if (r < 0)
			return errno == EAGAIN ? 0 : -1;
		capture_add(c, chunk, (size_t)r);
	}
	return 0;
}

void capture_drain(struct capture *c, int fd)
{
	uint8_t chunk[READ_CHUNK];
	int left = 0;

	if (ioctl(fd, FIONREAD, &left) < 0)
		return;
	while (left > 0) {
		ssize_t r =
		    io_read(fd, chunk,
		            (size_t)left < sizeof(chunk) ? (size_t)left
		                                         : sizeof(chunk));
		if (r <= 0)
			return;
		capture_add(c, chunk, (size_t)r);
		left -= (int)r;
	}
}

void capture_free(struct capture *c)
{
	buf_free(&c->kept);
}
