/* io.c - see io.h. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

int fd_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -1 : 0;
}

ssize_t io_read(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

ssize_t io_write(int fd, const void *p, size_t n)
{
	ssize_t r;

	do {
		r = send(fd, p, n, MSG_NOSIGNAL);
		if (r < 0 && errno == ENOTSOCK)
			r = write(fd, p, n);
	} while (r < 0 && errno == EINTR);
	return r;
}

int io_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t r = io_write(fd, c, n);

		if (r < 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}
