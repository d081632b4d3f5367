/* console.c - see console.h. */
#include "console.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fleet.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "parse.h"
#include "report.h"
#include "term.h"

#define READ_CHUNK      65536
#define CUT_SHORT_SHOWN 10          /* broadcasts named when a stop cuts them */
#define NODE_OUT_MAX    (64u << 20) /* a node this far behind misses messages */

static const char help_text[] =
    "Every line you type is broadcast to all nodes. Commands:\n"
    "  /status   one row per node: address, pid, state, acks, round trip\n"
    "  /send I text  send text to node I alone\n"
    "  /reload   read the configuration again and resize the fleet\n"
    "  /help     this text\n"
    "  /quit     stop the fleet and exit (so does 'exit' or end of input)\n"
    "  //text    broadcast '/text'\n";

int console_init(struct orch *o)
{
	o->frame = malloc(PROTO_HEADER_LEN + 8);
	o->scratch = malloc(READ_CHUNK);
	if (!o->frame || !o->scratch ||
	    inflight_init(&o->inflight, CONSOLE_WINDOW) < 0)
		return -1;
	return 0;
}

void console_free(struct orch *o)
{
	inflight_free(&o->inflight);
	buf_free(&o->line);
	free(o->frame);
	free(o->scratch);
	o->frame = NULL;
	o->scratch = NULL;
}

/* Whether standard input should be read now. */
static bool want_input(const struct orch *o)
{
	return o->phase == PHASE_RUNNING && !o->stdin_eof &&
	       o->stop == STOP_NONE && !inflight_full(&o->inflight);
}

/* Write what nd has queued; watch for writability if some remains. */
static void flush_node(struct orch *o, struct node *nd)
{
	while (buf_used(&nd->out) > 0) {
		ssize_t w =
		    io_write(nd->sock, buf_head(&nd->out), buf_used(&nd->out));
		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0) {
			report_node(o, nd, "connection lost: %s",
			            strerror(errno));
			o->incomplete = true;
			fleet_disconnect(o, nd);
			return;
		}
		buf_consume(&nd->out, (size_t)w);
	}
	loop_watch(&o->loop, &nd->w_sock,
	           EPOLLIN | (buf_used(&nd->out) ? EPOLLOUT : 0));
}

/* Write out the broadcasts queued since the last flush, if any: one
   write per node for a whole batch of input. */
static void flush_all(struct orch *o)
{
	if (!o->unflushed)
		return;
	o->unflushed = false;
	for (unsigned i = 0; i < o->nalloc; i++) {
		struct node *nd = o->nodes[i];
		if (nd->state == NODE_CONNECTED && buf_used(&nd->out) > 0 &&
		    !(nd->w_sock.events & EPOLLOUT))
			flush_node(o, nd);
	}
}

/* Queue one message for every connected node, or only for node only
   (-1 for all). */
static void send_message(struct orch *o, const uint8_t *p, size_t len, int only)
{
	size_t head =
	    proto_encode_msg_head(o->frame, PROTO_HEADER_LEN + 8,
	                          o->inflight.next_seq, (uint32_t)len);
	struct bcast *b =
	    inflight_begin(&o->inflight, (uint32_t)len, proto_checksum(p, len),
	                   clock_ns(), MS_NS(o->cfg.ack_timeout_ms), o->n);

	if (!b) {
		log_msg("out of memory: line %" PRIu64 " not sent", o->lineno);
		return;
	}
	for (unsigned i = 0; i < o->n; i++) {
		struct node *nd = o->nodes[i];
		if (only >= 0 && i != (unsigned)only)
			continue;
		/* A node down, or this far behind, misses the message rather
		   than making us buffer without bound; it is still counted.
		   One that never joined yet (a reload adds it) is not. */
		if (nd->state != NODE_CONNECTED ||
		    buf_used(&nd->out) > NODE_OUT_MAX ||
		    buf_reserve(&nd->out, head + len) < 0) {
			if (nd->joined)
				inflight_miss(b, i);
			continue;
		}
		buf_append(&nd->out, o->frame, head);
		buf_append(&nd->out, p, len);
		inflight_expect(b, i);
		o->unflushed = true;
	}
}

/* Return the median of nd's recent round trips, in ms (0 if none). */
static double median_rtt_ms(const struct node *nd)
{
	uint32_t v[RTT_KEEP];
	unsigned n = nd->rtt_count < RTT_KEEP ? nd->rtt_count : RTT_KEEP;

	if (n == 0)
		return 0;
	memcpy(v, nd->rtt_us, n * sizeof(v[0]));
	/* Insertion sort: at most RTT_KEEP values, once per /status. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned k = i; k > 0 && v[k - 1] > v[k]; k--) {
			uint32_t t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0) / 1e3;
}

static void print_status(struct orch *o)
{
	static const char *const names[] = {"starting",  "ready", "connecting",
	                                    "connected", "lost",  "stopping",
	                                    "down"};

	term_hide();
	fprintf(o->human, "%5s  %-21s %7s  %-9s %7s %6s %5s %9s %9s %8s\n",
	        "node", "address", "pid", "state", "acked", "missed", "late",
	        "last rtt", "median", "restarts");
	for (unsigned i = 0; i < o->nalloc; i++) {
		struct node *nd = o->nodes[i];
		char addr[CONFIG_HOST_MAX + 16];
		snprintf(addr, sizeof(addr), "%s:%u",
		         config_node_host(&o->cfg, i), nd->port);
		fprintf(o->human,
		        "%5u  %-21s %7d  %-9s %7" PRIu64 " %6" PRIu64
		        " %5" PRIu64 " %6.2f ms %6.2f ms %8u\n",
		        i, addr, (int)nd->pid, names[nd->state], nd->acked,
		        nd->missed, nd->late, (double)nd->last_rtt_ns / 1e6,
		        median_rtt_ms(nd), nd->total_restarts);
	}
	fflush(o->human);
}

/* "/send I text": a message to node I alone. */
static void send_one(struct orch *o, const char *args, size_t len)
{
	char num[16];
	size_t k = 0;
	unsigned i;

	while (k < len && k < sizeof(num) - 1 && args[k] != ' ')
		num[k] = args[k], k++;
	num[k] = '\0';
	if (o->n == 0 || k >= len - 1 || parse_uint(num, 0, o->n - 1, &i) < 0) {
		log_msg("usage: /send I text, with I a node index in 0..%u",
		        o->n ? o->n - 1 : 0);
		return;
	}
	if (o->nodes[i]->state != NODE_CONNECTED) {
		report_node(o, o->nodes[i], "is not connected; nothing sent");
		return;
	}
	send_message(o, (const uint8_t *)args + k + 1, len - k - 1, (int)i);
}

/* Handle a line starting with '/' (not "//"). */
static void command(struct orch *o, const char *p, size_t len)
{
	if (len == 5 && !memcmp(p, "/quit", 5)) {
		o->stop = STOP_EXIT;
	} else if (len == 5 && !memcmp(p, "/help", 5)) {
		term_hide();
		fputs(help_text, o->human);
		fflush(o->human);
	} else if (len > 6 && !memcmp(p, "/send ", 6)) {
		send_one(o, p + 6, len - 6);
	} else if (len == 7 && !memcmp(p, "/status", 7)) {
		print_status(o);
	} else if (len == 7 && !memcmp(p, "/reload", 7)) {
		o->reload_pending = true;
	} else {
		struct buf name = {0};
		report_escape(&name, p, len > 40 ? 40 : len);
		log_msg("unknown command '%.*s'; try /status, /send I text, "
		        "/reload, /help, /quit (//text sends '/text')",
		        (int)buf_used(&name), (char *)buf_head(&name));
		buf_free(&name);
	}
}

/* One line of input, without its newline. */
static void handle_line(struct orch *o, const uint8_t *p, size_t len)
{
	o->lineno++;
	if (len == 0)
		return;
	if (len == 4 && !memcmp(p, "exit", 4))
		o->stop = STOP_EXIT;
	else if (len >= 2 && p[0] == '/' && p[1] == '/')
		send_message(o, p + 1, len - 1, -1);
	else if (p[0] == '/')
		command(o, (const char *)p, len);
	else
		send_message(o, p, len, -1);
}

/* Say a line is refused: it is longer than a message may be. */
static void refuse_long_line(struct orch *o)
{
	o->lineno++;
	log_msg("line %" PRIu64 ": longer than max_message_bytes (%u); not "
	        "sent",
	        o->lineno, o->cfg.max_message_bytes);
	o->incomplete = true;
}

/* Handle the whole lines in o->line while there is room in flight; at
   end of input a last line without a newline counts too. */
static void process_input(struct orch *o)
{
	struct buf *l = &o->line;

	while (buf_used(l) > 0 && o->stop == STOP_NONE &&
	       !inflight_full(&o->inflight)) {
		uint8_t *nl = memchr(buf_head(l), '\n', buf_used(l));
		size_t len = nl ? (size_t)(nl - buf_head(l)) : buf_used(l);

		if (!nl && !o->stdin_eof) {
			/* Part of a line: wait for the rest, unless it is
			   already too long, then drop it up to its newline. */
			if (len > o->cfg.max_message_bytes) {
				if (!o->discarding)
					refuse_long_line(o);
				o->discarding = true;
				buf_consume(l, len);
			}
			break;
		}
		if (o->discarding)
			o->discarding = false; /* the tail of a refused line */
		else if (len > o->cfg.max_message_bytes)
			refuse_long_line(o);
		else
			handle_line(o, buf_head(l), len);
		buf_consume(l, nl ? len + 1 : len);
	}
}

static void read_stdin(struct orch *o)
{
	ssize_t r;

	if (buf_reserve(&o->line, READ_CHUNK) < 0) {
		log_errno("standard input");
		o->stop = STOP_ERROR;
		return;
	}
	r = io_read(STDIN_FILENO, buf_tail(&o->line), READ_CHUNK);
	if (r < 0 && errno == EAGAIN)
		return;
	if (r < 0)
		log_errno("standard input");
	if (r <= 0) {
		o->stdin_eof = true;
		if (!o->stdin_plain)
			loop_watch(&o->loop, &o->w_stdin, 0);
	} else {
		buf_commit(&o->line, (size_t)r);
	}
	process_input(o);
	flush_all(o);
}

static void on_stdin(struct watcher *w, uint32_t events)
{
	struct orch *o = w->arg;

	(void)events;
	if (term_active())
		term_read();
	else
		read_stdin(o);
	if (o->stdin_eof)
		loop_watch(&o->loop, &o->w_stdin, 0);
}

void console_line(struct orch *o, const char *p, size_t len)
{
	if (len > o->cfg.max_message_bytes) {
		refuse_long_line(o);
	} else if (inflight_full(&o->inflight)) {
		o->lineno++;
		log_msg("%u broadcasts are in flight; line %" PRIu64
		        " not sent",
		        CONSOLE_WINDOW, o->lineno);
		o->incomplete = true;
	} else {
		handle_line(o, (const uint8_t *)p, len);
	}
	flush_all(o);
}

int console_start(struct orch *o)
{
	o->w_stdin =
	    (struct watcher){.fd = STDIN_FILENO, .fn = on_stdin, .arg = o};
	if (loop_watch(&o->loop, &o->w_stdin, EPOLLIN) == 0)
		return 0;
	/* A regular file (or /dev/null) is always readable and epoll
	   refuses it: console_tick() reads it instead. */
	if (errno == EPERM) {
		o->stdin_plain = true;
		return 0;
	}
	return -1;
}

/* A node broke the protocol: say so and drop its connection. */
__attribute__((format(printf, 3, 4))) static void
violation(struct orch *o, struct node *nd, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report_node(o, nd, "%s; disconnecting", msg);
	o->incomplete = true;
	fleet_disconnect(o, nd);
}

/* Account one ACK frame from nd; return -1 if nd was dropped. */
static int handle_ack(struct orch *o, struct node *nd, const struct frame *f)
{
	uint64_t rtt = 0, seq = f->u.ack.seq;

	if (f->u.ack.index != nd->index) {
		violation(o, nd,
		          "sent an ack for #%" PRIu64 " under another "
		          "node's index",
		          seq);
		return -1;
	}
	switch (inflight_ack(&o->inflight, seq, nd->index, f->u.ack.len,
	                     f->u.ack.crc, clock_ns(), &rtt)) {
	case ACK_OK:
		nd->acked++;
		nd->last_rtt_ns = rtt;
		nd->rtt_us[nd->rtt_count++ % RTT_KEEP] =
		    (uint32_t)(rtt / 1000 > UINT32_MAX ? UINT32_MAX
		                                       : rtt / 1000);
		return 0;
	case ACK_CORRUPT: nd->corrupt++; return 0;
	case ACK_LATE:
		nd->late++;
		if (!o->cli.quiet && o->phase != PHASE_STOPPING)
			report_node(
			    o, nd,
			    "late ack for #%" PRIu64 " (counted as late)", seq);
		return 0;
	case ACK_UNKNOWN:
		violation(o, nd,
		          "acked #%" PRIu64 ", which was never sent to "
		          "it",
		          seq);
		return -1;
	case ACK_DUPLICATE:
		violation(o, nd, "acked #%" PRIu64 " twice", seq);
		return -1;
	}
	return 0;
}

/* Decode and account every whole frame in p (len bytes) from nd. Return
   the bytes consumed, or -1 if nd was dropped for what it sent. */
static ssize_t handle_frames(struct orch *o, struct node *nd, const uint8_t *p,
                             size_t len)
{
	size_t done = 0, used;
	struct frame f;
	int rc;

	while ((rc = proto_decode(p + done, len - done, &f, &used)) != 0) {
		if (rc < 0) {
			violation(o, nd, "sent a bad frame (%s)",
			          proto_strerror(rc));
			return -1;
		}
		if (f.type != FRAME_ACK) {
			violation(o, nd,
			          "sent a frame that is not an ack (type %d)",
			          (int)f.type);
			return -1;
		}
		if (handle_ack(o, nd, &f) < 0)
			return -1;
		done += used;
	}
	return (ssize_t)done;
}

/* Read what nd sent into the shared scratch buffer, or after the partial
   frame nd->in keeps; return read(2)'s result. Acks are read where they
   land and only a partial frame is kept per node, so a thousand nodes
   cost no thousand read buffers. */
static ssize_t read_node(struct orch *o, struct node *nd, const uint8_t **p,
                         size_t *len)
{
	ssize_t r;

	if (buf_used(&nd->in) == 0) {
		r = io_read(nd->sock, o->scratch, READ_CHUNK);
		*p = o->scratch;
		*len = r > 0 ? (size_t)r : 0;
		return r;
	}
	if (buf_reserve(&nd->in, READ_CHUNK) < 0)
		return -1;
	r = io_read(nd->sock, buf_tail(&nd->in), READ_CHUNK);
	if (r > 0)
		buf_commit(&nd->in, (size_t)r);
	*p = buf_head(&nd->in);
	*len = buf_used(&nd->in);
	return r;
}

static void read_acks(struct orch *o, struct node *nd)
{
	const uint8_t *p;
	size_t len;
	ssize_t r = read_node(o, nd, &p, &len), used;

	if (r < 0 && errno == EAGAIN)
		return;
	if (r <= 0) {
		if (o->phase != PHASE_STOPPING && nd->state != NODE_STOPPING) {
			report_node(o, nd, "%s%s",
			            r == 0 ? "closed its connection"
			                   : "connection lost: ",
			            r == 0 ? "" : strerror(errno));
			o->incomplete = true;
		}
		fleet_disconnect(o, nd);
		return;
	}
	used = handle_frames(o, nd, p, len);
	if (used < 0)
		return;
	if (p == o->scratch)
		buf_append(&nd->in, p + used, len - (size_t)used);
	else
		buf_consume(&nd->in, (size_t)used);
}

static void on_sock(struct watcher *w, uint32_t events)
{
	struct node *nd = w->arg;

	if (events & EPOLLOUT)
		flush_node(nd->o, nd);
	if (nd->sock >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		read_acks(nd->o, nd);
}

int console_attach(struct orch *o, struct node *nd, int fd)
{
	nd->sock = fd;
	nd->w_sock = (struct watcher){.fd = fd, .fn = on_sock, .arg = nd};
	if (fd_set_nonblock(fd, true) < 0 ||
	    loop_watch(&o->loop, &nd->w_sock, EPOLLIN) < 0) {
		close(fd);
		nd->sock = -1;
		return -1;
	}
	fleet_set_state(nd, NODE_CONNECTED);
	nd->joined = true;
	return 0;
}

/* Account and report a finished broadcast (say: with a human line). */
static void finish_bcast(struct orch *o, const struct bcast *b, bool say)
{
	for (unsigned i = 0; i < b->nslots && i < o->nalloc; i++)
		if (b->slot[i] == SLOT_PENDING || b->slot[i] == SLOT_LOST)
			o->nodes[i]->missed++;
	o->sent++;
	if (b->expected > 0 && b->acked == b->expected)
		o->fully_acked++;
	else
		o->incomplete = true;
	report_broadcast(o, b, say);
}

/* Report finished broadcasts in order, as they stand at now_ns. */
static void report_done(struct orch *o, uint64_t now_ns)
{
	struct bcast *b;

	while ((b = inflight_done(&o->inflight, now_ns))) {
		finish_bcast(o, b, true);
		inflight_pop(&o->inflight);
	}
}

void console_tick(struct orch *o)
{
	report_done(o, clock_ns());
	if (o->phase != PHASE_RUNNING || o->stop != STOP_NONE)
		return;
	if (o->stdin_plain && want_input(o)) {
		read_stdin(o);
	} else {
		/* Lines read while the window was full go as it empties. */
		process_input(o);
		flush_all(o);
	}
	if (o->stdin_eof && buf_used(&o->line) == 0 && o->stop == STOP_NONE)
		o->stop = STOP_EOF;
	if (!o->stdin_plain && !o->stdin_eof)
		loop_watch(&o->loop, &o->w_stdin, want_input(o) ? EPOLLIN : 0);
}

int console_timeout(const struct orch *o)
{
	uint64_t d = inflight_next_deadline(&o->inflight);

	if (o->stdin_plain && want_input(o))
		return 0;
	return d == UINT64_MAX ? -1 : clock_ms_until(d);
}

void console_flush_reports(struct orch *o)
{
	unsigned cut = 0;
	struct bcast *b;

	/* A signal may cut thousands short: name a few, count the rest. */
	while ((b = inflight_done(&o->inflight, UINT64_MAX))) {
		finish_bcast(o, b, cut++ < CUT_SHORT_SHOWN);
		inflight_pop(&o->inflight);
	}
	if (cut > CUT_SHORT_SHOWN) {
		fprintf(o->human, "... and %u more broadcasts cut short\n",
		        cut - CUT_SHORT_SHOWN);
		fflush(o->human);
	}
}

void console_bye_node(struct orch *o, struct node *nd)
{
	struct frame bye = {.type = FRAME_BYE};
	uint8_t f[PROTO_HEADER_LEN];

	proto_encode(f, sizeof(f), &bye);
	if (buf_append(&nd->out, f, sizeof(f)) == 0)
		flush_node(o, nd);
}

void console_bye(struct orch *o)
{
	for (unsigned i = 0; i < o->nalloc; i++)
		if (o->nodes[i]->state == NODE_CONNECTED)
			console_bye_node(o, o->nodes[i]);
}

bool console_done(const struct orch *o)
{
	return o->stop != STOP_NONE &&
	       (o->stop == STOP_SIGNAL || o->stop == STOP_ERROR ||
	        inflight_count(&o->inflight) == 0);
}
