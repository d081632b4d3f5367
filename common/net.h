/*
 * net.h - TCP socket helpers (descriptor I/O is in io.h).
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

/* Disable Nagle's algorithm: small frames leave at once; return 0 or -1. */
int net_set_nodelay(int fd);

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

#define NET_STOP_CHECK_MS 50 /* how often a connect looks at its stop */

/* Connect a new TCP socket to a, waiting at most timeout_ms; when stop
   is not NULL, stop(arg) is asked every NET_STOP_CHECK_MS and a true
   answer gives up at once (errno ECANCELED), so a pool of threads can be
   cancelled within that. The socket is returned blocking, with
   TCP_NODELAY. Return fd or -1 with errno and a message. */
int net_connect(const struct net_addr *a, int timeout_ms,
                bool (*stop)(void *arg), void *arg, char *err, size_t errlen);

/* Format a as "host:port" ("[::1]:8888" for IPv6) into out. */
void net_addr_str(const struct net_addr *a, char *out, size_t outlen);

#endif
