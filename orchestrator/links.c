/* links.c - see links.h. */
#include "links.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "proto.h"

#define READ_CHUNK      65536
#define GONE_READS      16          /* reads of a dead node's socket, at most */
#define CUT_SHORT_SHOWN 10          /* broadcasts named when a stop cuts them */
#define NODE_OUT_MAX    (64u << 20) /* a node this far behind misses messages */
#define SETUP_WORDS_MAX 8192        /* handler_command's words, expanded */

int links_init(struct links *l, struct loop *loop, struct fleet *fleet,
               const struct config *cfg, struct out *out,
               struct outcome *outcome)
{
	l->loop = loop;
	l->fleet = fleet;
	l->cfg = cfg;
	l->out = out;
	l->outcome = outcome;
	l->frame = malloc(PROTO_HEADER_LEN + 8);
	l->scratch = malloc(READ_CHUNK);
	if (!l->frame || !l->scratch ||
	    inflight_init(&l->inflight, LINKS_WINDOW) < 0)
		return -1;
	return 0;
}

void links_free(struct links *l)
{
	template_free(&l->handler_words);
	inflight_free(&l->inflight);
	free(l->frame);
	free(l->scratch);
	l->frame = NULL;
	l->scratch = NULL;
}

int links_resolve_hosts(struct links *l, char *err, size_t errlen)
{
	unsigned n = l->cfg->nhosts ? l->cfg->nhosts : 1;

	for (unsigned h = 0; h < n; h++)
		if (!l->host_known[h]) {
			if (net_resolve(config_node_host(l->cfg, h), 0,
			                &l->host_addr[h], err, errlen) < 0)
				return -1;
			l->host_known[h] = true;
		}
	return 0;
}

int links_node_addr(struct links *l, const struct node *nd, struct net_addr *a,
                    char *err, size_t errlen)
{
	unsigned h = l->cfg->nhosts ? nd->index % l->cfg->nhosts : 0;

	/* Each host is looked up once per run, however many nodes it has. */
	if (!l->host_known[h]) {
		if (net_resolve(nd->host, 0, &l->host_addr[h], err, errlen) < 0)
			return -1;
		l->host_known[h] = true;
	}
	*a = l->host_addr[h];
	net_addr_set_port(a, (int)nd->port);
	return 0;
}

void links_drop(struct links *l, struct node *nd)
{
	struct link *k = &nd->link;

	if (k->sock >= 0) {
		loop_watch(l->loop, &k->w_sock, 0);
		close(k->sock);
		k->sock = -1;
	}
	buf_consume(&k->in, buf_used(&k->in));
	buf_consume(&k->out, buf_used(&k->out));
	if (nd->state == NODE_CONNECTED || nd->state == NODE_CONNECTING)
		fleet_set_state(l->fleet, nd, NODE_LOST);
	inflight_node_lost(&l->inflight, nd->index);
}

/* Write what nd has queued; watch for writability if some remains. */
static void flush_node(struct links *l, struct node *nd)
{
	struct link *k = &nd->link;

	while (buf_used(&k->out) > 0) {
		ssize_t w =
		    io_write(k->sock, buf_head(&k->out), buf_used(&k->out));
		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0) {
			out_node(l->out, nd, "connection lost: %s",
			         strerror(errno));
			outcome_fail(l->outcome);
			links_drop(l, nd);
			return;
		}
		buf_consume(&k->out, (size_t)w);
	}
	loop_watch(l->loop, &k->w_sock,
	           EPOLLIN | (buf_used(&k->out) ? EPOLLOUT : 0));
}

/* Queue SETUP for nd: the handler settings, with handler_command's
   words expanded for nd; write what can be written. */
static void send_setup(struct links *l, struct node *nd)
{
	const struct handler_settings *h = &l->handler;
	struct template_vars v = {nd->host, nd->port, nd->index};
	char store[SETUP_WORDS_MAX], *argv[TEMPLATE_MAX_WORDS + 1];
	int n =
	    template_expand(&l->handler_words, &v, store, sizeof(store), argv);
	struct frame f = {.type = FRAME_SETUP,
	                  .u.setup = {.handler = h->kind,
	                              .timeout_ms = h->timeout_ms,
	                              .stop_timeout_ms = h->stop_timeout_ms,
	                              .max_reply_bytes = h->max_reply_bytes,
	                              .command = (const uint8_t *)store}};
	size_t size;

	if (n < 0) {
		out_node(l->out, nd,
		         "handler_command is longer than %d bytes "
		         "once expanded; the node only acks",
		         SETUP_WORDS_MAX);
		outcome_fail(l->outcome);
		return;
	}
	if (n > 0)
		f.u.setup.command_len =
		    (uint32_t)(argv[n - 1] + strlen(argv[n - 1]) + 1 - store);
	size = proto_frame_size(&f);
	if (buf_reserve(&nd->link.out, size) < 0) {
		out_node(l->out, nd,
		         "out of memory: handler settings not sent");
		outcome_fail(l->outcome);
		return;
	}
	buf_commit(&nd->link.out,
	           proto_encode(buf_tail(&nd->link.out), size, &f));
	flush_node(l, nd);
}

int links_setup(struct links *l, char *err, size_t errlen)
{
	const struct config *c = l->cfg;
	struct handler_settings h;
	struct template words;
	const struct fleet *f = l->fleet;

	/* Compared whole below: no stray byte in padding. */
	memset(&h, 0, sizeof(h));
	h.kind = c->handler;
	h.timeout_ms = c->handler_timeout_ms;
	h.stop_timeout_ms = c->stop_timeout_ms;
	h.max_reply_bytes = c->max_reply_bytes;
	memcpy(h.command, c->handler_command, sizeof(h.command));
	if (l->handler_set && memcmp(&h, &l->handler, sizeof(h)) == 0)
		return 0;
	if (template_parse(&words, h.command, err, errlen) < 0)
		return -1;
	template_free(&l->handler_words);
	l->handler_words = words;
	if (l->handler_set && h.kind != l->handler.kind)
		out_text(l->out, "handler: %s (was %s)",
		         proto_handler_name(h.kind),
		         proto_handler_name(l->handler.kind));
	l->handler = h;
	l->commands |= h.kind != HANDLER_ACK;
	/* Nodes started before know another handler: tell them. */
	for (unsigned i = 0; l->handler_set && i < f->nalloc; i++)
		if (f->nodes[i]->state == NODE_CONNECTED)
			send_setup(l, f->nodes[i]);
	l->handler_set = true;
	return 0;
}

void links_flush(struct links *l)
{
	const struct fleet *f = l->fleet;

	if (!l->unflushed)
		return;
	l->unflushed = false;
	for (unsigned i = 0; i < f->nalloc; i++) {
		struct node *nd = f->nodes[i];
		if (nd->state == NODE_CONNECTED &&
		    buf_used(&nd->link.out) > 0 &&
		    !(nd->link.w_sock.events & EPOLLOUT))
			flush_node(l, nd);
	}
}

int links_send(struct links *l, const uint8_t *p, size_t len,
               const uint8_t *only)
{
	const struct fleet *f = l->fleet;
	size_t head =
	    proto_encode_msg_head(l->frame, PROTO_HEADER_LEN + 8,
	                          l->inflight.next_seq, (uint32_t)len);
	const struct handler_settings *h = &l->handler;
	uint64_t window =
	    h->kind == HANDLER_ACK
	        ? 0
	        : MS_NS((uint64_t)h->timeout_ms + h->stop_timeout_ms +
	                LINKS_REPLY_MARGIN_MS);
	struct bcast *b = inflight_begin(
	    &l->inflight, (uint32_t)len, proto_checksum(p, len), clock_ns(),
	    MS_NS(l->cfg->ack_timeout_ms), window, f->n);

	if (!b)
		return -1;
	b->origin = l->origin;
	for (unsigned i = 0; i < f->n; i++) {
		struct node *nd = f->nodes[i];
		struct link *k = &nd->link;
		if (only && !only[i])
			continue;
		/* A node down, or this far behind, misses the message rather
		   than making us buffer without bound; it is still counted.
		   One that never joined yet (a reload adds it) is not. */
		if (nd->state != NODE_CONNECTED ||
		    buf_used(&k->out) > NODE_OUT_MAX ||
		    buf_reserve(&k->out, head + len) < 0) {
			if (k->joined)
				inflight_miss(b, i);
			continue;
		}
		buf_append(&k->out, l->frame, head);
		buf_append(&k->out, p, len);
		inflight_expect(b, i);
		l->unflushed = true;
	}
	return 0;
}

/* A node broke the protocol: say so and drop its connection. */
__attribute__((format(printf, 3, 4))) static void
violation(struct links *l, struct node *nd, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out_node(l->out, nd, "%s; disconnecting", msg);
	outcome_fail(l->outcome);
	links_drop(l, nd);
}

/* Record a round trip of rtt_ns on k. */
static void note_rtt(struct link *k, uint64_t rtt_ns)
{
	uint64_t us = rtt_ns / 1000;

	k->acked++;
	k->last_rtt_ns = rtt_ns;
	k->rtt_us[k->rtt_count++ % RTT_KEEP] =
	    (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
}

/* Account one ACK frame from nd; return -1 if nd was dropped. */
static int handle_ack(struct links *l, struct node *nd, const struct frame *f)
{
	uint64_t rtt = 0, seq = f->u.ack.seq;

	if (f->u.ack.index != nd->index) {
		violation(l, nd,
		          "sent an ack for #%" PRIu64 " under another "
		          "node's index",
		          seq);
		return -1;
	}
	switch (inflight_ack(&l->inflight, seq, nd->index, f->u.ack.len,
	                     f->u.ack.crc, clock_ns(), &rtt)) {
	case ACK_OK: note_rtt(&nd->link, rtt); return 0;
	case ACK_CORRUPT: nd->link.corrupt++; return 0;
	case ACK_LATE:
		nd->link.late++;
		if (!l->out->quiet && !l->stopping)
			out_node(l->out, nd,
			         "late ack for #%" PRIu64 " (counted as late)",
			         seq);
		return 0;
	case ACK_UNKNOWN:
		violation(l, nd,
		          "acked #%" PRIu64 ", which was never sent to "
		          "it",
		          seq);
		return -1;
	case ACK_DUPLICATE:
		violation(l, nd, "acked #%" PRIu64 " twice", seq);
		return -1;
	}
	return 0;
}

/* Account one REPLY frame from nd; return -1 if nd was dropped. */
static int handle_reply(struct links *l, struct node *nd,
                        const struct proto_reply *r)
{
	if (r->index != nd->index) {
		violation(l, nd,
		          "sent a reply to #%" PRIu64 " under another "
		          "node's index",
		          r->seq);
		return -1;
	}
	switch (inflight_reply(&l->inflight, nd->index, r, clock_ns())) {
	case REPLY_OK:
	case REPLY_IGNORED: return 0;
	case REPLY_LATE:
		nd->link.late++;
		if (!l->out->quiet && !l->stopping)
			out_node(l->out, nd,
			         "late reply to #%" PRIu64 " (counted as late)",
			         r->seq);
		return 0;
	case REPLY_UNKNOWN:
		violation(l, nd,
		          "replied to #%" PRIu64 ", which it had not acked",
		          r->seq);
		return -1;
	case REPLY_DUPLICATE:
		violation(l, nd, "replied to #%" PRIu64 " twice", r->seq);
		return -1;
	case REPLY_NOMEM:
		out_node(l->out, nd,
		         "out of memory: its reply to #%" PRIu64 " is lost",
		         r->seq);
		return 0;
	}
	return 0;
}

/* Decode and account every whole frame in p (len bytes) from nd. Return
   the bytes consumed, or -1 if nd was dropped for what it sent. */
static ssize_t handle_frames(struct links *l, struct node *nd, const uint8_t *p,
                             size_t len)
{
	size_t done = 0, used;
	struct frame f;
	int rc;

	while ((rc = proto_decode(p + done, len - done, &f, &used)) != 0) {
		if (rc == PROTO_E_VERSION) {
			violation(l, nd,
			          "sent a frame of fanout protocol version %d; "
			          "this orchestrator speaks version %d",
			          proto_version_of(p + done, len - done),
			          PROTO_VERSION);
			return -1;
		}
		if (rc < 0) {
			violation(l, nd, "sent a bad frame (%s)",
			          proto_strerror(rc));
			return -1;
		}
		if (f.type != FRAME_ACK && f.type != FRAME_REPLY) {
			violation(l, nd,
			          "sent a frame that is not an ack or a reply "
			          "(type %d)",
			          (int)f.type);
			return -1;
		}
		if ((f.type == FRAME_ACK ? handle_ack(l, nd, &f)
		                         : handle_reply(l, nd, &f.u.reply)) < 0)
			return -1;
		done += used;
	}
	return (ssize_t)done;
}

/* Read what nd sent into the shared scratch buffer, or after the partial
   frame its link keeps; return read(2)'s result. Acks are read where they
   land and only a partial frame is kept per node, so a thousand nodes
   cost no thousand read buffers. */
static ssize_t read_node(struct links *l, struct node *nd, const uint8_t **p,
                         size_t *len)
{
	struct link *k = &nd->link;
	ssize_t r;

	if (buf_used(&k->in) == 0) {
		r = io_read(k->sock, l->scratch, READ_CHUNK);
		*p = l->scratch;
		*len = r > 0 ? (size_t)r : 0;
		return r;
	}
	if (buf_reserve(&k->in, READ_CHUNK) < 0)
		return -1;
	r = io_read(k->sock, buf_tail(&k->in), READ_CHUNK);
	if (r > 0)
		buf_commit(&k->in, (size_t)r);
	*p = buf_head(&k->in);
	*len = buf_used(&k->in);
	return r;
}

/* Read and account what nd sent; return whether anything came (false
   also when nothing is there now, or the connection ended). */
static bool read_acks(struct links *l, struct node *nd)
{
	const uint8_t *p;
	size_t len;
	ssize_t r = read_node(l, nd, &p, &len), used;

	if (r < 0 && errno == EAGAIN)
		return false;
	if (r <= 0) {
		if (!l->stopping && nd->state != NODE_STOPPING) {
			out_node(l->out, nd, "%s%s",
			         r == 0 ? "closed its connection"
			                : "connection lost: ",
			         r == 0 ? "" : strerror(errno));
			outcome_fail(l->outcome);
		}
		links_drop(l, nd);
		return false;
	}
	used = handle_frames(l, nd, p, len);
	if (used < 0)
		return false;
	if (p == l->scratch)
		buf_append(&nd->link.in, p + used, len - (size_t)used);
	else
		buf_consume(&nd->link.in, (size_t)used);
	return true;
}

static void on_sock(struct watcher *w, uint32_t events)
{
	struct links *l = w->arg;
	struct node *nd = node_of(w, link.w_sock);

	if (events & EPOLLOUT)
		flush_node(l, nd);
	if (nd->link.sock >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		read_acks(l, nd);
}

void links_node_gone(struct links *l, struct node *nd)
{
	/* What it sent before it died still counts: acks read here, not
	   lost with the socket (within a bound: a socket holds little). */
	for (int k = 0;
	     nd->link.sock >= 0 && k < GONE_READS && read_acks(l, nd); k++)
		;
	links_drop(l, nd);
}

int links_attach(struct links *l, struct node *nd, int fd)
{
	struct link *k = &nd->link;

	k->sock = fd;
	k->w_sock = (struct watcher){.fd = fd, .fn = on_sock, .arg = l};
	if (fd_set_nonblock(fd, true) < 0 ||
	    loop_watch(l->loop, &k->w_sock, EPOLLIN) < 0) {
		close(fd);
		k->sock = -1;
		return -1;
	}
	fleet_set_state(l->fleet, nd, NODE_CONNECTED);
	if (!k->joined)
		k->first_seq = l->inflight.next_seq;
	k->joined = true;
	/* Before any message: frames are handled in order. */
	if (l->handler.kind != HANDLER_ACK)
		send_setup(l, nd);
	return 0;
}

/* Account and report a finished broadcast (say: with a human line). */
static void finish(struct links *l, struct bcast *b, bool say)
{
	const struct fleet *f = l->fleet;

	/* A slot is charged to the node now at its index only if it was
	   that node's: a node retired by a reload and another added at its
	   index later are two nodes. */
	for (unsigned i = 0; i < b->nslots && i < f->nalloc; i++)
		if ((b->slot[i] == SLOT_PENDING || b->slot[i] == SLOT_LOST) &&
		    f->nodes[i]->link.joined &&
		    f->nodes[i]->link.first_seq <= b->seq)
			f->nodes[i]->link.missed++;
	gather_sort(&b->replies);
	outcome_broadcast(l->outcome, inflight_clean(b),
	                  b->reply_window_ns > 0);
	out_broadcast(l->out, b, say, f->nodes, f->nalloc);
}

void links_report_done(struct links *l)
{
	uint64_t now = clock_ns();
	struct bcast *b;

	while ((b = inflight_done(&l->inflight, now))) {
		finish(l, b, true);
		inflight_pop(&l->inflight);
	}
}

void links_report_all(struct links *l)
{
	unsigned cut = 0;
	struct bcast *b;

	/* A signal may cut thousands short: name a few, count the rest. */
	while ((b = inflight_done(&l->inflight, UINT64_MAX))) {
		finish(l, b, cut++ < CUT_SHORT_SHOWN);
		inflight_pop(&l->inflight);
	}
	if (cut > CUT_SHORT_SHOWN)
		out_text(l->out, "... and %u more broadcasts cut short",
		         cut - CUT_SHORT_SHOWN);
	out_flush(l->out);
}

int links_timeout(const struct links *l)
{
	uint64_t d = inflight_next_deadline(&l->inflight);

	return d == UINT64_MAX ? -1 : clock_ms_until(d);
}

void links_bye_node(struct links *l, struct node *nd)
{
	struct frame bye = {.type = FRAME_BYE};
	uint8_t f[PROTO_HEADER_LEN];

	proto_encode(f, sizeof(f), &bye);
	if (buf_append(&nd->link.out, f, sizeof(f)) == 0)
		flush_node(l, nd);
}

void links_bye_all(struct links *l)
{
	const struct fleet *f = l->fleet;

	l->stopping = true;
	for (unsigned i = 0; i < f->nalloc; i++)
		if (f->nodes[i]->state == NODE_CONNECTED)
			links_bye_node(l, f->nodes[i]);
}
