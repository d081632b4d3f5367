/*
 * session.c - the node's single-threaded poll loop.
 *
 * Strangers may connect to a node's port before or while its orchestrator
 * does. Each new connection is held as "pending" for at most
 * HELLO_TIMEOUT_MS and must open with a HELLO carrying the run's token;
 * anything else closes it at once. The first admitted connection becomes
 * the session; the node keeps accepting (and rejecting) others meanwhile,
 * so no stranger can hold the port. Acks for everything one read brings
 * are written back together, so a pipelined stream costs one write.
 *
 * Once acked, a message goes to the handler a SETUP chose (handler.h);
 * its replies join the acks in the same output buffer. The handler's
 * pipes, its deadlines and SIGCHLD all come through this one poll loop.
 */
#include "session.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "handler.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "token.h"

#define PENDING_MAX      8
#define HELLO_TIMEOUT_MS 1000
#define HELLO_LEN        (PROTO_HEADER_LEN + PROTO_TOKEN_LEN)
#define READ_CHUNK       65536
#define OUT_HIGH_WATER   (4u << 20) /* stop reading while acks back up */

struct pending {
	int fd;
	uint64_t deadline_ns;
	size_t got;
	uint8_t hello[HELLO_LEN];
};

struct node_state {
	const struct node_ctx *ctx;
	struct pending pending[PENDING_MAX];
	size_t npending;
	int session; /* -1 until an orchestrator is admitted */
	struct buf in, out;
	struct handler handler;
	bool done;
	bool gentle; /* the parent's death sends SIGTERM, not SIGKILL */
	int status;
};

static void drop_pending(struct node_state *s, size_t i)
{
	close(s->pending[i].fd);
	s->pending[i] = s->pending[--s->npending];
}

/* Return whether the first n bytes of a hello so far can still be one,
   of any protocol version (another version is named, then refused). */
static bool hello_plausible(const uint8_t *p, size_t n)
{
	uint8_t want[PROTO_HEADER_LEN];
	struct frame f = {.type = FRAME_HELLO};
	uint8_t full[HELLO_LEN];

	proto_encode(full, sizeof(full), &f);
	memcpy(want, full, sizeof(want));
	for (size_t i = 0; i < n && i < sizeof(want); i++)
		if (p[i] != want[i] && i != 4)
			return false;
	return true;
}

/* Answer WELCOME with our index, pid and protocol version. */
static int welcome(const struct node_state *s, int fd)
{
	struct frame w = {.type = FRAME_WELCOME,
	                  .u.welcome = {s->ctx->index, (uint32_t)getpid()}};
	uint8_t out[PROTO_HEADER_LEN + 8];
	size_t n = proto_encode(out, sizeof(out), &w);

	/* A fresh socket's send buffer always takes 16 bytes. */
	return io_write(fd, out, n) == (ssize_t)n ? 0 : -1;
}

/* Admit fd as the session. */
static int admit(struct node_state *s, int fd)
{
	if (welcome(s, fd) < 0 || net_set_nodelay(fd) < 0)
		return -1;
	s->session = fd;
	return 0;
}

/* Read from pending connection i; return whether it was dropped. */
static bool read_pending(struct node_state *s, size_t i)
{
	struct pending *p = &s->pending[i];
	struct frame f;
	size_t used;
	ssize_t r = io_read(p->fd, p->hello + p->got, HELLO_LEN - p->got);

	if (r < 0 && errno == EAGAIN)
		return false;
	if (r <= 0 || !hello_plausible(p->hello, p->got + (size_t)r))
		goto drop;
	p->got += (size_t)r;
	if (p->got < HELLO_LEN)
		return false;
	/* Decoded as our version: a hello's layout never changed. */
	int version = proto_version_of(p->hello, p->got);
	p->hello[4] = PROTO_VERSION;
	if (proto_decode(p->hello, p->got, &f, &used) != 1 ||
	    !token_equal(f.u.hello.token, s->ctx->token))
		goto drop;
	if (version != PROTO_VERSION) {
		/* Our orchestrator, of another release: both sides say so
		   (our WELCOME names our version to it). */
		log_msg("refusing an orchestrator that speaks fanout protocol "
		        "version %d: this node speaks version %d",
		        version, PROTO_VERSION);
		(void)welcome(s, p->fd);
		goto drop;
	}
	if (s->session >= 0) {
		log_msg("refusing a second orchestrator: already serving one");
		goto drop;
	}
	int fd = p->fd;
	s->pending[i] = s->pending[--s->npending];
	if (admit(s, fd) < 0) {
		log_errno("welcome");
		close(fd);
	}
	return true;
drop:
	drop_pending(s, i);
	return true;
}

/* Accept every waiting connection. When the table is full, the hellos
   already there are read first (the orchestrator's may be among them),
   then the oldest pending connection makes room: a flood of strangers
   cannot hold the port for longer than HELLO_TIMEOUT_MS. */
static void accept_all(struct node_state *s)
{
	for (;;) {
		int fd = accept4(s->ctx->listen_fd, NULL, NULL,
		                 SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_errno("accept");
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		for (size_t i = s->npending;
		     s->npending == PENDING_MAX && i-- > 0;)
			read_pending(s, i);
		if (s->npending == PENDING_MAX) {
			size_t oldest = 0;
			for (size_t i = 1; i < s->npending; i++)
				if (s->pending[i].deadline_ns <
				    s->pending[oldest].deadline_ns)
					oldest = i;
			drop_pending(s, oldest);
		}
		s->pending[s->npending++] = (struct pending){
		    .fd = fd,
		    .deadline_ns = clock_ns() + MS_NS(HELLO_TIMEOUT_MS)};
	}
}

/* Stop serving with status. */
static void finish(struct node_state *s, int status)
{
	s->done = true;
	s->status = status;
}

/* Queue the ack for one message. */
static int queue_ack(struct node_state *s, const struct frame *m)
{
	struct frame a = {
	    .type = FRAME_ACK,
	    .u.ack = {.seq = m->u.msg.seq,
	              .index = s->ctx->index,
	              .len = m->u.msg.len,
	              .crc = proto_checksum(m->u.msg.data, m->u.msg.len)}};

	if (buf_reserve(&s->out, PROTO_ACK_FRAME_LEN) < 0)
		return -1;
	buf_commit(&s->out,
	           proto_encode(buf_tail(&s->out), PROTO_ACK_FRAME_LEN, &a));
	return 0;
}

/* Once the node runs commands, its parent's death must let it stop them
   first: SIGTERM (read from the signalfd) instead of SIGKILL. Not from
   the start, as SIGKILL reaches a stopped node and SIGTERM does not. */
static void die_gently(struct node_state *s)
{
	if (s->gentle)
		return;
	s->gentle = true;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		log_errno("prctl");
	if (getppid() != s->ctx->parent) /* died before we asked */
		finish(s, 0);
}

/* Handle every whole frame in the input buffer. */
static void handle_frames(struct node_state *s)
{
	struct frame f;
	size_t used;
	int r;

	while (!s->done && (r = proto_decode(buf_head(&s->in), buf_used(&s->in),
	                                     &f, &used)) != 0) {
		if (r == PROTO_E_VERSION) {
			log_msg("orchestrator sent a frame of fanout protocol "
			        "version %d; this node speaks version %d",
			        proto_version_of(buf_head(&s->in),
			                         buf_used(&s->in)),
			        PROTO_VERSION);
			finish(s, 1);
		} else if (r < 0) {
			log_msg("orchestrator sent a bad frame: %s",
			        proto_strerror(r));
			finish(s, 1);
		} else if (f.type == FRAME_MSG) {
			if (queue_ack(s, &f) < 0 ||
			    (handler_takes(&s->handler) &&
			     handler_take(&s->handler, &f) < 0)) {
				log_errno("ack");
				finish(s, 1);
			}
		} else if (f.type == FRAME_SETUP) {
			if (handler_setup(&s->handler, &f) < 0) {
				log_errno("setup");
				finish(s, 1);
			}
			if (f.u.setup.handler != HANDLER_ACK)
				die_gently(s);
		} else if (f.type == FRAME_BYE) {
			finish(s, 0);
		} else {
			log_msg(
			    "orchestrator sent an unexpected frame (type %d)",
			    f.type);
			finish(s, 1);
		}
		if (r > 0)
			buf_consume(&s->in, used);
	}
}

/* Write what acks and replies are queued; return -1 if the connection
   failed. */
static int flush_out(struct node_state *s)
{
	return work_flush(s->session, &s->out);
}

static void read_session(struct node_state *s)
{
	ssize_t r;

	if (buf_reserve(&s->in, READ_CHUNK) < 0) {
		log_errno("read");
		finish(s, 1);
		return;
	}
	r = io_read(s->session, buf_tail(&s->in), READ_CHUNK);
	if (r < 0 && errno == EAGAIN)
		return;
	if (r == 0) {
		/* The orchestrator is gone: nobody is left to serve. */
		finish(s, 0);
		return;
	}
	if (r < 0) {
		log_errno("read");
		finish(s, 1);
		return;
	}
	buf_commit(&s->in, (size_t)r);
	handle_frames(s);
}

static void read_signal(struct node_state *s)
{
	struct signalfd_siginfo si;

	while (io_read(s->ctx->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			handler_reap(&s->handler);
		} else if (si.ssi_signo != SIGHUP) {
			finish(s, 0);
		}
	}
}

/* Close pending connections whose hello is overdue; return the poll
   timeout until the next deadline (-1 for none). */
static int expire_pending(struct node_state *s)
{
	uint64_t now = clock_ns(), next = UINT64_MAX;

	for (size_t i = 0; i < s->npending;) {
		if (s->pending[i].deadline_ns <= now) {
			drop_pending(s, i);
			continue;
		}
		if (s->pending[i].deadline_ns < next)
			next = s->pending[i].deadline_ns;
		i++;
	}
	return next == UINT64_MAX ? -1 : clock_ms_until(next);
}

/* Build the poll set: signals, listener, session, pending, handler.
   Return its size; *first_pending gets the slot of the first pending
   connection. */
static nfds_t poll_set(struct node_state *s, struct pollfd *p,
                       nfds_t *first_pending)
{
	nfds_t n = 0;

	p[n++] = (struct pollfd){.fd = s->ctx->signal_fd, .events = POLLIN};
	p[n++] = (struct pollfd){.fd = s->ctx->listen_fd, .events = POLLIN};
	if (s->session >= 0) {
		short ev = buf_used(&s->out) > 0 ? POLLOUT : 0;
		if (buf_used(&s->out) < OUT_HIGH_WATER &&
		    !handler_full(&s->handler))
			ev |= POLLIN;
		p[n++] = (struct pollfd){.fd = s->session, .events = ev};
	}
	*first_pending = n;
	for (size_t i = 0; i < s->npending; i++)
		p[n++] =
		    (struct pollfd){.fd = s->pending[i].fd, .events = POLLIN};
	return n + (nfds_t)handler_poll_set(&s->handler, p + n);
}

/* Return the index of the pending connection on fd, or -1. */
static int find_pending(const struct node_state *s, int fd)
{
	for (size_t i = 0; i < s->npending; i++)
		if (s->pending[i].fd == fd)
			return (int)i;
	return -1;
}

/* Return the poll timeout (ms, -1 for none) until the first of the
   pending connections' and the handler's deadlines. */
static int next_timeout(struct node_state *s)
{
	int pending = expire_pending(s);
	uint64_t handler = handler_run(&s->handler);
	int h = handler == UINT64_MAX ? -1 : clock_ms_until(handler);

	return pending < 0 || (h >= 0 && h < pending) ? h : pending;
}

/* Write what is queued for the orchestrator, if anything. */
static void flush_session(struct node_state *s)
{
	if (s->session >= 0 && !s->done && buf_used(&s->out) > 0 &&
	    flush_out(s) < 0) {
		log_errno("write");
		finish(s, 1);
	}
}

static void serve_once(struct node_state *s)
{
	struct pollfd p[3 + PENDING_MAX + HANDLER_POLL_MAX];
	int timeout = next_timeout(s);
	nfds_t first, n = poll_set(s, p, &first);
	/* After the pending connections, which accepting may change. */
	nfds_t handler_at = first + s->npending;
	int r = poll(p, n, timeout);

	if (r < 0) {
		if (errno != EINTR) {
			log_errno("poll");
			finish(s, 1);
		}
		return;
	}
	if (p[0].revents)
		read_signal(s);
	/* Accepting may reorder, drop or admit pending connections: below,
	   slots are matched to connections by descriptor, never by place. */
	if (p[1].revents)
		accept_all(s);
	if (first == 3 && p[2].revents && p[2].fd == s->session)
		read_session(s);
	if (!s->done)
		handler_events(&s->handler, p + handler_at);
	for (nfds_t k = first; k < handler_at && !s->done; k++) {
		int i = p[k].revents ? find_pending(s, p[k].fd) : -1;
		if (i >= 0)
			read_pending(s, (size_t)i);
	}
	/* Acks, and the replies made on the way, go in one write, before
	   the next work starts: a message is acked on delivery, not once
	   a command for it has been forked. Replies that starting the
	   work made at once (a time-out, a command not found) follow. */
	flush_session(s);
	if (!s->done)
		(void)handler_run(&s->handler);
	flush_session(s);
}

int node_serve(const struct node_ctx *ctx)
{
	struct node_state s = {.ctx = ctx, .session = -1};

	handler_init(&s.handler, ctx->index, &s.out);
	while (!s.done)
		serve_once(&s);
	/* Acks already queued are owed; try once, then go. */
	if (s.session >= 0 && s.status == 0)
		(void)flush_out(&s);
	handler_stop(&s.handler, ctx->signal_fd, ctx->parent);
	if (s.session >= 0)
		close(s.session);
	while (s.npending > 0)
		drop_pending(&s, 0);
	buf_free(&s.in);
	buf_free(&s.out);
	return s.status;
}
