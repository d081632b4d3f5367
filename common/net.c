/* net.c - see net.h. */
#include "net.h"

#include "io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int net_set_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void net_addr_str(const struct net_addr *a, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&a->ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, outlen, "[%s]:%d", host, port);
		return;
	}
	const struct sockaddr_in *s4 = (const void *)&a->ss;
	inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
	port = ntohs(s4->sin_port);
	snprintf(out, outlen, "%s:%d", host, port);
}

int net_resolve(const char *host, int port, struct net_addr *a, char *err,
                size_t errlen)
{
	struct addrinfo hints = {0}, *res;
	char service[16];
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* A numeric address first: it needs no name service, which is most
	   of what a node spends starting up. */
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	snprintf(service, sizeof(service), "%d", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(host, service, &hints, &res);
	}
	if (rc != 0) {
		snprintf(err, errlen, "resolve %s: %s", host, gai_strerror(rc));
		errno = EINVAL;
		return -1;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

void net_addr_set_port(struct net_addr *a, int port)
{
	if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port =
		    htons((uint16_t)port);
	else
		((struct sockaddr_in *)&a->ss)->sin_port =
		    htons((uint16_t)port);
}

int net_listen(const char *host, int port, int backlog, char *err,
               size_t errlen)
{
	struct net_addr a;
	char where[64];
	int fd, one = 1;

	if (net_resolve(host, port, &a, err, errlen) < 0)
		return -1;
	net_addr_str(&a, where, sizeof(where));
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Sockets of an earlier run may linger in TIME_WAIT on this port;
	   without this an immediate restart could not bind it. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 ||
	    listen(fd, backlog) < 0) {
		int e = errno;
		snprintf(err, errlen, "bind %s: %s", where, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Wait for a non-blocking connect on fd to finish within timeout_ms,
   looking at stop(arg) every NET_STOP_CHECK_MS; return 0, or -1 with
   errno (ETIMEDOUT, ECANCELED when stopped, or the connect's error). */
static int finish_connect(int fd, int timeout_ms, bool (*stop)(void *arg),
                          void *arg)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t sl = sizeof(int);
	int r, soerr = 0;

	for (;;) {
		int slice = stop && timeout_ms > NET_STOP_CHECK_MS
		                ? NET_STOP_CHECK_MS
		                : timeout_ms;
		r = poll(&p, 1, slice);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 0)
			break;
		timeout_ms -= slice;
		if (stop && stop(arg)) {
			errno = ECANCELED;
			return -1;
		}
		if (timeout_ms <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -1;
	errno = soerr;
	return soerr ? -1 : 0;
}

int net_connect(const struct net_addr *a, int timeout_ms,
                bool (*stop)(void *arg), void *arg, char *err, size_t errlen)
{
	char where[64];
	int fd = socket(a->ss.ss_family,
	                SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 &&
	    ((errno != EINPROGRESS && errno != EINTR) ||
	     finish_connect(fd, timeout_ms, stop, arg) < 0))
		goto fail;
	if (fd_set_nonblock(fd, false) < 0 || net_set_nodelay(fd) < 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	net_addr_str(a, where, sizeof(where));
	snprintf(err, errlen, "connect %s: %s", where, strerror(e));
	close(fd);
	errno = e;
	return -1;
}
