/* floor.c - see floor.h. */
#include "floor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "proc.h"
#include "stats.h"

#define ACK_BYTES 16 /* one floor ack */

struct floor_run {
	const struct bench *b;
	struct children *ch;  /* ch->kid[]: the children, while they run */
	unsigned n;           /* children, sockets */
	int ep;               /* the epoll instance, -1 when closed */
	int *fd;              /* socket i, to child i; -1 when closed */
	uint64_t *sent, *got; /* bytes written, ack bytes read, per socket */
	struct epoll_event *ev;
	uint8_t zeros[CHUNK];   /* never written: messages here, acks in
	                           a child; only their number counts */
	uint8_t scratch[CHUNK]; /* what reads bring: acks here, messages in
	                           a child */
};

struct floor_run *floor_new(const struct bench *b, struct children *ch,
                            unsigned n)
{
	struct floor_run *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->b = b;
	f->ch = ch;
	f->n = n;
	f->ep = -1;
	f->fd = calloc(n, sizeof(*f->fd));
	f->sent = calloc(n, sizeof(*f->sent));
	f->got = calloc(n, sizeof(*f->got));
	f->ev = calloc(n, sizeof(*f->ev));
	if (!f->fd || !f->sent || !f->got || !f->ev) {
		floor_free(f);
		errno = ENOMEM;
		return NULL;
	}
	return f;
}

void floor_free(struct floor_run *f)
{
	if (f) {
		free(f->fd);
		free(f->sent);
		free(f->got);
		free(f->ev);
		free(f);
	}
}

/* Child i of the floor, in its own copy of f: listen on port BASE+i, say
   so on the ready pipe, then ack every whole 32-byte message of the one
   connection until EOF. Never returns; exits 0 at EOF, else 1. */
static void floor_child(struct floor_run *f, unsigned i, const int ready[2],
                        pid_t parent)
{
	size_t part = 0;
	char err[256];
	int lfd, c;

	close(ready[0]);
	if (children_setup_child(&f->b->oldmask, parent) < 0)
		_exit(1);
	lfd = net_listen("127.0.0.1", f->b->port + (int)i, 1, err, sizeof(err));
	if (lfd < 0) {
		log_msg("floor: %s", err);
		(void)!write(ready[1], "E", 1);
		_exit(1);
	}
	if (io_write_all(ready[1], "R", 1) < 0)
		_exit(1);
	close(ready[1]);
	do
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (c < 0 && errno == EINTR);
	if (c < 0 || net_set_nodelay(c) < 0)
		_exit(1);
	close(lfd);
	for (;;) {
		ssize_t r = io_read(c, f->scratch, sizeof(f->scratch));

		if (r <= 0)
			_exit(r < 0);
		part += (size_t)r;
		size_t m = part / MSG_BYTES;
		part %= MSG_BYTES;
		/* m * ACK_BYTES <= (CHUNK + MSG_BYTES) / 2 < CHUNK */
		if (m > 0 && io_write_all(c, f->zeros, m * ACK_BYTES) < 0)
			_exit(1);
	}
}

/* Wait for n readiness bytes on fd; return 0, or -1 with a message when a
   child failed, they all left, or TIMEOUT_MS passed without one. */
static int floor_wait_ready(int fd, unsigned n)
{
	char got[256];

	while (n > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int rc = poll(&pf, 1, TIMEOUT_MS);
		ssize_t r;

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			log_msg("floor: %u children not listening after %d s",
			        n, TIMEOUT_MS / 1000);
			return -1;
		}
		r = io_read(fd, got, n < sizeof(got) ? n : sizeof(got));
		if (r <= 0 || memchr(got, 'E', (size_t)r)) {
			log_msg("floor: a child could not listen");
			return -1;
		}
		n -= (unsigned)r;
	}
	return 0;
}

/* Set the events the floor waits for on socket i; return 0 or -1. */
static int floor_watch(struct floor_run *f, unsigned i, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.u32 = i};

	if (epoll_ctl(f->ep, op, f->fd[i], &ev) < 0) {
		log_errno("epoll_ctl");
		return -1;
	}
	return 0;
}

/* Fork the floor's n children and connect to them all; store the time it
   took in fig. Return 0 or -1 with a message. */
static int floor_start(struct floor_run *f, double *fig)
{
	struct children *ch = f->ch;
	int port = f->b->port;
	pid_t parent = getpid();
	struct net_addr a;
	uint64_t t0 = clock_ns();
	char err[256];
	int ready[2], rc;

	if (pipe2(ready, O_CLOEXEC) < 0) {
		log_errno("pipe");
		return -1;
	}
	for (ch->nkids = 0; ch->nkids < f->n; ch->nkids++) {
		pid_t *kid = &ch->kid[ch->nkids];

		*kid = fork();
		if (*kid == 0)
			floor_child(f, ch->nkids, ready, parent);
		if (*kid < 0) {
			log_errno("floor: fork");
			break;
		}
	}
	close(ready[1]);
	rc = ch->nkids < f->n ? -1 : floor_wait_ready(ready[0], f->n);
	close(ready[0]);
	if (rc < 0)
		return -1;
	if (net_resolve("127.0.0.1", port, &a, err, sizeof(err)) < 0) {
		log_msg("floor: %s", err);
		return -1;
	}
	for (unsigned i = 0; i < f->n; i++) {
		net_addr_set_port(&a, port + (int)i);
		f->fd[i] =
		    net_connect(&a, TIMEOUT_MS, NULL, NULL, err, sizeof(err));
		if (f->fd[i] < 0) {
			log_msg("floor: %s", err);
			return -1;
		}
	}
	fig[L_START] = clock_ms_since(t0);
	f->ep = epoll_create1(EPOLL_CLOEXEC);
	if (f->ep < 0) {
		log_errno("epoll_create1");
		return -1;
	}
	for (unsigned i = 0; i < f->n; i++) {
		if (fd_set_nonblock(f->fd[i], true) < 0) {
			log_errno("floor: fcntl");
			return -1;
		}
		if (floor_watch(f, i, EPOLLIN, EPOLL_CTL_ADD) < 0)
			return -1;
	}
	return 0;
}

/* Write socket i's next chunk of messages (total bytes in all); once all
   are out, wait only for its acks. Return 0 or -1. */
static int floor_send(struct floor_run *f, unsigned i, uint64_t total)
{
	size_t off = (size_t)(f->sent[i] % CHUNK), len = CHUNK - off;
	ssize_t w;

	if (len > total - f->sent[i])
		len = (size_t)(total - f->sent[i]);
	w = io_write(f->fd[i], f->zeros + off, len);
	if (w < 0 && errno == EAGAIN)
		return 0;
	if (w < 0) {
		log_errno("floor: write to child %u", i);
		return -1;
	}
	f->sent[i] += (uint64_t)w;
	if (f->sent[i] == total)
		return floor_watch(f, i, EPOLLIN, EPOLL_CTL_MOD);
	return 0;
}

/* Read the acks waiting on socket i, counting sockets whose want bytes
   are all in into *done; return 0 or -1. */
static int floor_recv(struct floor_run *f, unsigned i, uint64_t want,
                      unsigned *done)
{
	ssize_t r = io_read(f->fd[i], f->scratch, sizeof(f->scratch));

	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r <= 0) {
		if (r == 0)
			log_msg("floor: child %u closed its connection", i);
		else
			log_errno("floor: read from child %u", i);
		return -1;
	}
	f->got[i] += (uint64_t)r;
	if (f->got[i] > want) {
		log_msg("floor: child %u sent %llu ack bytes, %llu expected", i,
		        (unsigned long long)f->got[i],
		        (unsigned long long)want);
		return -1;
	}
	*done += f->got[i] == want;
	return 0;
}

/* Serve one batch of ready sockets: write pending messages (total bytes
   each), read acks (want bytes each). Return 0 or -1. */
static int floor_turn(struct floor_run *f, uint64_t total, uint64_t want,
                      unsigned *done)
{
	int k = epoll_wait(f->ep, f->ev, (int)f->n, TIMEOUT_MS);

	if (k < 0 && errno == EINTR)
		return 0;
	if (k < 0) {
		log_errno("epoll_wait");
		return -1;
	}
	if (k == 0) {
		log_msg("floor: %u of %u children silent for %d s",
		        f->n - *done, f->n, TIMEOUT_MS / 1000);
		return -1;
	}
	for (int j = 0; j < k; j++) {
		unsigned i = f->ev[j].data.u32;
		uint32_t e = f->ev[j].events;

		if ((e & EPOLLOUT) && f->sent[i] < total &&
		    floor_send(f, i, total) < 0)
			return -1;
		if ((e & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
		    floor_recv(f, i, want, done) < 0)
			return -1;
	}
	return 0;
}

/* Run k lock-step rounds over every socket; store p50 and p99 in fig.
   Return 0 or -1. */
static int floor_rounds(struct floor_run *f, unsigned k, double *fig)
{
	static const char msg[MSG_BYTES] = "floor lock-step round message..";
	double ms[MAX_ROUNDS];

	for (unsigned r = 0; r < k; r++) {
		uint64_t t0 = clock_ns();
		unsigned done = 0;

		for (unsigned i = 0; i < f->n; i++) {
			f->sent[i] = MSG_BYTES;
			f->got[i] = 0;
			if (io_write(f->fd[i], msg, MSG_BYTES) != MSG_BYTES) {
				log_errno("floor: write to child %u", i);
				return -1;
			}
		}
		while (done < f->n)
			if (floor_turn(f, MSG_BYTES, ACK_BYTES, &done) < 0)
				return -1;
		ms[r] = clock_ms_since(t0);
	}
	fig[L_P50] = stats_percentile(ms, k, 50);
	fig[L_P99] = stats_percentile(ms, k, 99);
	return 0;
}

/* Send m messages to every socket, coalesced, and wait for every ack;
   store the acked deliveries per second in fig. Return 0 or -1. */
static int floor_pipelined(struct floor_run *f, unsigned m, double *fig)
{
	uint64_t total = (uint64_t)m * MSG_BYTES,
	         want = (uint64_t)m * ACK_BYTES;
	uint64_t t0 = clock_ns();
	unsigned done = 0;

	for (unsigned i = 0; i < f->n; i++) {
		f->sent[i] = f->got[i] = 0;
		if (floor_watch(f, i, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD) < 0)
			return -1;
	}
	while (done < f->n)
		if (floor_turn(f, total, want, &done) < 0)
			return -1;
	fig[L_RATE] = (double)m * f->n / ((double)(clock_ns() - t0) / 1e9);
	return 0;
}

/* Close every socket and reap every child; store the time in fig. Return
   0, or -1 if one did not exit cleanly. */
static int floor_teardown(struct floor_run *f, double *fig)
{
	struct children *ch = f->ch;
	uint64_t t0 = clock_ns();
	char how[64];

	for (unsigned i = 0; i < f->n; i++) {
		close(f->fd[i]);
		f->fd[i] = -1;
	}
	if (children_reap(ch->kid, ch->kid_status, ch->nkids) < 0)
		return -1;
	fig[L_DOWN] = clock_ms_since(t0);
	for (unsigned i = 0; i < ch->nkids; i++)
		if (ch->kid_status[i] != 0) {
			proc_status_str(ch->kid_status[i], how, sizeof(how));
			log_msg("floor: child %u %s", i, how);
			return -1;
		}
	ch->nkids = 0;
	return 0;
}

int floor_rep(struct floor_run *f, double *fig)
{
	int rc = -1;

	f->ep = -1;
	for (unsigned i = 0; i < f->n; i++)
		f->fd[i] = -1;
	if (floor_start(f, fig) == 0 &&
	    floor_rounds(f, rounds_for(f->n), fig) == 0 &&
	    floor_pipelined(f, pipelined_for(f->n), fig) == 0 &&
	    floor_teardown(f, fig) == 0)
		rc = 0;
	for (unsigned i = 0; i < f->n; i++)
		if (f->fd[i] >= 0)
			close(f->fd[i]);
	if (f->ep >= 0)
		close(f->ep);
	f->ep = -1;
	if (rc < 0) {
		children_kill_all(f->ch);
		log_msg("floor with %u children failed", f->n);
	}
	return rc;
}
