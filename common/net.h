/*
 * net.h - descriptor and TCP socket helpers.
 *
 * One error convention throughout: functions return a descriptor or 0 on
 * success and -1 on failure, with errno set and, where the function takes
 * err/errlen, a one-line message ("bind 127.0.0.1:8888: Address already in
 * use") in the caller's buffer. Every descriptor they create is CLOEXEC.
 * EINTR is retried here and nowhere else.
 */
#ifndef FANOUT_NET_H
#define FANOUT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Set or clear O_NONBLOCK; return 0 or -1. */
int fd_set_nonblock(int fd, bool on);

/* Disable Nagle's algorithm: small frames leave at once; return 0 or -1. */
int net_set_nodelay(int fd);

/* read(2) retried on EINTR. Return bytes read, 0 at EOF, or -1. */
ssize_t io_read(int fd, void *p, size_t n);

/* Write all n bytes (a blocking descriptor), retrying on EINTR and short
   writes. Return 0, or -1 (EPIPE rather than SIGPIPE on sockets). */
int io_write_all(int fd, const void *p, size_t n);

/* One write or send (MSG_NOSIGNAL on sockets), retried on EINTR.
   Return bytes written or -1 (EAGAIN on a full non-blocking descriptor). */
ssize_t io_write(int fd, const void *p, size_t n);

/* Resolve host (a name or a numeric IPv4/IPv6 address) and port into *a,
   taking the first TCP result. Return 0 or -1 with a message. */
int net_resolve(const char *host, int port, struct net_addr *a, char *err,
                size_t errlen);

/* Set the port of a resolved address. */
void net_addr_set_port(struct net_addr *a, int port);

/* Return a listening TCP socket bound to host:port with SO_REUSEADDR, so
   that an immediate restart can bind the same port. Return fd or -1. */
int net_listen(const char *host, int port, int backlog, char *err,
               size_t errlen);

/* Connect a new TCP socket to a, waiting at most timeout_ms. The socket is
   returned blocking, with TCP_NODELAY. Return fd or -1 with a message. */
int net_connect(const struct net_addr *a, int timeout_ms, char *err,
                size_t errlen);

/* Format a as "host:port" ("[::1]:8888" for IPv6) into out. */
void net_addr_str(const struct net_addr *a, char *out, size_t outlen);

#endif
