/* out.c - see out.h. */
#include "out.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "format.h"
#include "log.h"
#include "proc.h"
#include "term.h"

#define RED   "\033[31m"
#define GREEN "\033[32m"
#define DIM   "\033[2m"
#define RESET "\033[0m"

#define PROGRESS_MIN      100 /* nodes worth a live start-up count */
#define PROGRESS_EVERY_MS 50

#define DRAIN_IDLE_MS                                                          \
	1000 /* at exit, a reader this long stalled loses                      \
	        the rest */

/* fopencookie's write: text the line editor writes, queued in order. */
static ssize_t term_write(void *cookie, const char *p, size_t n)
{
	sink_put(cookie, p, n);
	return (ssize_t)n;
}

/* Write the local time, "2026-11-30 14:08:41 ", into ts (32 bytes);
   return its length. Seconds: what a person reads a log for. */
static size_t stamp_now(char ts[32])
{
	time_t now = time(NULL);
	struct tm tm;

	return strftime(ts, 32, "%Y-%m-%d %H:%M:%S ", localtime_r(&now, &tm));
}

/* Queue len bytes of text on sink; with o->stamp, each line begins with
   the time, as a daemon's log wants. */
static void put_text(struct out *o, struct sink *sink, const char *text,
                     size_t len)
{
	while (o->stamp && len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t k = nl ? (size_t)(nl - text) + 1 : len;
		if (!o->mid_line) {
			char ts[32];
			sink_put(sink, ts, stamp_now(ts));
		}
		sink_put(sink, text, k);
		o->mid_line = !nl;
		text += k;
		len -= k;
	}
	if (!o->stamp)
		sink_put(sink, text, len);
}

/* log.h's lines: queued on stderr behind what waits there. */
static void log_line(void *arg, const char *line, size_t len)
{
	struct out *o = arg;

	if (!o->to_only) {
		term_hide();
		put_text(o, o->errs, line, len);
	}
	if (o->tap)
		o->tap(o->tap_arg, o->to, OUT_DIAG, line, len);
}

void out_tap(struct out *o, out_tap_fn fn, void *arg)
{
	o->tap = fn;
	o->tap_arg = arg;
}

/* Whether JSON events are made: for stdout, or for a tap. */
static bool want_json(const struct out *o)
{
	return o->json || o->tap;
}

/* Whether descriptors a and b are the same file (the same terminal, the
   same pipe). */
static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int out_init(struct out *o, bool json, bool lines, bool quiet)
{
	const char *no_color = getenv("NO_COLOR");

	*o = (struct out){.json = json, .lines = lines, .quiet = quiet};
	sink_open(&o->out, STDOUT_FILENO);
	/* One stream behind both (a terminal, 2>&1): one queue, so that
	   what is said comes out in the order it was said. */
	if (same_file(STDOUT_FILENO, STDERR_FILENO)) {
		o->errs = &o->out;
	} else {
		sink_open(&o->err, STDERR_FILENO);
		o->errs = &o->err;
	}
	o->human = json || lines ? o->errs : &o->out;
	/* Colour for a person at a terminal, never into a file or pipe,
	   and never against NO_COLOR (no-color.org). */
	o->color = o->human->tty && o->errs->tty && !(no_color && *no_color);
	o->term = fopencookie(o->human, "w",
	                      (cookie_io_functions_t){.write = term_write});
	if (!o->term)
		return -1;
	log_set_writer(log_line, o);
	return 0;
}

void out_watch(struct out *o, struct loop *loop)
{
	sink_watch(&o->out, loop);
	if (o->errs == &o->err)
		sink_watch(&o->err, loop);
}

bool out_full(const struct out *o)
{
	return sink_full(&o->out) || sink_full(o->errs);
}

bool out_stdout_gone(const struct out *o)
{
	return sink_gone(&o->out);
}

void out_flush(struct out *o)
{
	uint64_t dropped;

	fflush(o->term);
	sink_flush(&o->out);
	sink_flush(o->errs);
	dropped = sink_take_dropped(o->errs);
	if (dropped)
		log_msg("%" PRIu64 " lines of node output were dropped while "
		        "the reader of standard error was stalled",
		        dropped);
}

void out_close(struct out *o, bool patient, int stop_fd,
               bool (*stop)(void *arg), void *arg)
{
	int idle_ms = patient ? -1 : DRAIN_IDLE_MS;

	out_flush(o);
	if (o->errs->dropped) { /* said at least at the end, in order */
		log_msg("%" PRIu64 " lines of node output were dropped while "
		        "the reader of standard error was stalled",
		        o->errs->dropped);
		o->errs->dropped = 0;
	}
	if (o->term)
		fclose(o->term);
	o->term = NULL;
	sink_drain(&o->out, idle_ms, stop_fd, stop, arg);
	if (o->errs == &o->err)
		sink_drain(&o->err, idle_ms, stop_fd, stop, arg);
	log_set_writer(NULL, NULL);
	sink_close(&o->out);
	if (o->errs == &o->err)
		sink_close(&o->err);
}

/* Return the escape code when colour is on, else "". */
static const char *paint(const struct out *o, const char *code)
{
	return o->color ? code : "";
}

/* Queue the JSON line built in b on stdout and free b. */
static void emit_json(struct out *o, struct buf *b)
{
	buf_append(b, "\n", 1);
	if (o->json && !o->to_only)
		sink_put(&o->out, buf_head(b), buf_used(b));
	if (o->tap)
		o->tap(o->tap_arg, o->to, OUT_JSON, (const char *)buf_head(b),
		       buf_used(b));
	buf_free(b);
}

/* Queue text of len bytes on sink, the prompt cleared. */
static void put(struct out *o, struct sink *sink, const char *text, size_t len)
{
	if (!o->to_only) {
		term_hide();
		fflush(o->term); /* the editor's erasing goes first */
		put_text(o, sink, text, len);
	}
	if (o->tap)
		o->tap(o->tap_arg, o->to,
		       sink == o->human ? OUT_HUMAN : OUT_DIAG, text, len);
}

/* Queue text of len bytes on the human stream. */
static void put_human(struct out *o, const char *text, size_t len)
{
	put(o, o->human, text, len);
}

__attribute__((format(printf, 2, 0))) static void
vhuman(struct out *o, const char *fmt, va_list ap)
{
	char line[4096];
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(line)) {
		put_human(o, line, (size_t)n);
	} else if (n >= 0) { /* longer: built on the heap */
		struct buf b = {0};
		if (buf_reserve(&b, (size_t)n + 1) == 0) {
			vsnprintf((char *)buf_tail(&b), (size_t)n + 1, fmt,
			          again);
			put_human(o, (char *)buf_tail(&b), (size_t)n);
		}
		buf_free(&b);
	}
	va_end(again);
}

__attribute__((format(printf, 2, 3))) static void human(struct out *o,
                                                        const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vhuman(o, fmt, ap);
	va_end(ap);
}

void out_text(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vhuman(o, fmt, ap);
	va_end(ap);
	put_human(o, "\n", 1);
}

void out_block(struct out *o, const char *text, size_t len)
{
	put_human(o, text, len);
	out_flush(o);
}

void out_node(struct out *o, const struct node *nd, const char *fmt, ...)
{
	char name[128], msg[1024];
	va_list ap;

	format_node_name(nd, name, sizeof(name));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	human(o, "%s %s\n", name, msg);
}

void out_sigkill(struct out *o, const struct node *nd, unsigned ms)
{
	if (nd->proc.running)
		out_node(o, nd,
		         "still ran %u ms after SIGTERM; sending SIGKILL", ms);
	else
		out_node(o, nd,
		         "exited, but processes of its group still ran %u ms "
		         "after SIGTERM; sending them SIGKILL",
		         ms);
}

void out_progress(struct out *o, const char *what, unsigned k, unsigned total)
{
	uint64_t now = clock_ns();

	if (total < PROGRESS_MIN || o->quiet || !o->human->tty ||
	    now - o->progress_ns < MS_NS(PROGRESS_EVERY_MS))
		return;
	o->progress_ns = now;
	human(o, "\r%s %u/%u\033[K", what, k, total);
	out_flush(o);
}

void out_progress_done(struct out *o)
{
	if (o->progress_ns == 0)
		return;
	human(o, "\r\033[K");
	out_flush(o);
	o->progress_ns = 0;
}

void out_ready(struct out *o, unsigned connected, unsigned expected, double ms)
{
	if (!o->quiet)
		human(o, "%sready: %u/%u nodes in %.1f ms%s\n", paint(o, GREEN),
		      connected, expected, ms, paint(o, RESET));
	if (want_json(o)) {
		struct buf j = {0};
		format_ready_json(&j, connected, expected, ms);
		emit_json(o, &j);
	}
}

/* Queue what b holds on sink (when anything), the prompt cleared; free
   b. */
static void put_buf(struct out *o, struct sink *sink, struct buf *b)
{
	if (buf_used(b) > 0)
		put(o, sink, (const char *)buf_head(b), buf_used(b));
	buf_free(b);
}

/* The replies of bc, as out_broadcast() says. */
static void put_lines(struct out *o, const struct bcast *bc)
{
	struct buf b = {0};

	format_reply_lines(&b, bc);
	put_buf(o, &o->out, &b);
	format_reply_endings(&b, bc);
	put_buf(o, o->errs, &b);
}

void out_broadcast(struct out *o, const struct bcast *bc, bool say,
                   struct node *const *nodes, unsigned count)
{
	bool clean = inflight_clean(bc);
	struct buf blocks = {0};
	unsigned to = o->to;
	bool to_only = o->to_only;

	/* A console's broadcast is reported to it (and to our own streams:
	   the fleet's log keeps every report). */
	o->to = bc->origin;
	o->to_only = false;
	if (say && bc->reply_window_ns > 0 && !o->json && !o->lines)
		format_replies(&blocks, bc);
	/* Quiet, a clean broadcast still heads the output it shows. */
	if (say && (!o->quiet || !clean || buf_used(&blocks) > 0)) {
		struct buf h = {0};
		buf_printf(&h, "%s", clean ? "" : paint(o, RED));
		format_broadcast(&h, bc, nodes, count);
		buf_printf(&h, "%s\n", clean ? "" : paint(o, RESET));
		put_buf(o, o->human, &h);
	}
	put_buf(o, o->human, &blocks);
	if (say && bc->reply_window_ns > 0 && !o->json && o->lines)
		put_lines(o, bc);
	if (want_json(o)) {
		struct buf j = {0};
		format_broadcast_json(&j, bc);
		emit_json(o, &j);
	}
	if (o->tap && bc->origin)
		o->tap(o->tap_arg, bc->origin, OUT_REPORTED, NULL, clean);
	o->to = to;
	o->to_only = to_only;
}

/* Return the line nd printed back lines before its last (0: the last),
   or NULL if it printed no such line since it started. */
static const char *last_line(const struct node *nd, unsigned back)
{
	const struct proc *p = &nd->proc;

	if (back >= p->nlines || back >= NODE_LAST_LINES)
		return NULL;
	return p->last_lines[(p->nlines - 1 - back) % NODE_LAST_LINES];
}

void out_last_words(struct out *o, const struct node *nd, bool error)
{
	const char *last = last_line(nd, 0);
	char name[128], how[96];

	format_node_name(nd, name, sizeof(name));
	proc_status_str(nd->proc.wait_status, how, sizeof(how));
	if (error)
		log_msg("%s %s%s%s", name, how, last ? ": " : "",
		        last ? last : "");
	else
		human(o, "%s%s %s%s%s%s\n", paint(o, RED), name, how,
		      last ? ": " : "", last ? last : "", paint(o, RESET));
	/* The lines before it, oldest first, for context. */
	for (unsigned back = NODE_LAST_LINES - 1; back > 0; back--) {
		const char *line = last_line(nd, back);
		if (line && error)
			log_msg("  before that: %s", line);
		else if (line)
			human(o, "  before that: %s\n", line);
	}
}

void out_node_exit(struct out *o, const struct node *nd)
{
	/* Lost with its host: said once for all of them (fleet.c). */
	if (!nd->proc.lost_host)
		out_last_words(o, nd, false);
	if (want_json(o)) {
		struct buf j = {0};
		format_node_exit_json(&j, nd);
		emit_json(o, &j);
	}
}

void out_scale(struct out *o, unsigned from, unsigned to, unsigned connected,
               double ms)
{
	human(o, "scaled from %u to %u nodes in %.1f ms (%u connected)\n", from,
	      to, ms, connected);
	if (want_json(o)) {
		struct buf j = {0};
		format_scale_json(&j, from, to, connected, ms);
		emit_json(o, &j);
	}
}

void out_shutdown(struct out *o, bool summary, uint64_t sent, uint64_t clean,
                  bool replies, const char *reason, int status, double ms)
{
	if (summary)
		human(o,
		      "shutdown (%s): %" PRIu64 " broadcasts, %" PRIu64
		      " %s; exit %d after %.1f ms\n",
		      reason, sent, clean,
		      replies ? "succeeded on every node" : "fully acked",
		      status, ms);
	if (want_json(o)) {
		struct buf j = {0};
		format_shutdown_json(&j, reason, status, ms);
		emit_json(o, &j);
	}
}

/* A line of output from who ("node 3", "host a"), as "[who] text". */
static void put_output(struct out *o, const char *who, const char *text,
                       size_t len)
{
	struct buf b = {0};
	char ts[32];

	/* A whole line: stamped as put_text() would (a daemon's log). */
	if (o->stamp && !o->mid_line)
		buf_append(&b, ts, stamp_now(ts));
	/* Always stderr: node chatter never mixes into --json's stdout;
	   and it is what gives way when stderr's reader stalls. */
	if (o->color)
		buf_printf(&b, DIM "[%s]" RESET " %.*s\n", who, (int)len, text);
	else
		buf_printf(&b, "[%s] %.*s\n", who, (int)len, text);
	/* A line that will be dropped does not take the prompt away: a
	   stalled terminal is not flooded with its redrawing. */
	if (sink_has_room(o->errs, buf_used(&b))) {
		term_hide();
		fflush(o->term);
	}
	sink_put_droppable(o->errs, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

void out_node_output(struct out *o, unsigned index, const char *text,
                     size_t len)
{
	char who[32];

	snprintf(who, sizeof(who), "node %u", index);
	put_output(o, who, text, len);
}

void out_host_output(struct out *o, const char *host, const char *text,
                     size_t len)
{
	char who[CONFIG_HOST_MAX + 8];

	snprintf(who, sizeof(who), "host %s", host);
	put_output(o, who, text, len);
}
