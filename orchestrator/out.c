/* out.c - see out.h. */
#include "out.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

void out_init(struct out *o, bool json, bool quiet)
{
	const char *no_color = getenv("NO_COLOR");

	o->json = json;
	o->quiet = quiet;
	o->human = json ? stderr : stdout;
	/* Colour for a person at a terminal, never into a file or pipe,
	   and never against NO_COLOR (no-color.org). */
	o->color = isatty(fileno(o->human)) && isatty(STDERR_FILENO) &&
	           !(no_color && *no_color);
	o->progress_ns = 0;
}

/* Return the escape code when colour is on, else "". */
static const char *paint(const struct out *o, const char *code)
{
	return o->color ? code : "";
}

void out_flush(struct out *o)
{
	fflush(stdout);
	if (o->human != stdout)
		fflush(o->human);
}

/* Write the JSON line built in b to stdout and free b. */
static void emit_json(struct buf *b)
{
	buf_append(b, "\n", 1);
	fwrite(buf_head(b), 1, buf_used(b), stdout);
	buf_free(b);
}

__attribute__((format(printf, 2, 0))) static void
vhuman(struct out *o, const char *fmt, va_list ap)
{
	term_hide();
	vfprintf(o->human, fmt, ap);
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
	fputc('\n', o->human);
}

void out_block(struct out *o, const char *text, size_t len)
{
	term_hide();
	fwrite(text, 1, len, o->human);
	fflush(o->human);
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

void out_progress(struct out *o, const char *what, unsigned k, unsigned total)
{
	uint64_t now = clock_ns();

	if (total < PROGRESS_MIN || o->quiet || !isatty(fileno(o->human)) ||
	    now - o->progress_ns < MS_NS(PROGRESS_EVERY_MS))
		return;
	o->progress_ns = now;
	fprintf(o->human, "\r%s %u/%u\033[K", what, k, total);
	fflush(o->human);
}

void out_progress_done(struct out *o)
{
	if (o->progress_ns == 0)
		return;
	fputs("\r\033[K", o->human);
	fflush(o->human);
	o->progress_ns = 0;
}

void out_ready(struct out *o, unsigned connected, unsigned expected, double ms)
{
	if (!o->quiet)
		human(o, "%sready: %u/%u nodes in %.1f ms%s\n", paint(o, GREEN),
		      connected, expected, ms, paint(o, RESET));
	if (o->json) {
		struct buf j = {0};
		format_ready_json(&j, connected, expected, ms);
		emit_json(&j);
	}
}

void out_broadcast(struct out *o, const struct bcast *bc, bool say,
                   struct node *const *nodes, unsigned count)
{
	bool full = bc->expected > 0 && bc->acked == bc->expected;

	if (say && (!o->quiet || !full)) {
		struct buf h = {0};
		format_broadcast(&h, bc, nodes, count);
		human(o, "%s%.*s%s\n", full ? "" : paint(o, RED),
		      (int)buf_used(&h), (char *)buf_head(&h),
		      full ? "" : paint(o, RESET));
		buf_free(&h);
	}
	if (o->json) {
		struct buf j = {0};
		format_broadcast_json(&j, bc);
		emit_json(&j);
	}
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
	out_last_words(o, nd, false);
	if (o->json) {
		struct buf j = {0};
		format_node_exit_json(&j, nd);
		emit_json(&j);
	}
}

void out_scale(struct out *o, unsigned from, unsigned to, unsigned connected,
               double ms)
{
	human(o, "scaled from %u to %u nodes in %.1f ms (%u connected)\n", from,
	      to, ms, connected);
	if (o->json) {
		struct buf j = {0};
		format_scale_json(&j, from, to, connected, ms);
		emit_json(&j);
	}
}

void out_shutdown(struct out *o, bool summary, uint64_t sent,
                  uint64_t fully_acked, const char *reason, int status,
                  double ms)
{
	if (summary)
		human(o,
		      "shutdown (%s): %" PRIu64 " broadcasts, %" PRIu64
		      " fully acked; exit %d after %.1f ms\n",
		      reason, sent, fully_acked, status, ms);
	if (o->json) {
		struct buf j = {0};
		format_shutdown_json(&j, reason, status, ms);
		emit_json(&j);
	}
}

void out_node_output(struct out *o, unsigned index, const char *text,
                     size_t len)
{
	/* Always stderr: node chatter never mixes into --json's stdout. */
	term_hide();
	if (o->color) {
		fprintf(stderr, DIM "[node %u]" RESET " %.*s\n", index,
		        (int)len, text);
		return;
	}
	fprintf(stderr, "[node %u] %.*s\n", index, (int)len, text);
	fflush(stderr);
}
