/*
 * io.h - descriptor I/O: non-blocking mode, and reads and writes that
 * retry EINTR here and nowhere else.
 *
 * Functions return 0 (or a byte count) on success and -1 with errno set;
 * none prints anything: the caller reports.
 */
#ifndef FANOUT_IO_H
#define FANOUT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Set or clear O_NONBLOCK; return 0 or -1. */
int fd_set_nonblock(int fd, bool on);

/* read(2) retried on EINTR. Return bytes read, 0 at EOF, or -1. */
ssize_t io_read(int fd, void *p, size_t n);

/* Write all n bytes (a blocking descriptor), retrying on EINTR and short
   writes. Return 0, or -1 (EPIPE rather than SIGPIPE on sockets). */
int io_write_all(int fd, const void *p, size_t n);

/* One write or send (MSG_NOSIGNAL on sockets), retried on EINTR.
   Return bytes written or -1 (EAGAIN on a full non-blocking descriptor). */
ssize_t io_write(int fd, const void *p, size_t n);

#endif
