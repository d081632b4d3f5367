/* report.c - see report.h. */
#include "report.h"

#include "fleet.h"
#include "log.h"
#include "term.h"

#define RED   "\033[31m"
#define GREEN "\033[32m"
#define DIM   "\033[2m"
#define RESET "\033[0m"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

#define LIST_HUMAN_MAX 10 /* nodes named in one human line */

/* Return the escape code when colour is on, else "". */
static const char *paint(const struct orch *o, const char *code)
{
	return o->color ? code : "";
}

void report_flush(struct orch *o)
{
	fflush(stdout);
	if (o->human != stdout)
		fflush(o->human);
}

void report_node_name(const struct node *nd, char *out, size_t outlen)
{
	const char *host = config_node_host(&nd->o->cfg, nd->index);
	bool v6 = strchr(host, ':') != NULL;

	if (nd->pid > 0)
		snprintf(out, outlen, "node %u (%s%s%s:%u, pid %d)", nd->index,
		         v6 ? "[" : "", host, v6 ? "]" : "", nd->port,
		         (int)nd->pid);
	else
		snprintf(out, outlen, "node %u (%s%s%s:%u)", nd->index,
		         v6 ? "[" : "", host, v6 ? "]" : "", nd->port);
}

void report_wait_status(int status, char *out, size_t outlen)
{
	if (WIFEXITED(status))
		snprintf(out, outlen, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outlen, "killed by signal %d (%s)",
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, outlen, "ended (status 0x%x)", (unsigned)status);
}

/* Write the JSON line in b to stdout. */
static void emit_json(struct buf *b)
{
	buf_append(b, "\n", 1);
	fwrite(buf_head(b), 1, buf_used(b), stdout);
	buf_free(b);
}

/* Append formatted text to b. */
__attribute__((format(printf, 2, 3))) static void bprintf(struct buf *b,
                                                          const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf((char *)buf_tail(b), (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_commit(b, (size_t)n);
}

static void human(struct orch *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void human(struct orch *o, const char *fmt, ...)
{
	va_list ap;

	term_hide();
	va_start(ap, fmt);
	vfprintf(o->human, fmt, ap);
	va_end(ap);
}

void report_ready(struct orch *o, unsigned connected, double ms)
{
	if (!o->cli.quiet)
		human(o, "%sready: %u/%u nodes in %.1f ms%s\n", paint(o, GREEN),
		      connected, o->n, ms, paint(o, RESET));
	if (o->cli.json) {
		struct buf b = {0};
		bprintf(&b,
		        "{\"event\":\"ready\",\"nodes\":%u,\"expected\":%u,"
		        "\"ms\":%.3f}",
		        connected, o->n, ms);
		emit_json(&b);
	}
}

/* Append the indexes of b's nodes in slot state s (JSON array). */
static void json_nodes(struct buf *j, const struct bcast *b, enum slot s,
                       enum slot also)
{
	bool first = true;

	buf_append(j, "[", 1);
	for (unsigned i = 0; i < b->nslots; i++)
		if (b->slot[i] == s || b->slot[i] == also) {
			bprintf(j, "%s%u", first ? "" : ",", i);
			first = false;
		}
	buf_append(j, "]", 1);
}

/* Append "; what: node 2 (...), node 4 (...)" to h for slots in s. */
static void human_nodes(struct orch *o, struct buf *h, const struct bcast *b,
                        const char *what, enum slot s, enum slot also)
{
	unsigned listed = 0, total = 0;
	char name[128];

	for (unsigned i = 0; i < b->nslots; i++) {
		if (b->slot[i] != s && b->slot[i] != also)
			continue;
		if (total++ < LIST_HUMAN_MAX && i < o->nalloc) {
			report_node_name(o->nodes[i], name, sizeof(name));
			bprintf(h, "%s%s", listed++ ? ", " : what, name);
		}
	}
	if (total > listed)
		bprintf(h, " and %u more", total - listed);
}

void report_broadcast(struct orch *o, const struct bcast *b, bool say)
{
	double ms = (double)(b->last_ack_ns - b->sent_ns) / 1e6;
	bool full = b->expected > 0 && b->acked == b->expected;

	if (say && (!o->cli.quiet || !full)) {
		struct buf h = {0};
		if (b->expected == 0)
			bprintf(&h,
			        "#%" PRIu64 " not sent: no node is connected",
			        b->seq);
		else if (b->acked > 0)
			bprintf(&h,
			        "#%" PRIu64 " acked %u/%u in %.2f ms, slowest "
			        "node %d",
			        b->seq, b->acked, b->expected, ms, b->slowest);
		else
			bprintf(&h, "#%" PRIu64 " acked 0/%u", b->seq,
			        b->expected);
		human_nodes(o, &h, b, "; missing: ", SLOT_PENDING, SLOT_LOST);
		human_nodes(o, &h, b, "; corrupt: ", SLOT_CORRUPT,
		            SLOT_CORRUPT);
		human(o, "%s%.*s%s\n", full ? "" : paint(o, RED),
		      (int)buf_used(&h), (char *)buf_head(&h),
		      full ? "" : paint(o, RESET));
		buf_free(&h);
	}
	if (o->cli.json) {
		struct buf j = {0};
		bprintf(
		    &j,
		    "{\"event\":\"broadcast\",\"seq\":%" PRIu64
		    ",\"bytes\":%u,\"acked\":%u,\"expected\":%u,\"missing\":",
		    b->seq, b->bytes, b->acked, b->expected);
		json_nodes(&j, b, SLOT_PENDING, SLOT_LOST);
		bprintf(&j, ",\"corrupt\":");
		json_nodes(&j, b, SLOT_CORRUPT, SLOT_CORRUPT);
		bprintf(&j, ",\"ms\":%.3f}", ms);
		emit_json(&j);
	}
}

void report_last_words(struct orch *o, const struct node *nd, bool error)
{
	const char *last = fleet_last_line(nd, 0);
	char name[128], how[96];

	report_node_name(nd, name, sizeof(name));
	report_wait_status(nd->wait_status, how, sizeof(how));
	if (error)
		log_msg("%s %s%s%s", name, how, last ? ": " : "",
		        last ? last : "");
	else
		human(o, "%s%s %s%s%s%s\n", paint(o, RED), name, how,
		      last ? ": " : "", last ? last : "", paint(o, RESET));
	/* The lines before it, oldest first, for context. */
	for (unsigned back = NODE_LAST_LINES - 1; back > 0; back--) {
		const char *line = fleet_last_line(nd, back);
		if (line && error)
			log_msg("  before that: %s", line);
		else if (line)
			human(o, "  before that: %s\n", line);
	}
}

void report_node_exit(struct orch *o, const struct node *nd)
{
	int st = nd->wait_status;

	report_last_words(o, nd, false);
	if (o->cli.json) {
		struct buf j = {0};
		bprintf(&j, "{\"event\":\"node_exit\",\"index\":%u,\"pid\":%d,",
		        nd->index, (int)nd->pid);
		if (WIFEXITED(st))
			bprintf(&j, "\"code\":%d,\"signal\":null}",
			        WEXITSTATUS(st));
		else
			bprintf(&j, "\"code\":null,\"signal\":%d}",
			        WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		emit_json(&j);
	}
}

void report_scale(struct orch *o, unsigned from, unsigned to,
                  unsigned connected, double ms)
{
	human(o, "scaled from %u to %u nodes in %.1f ms (%u connected)\n", from,
	      to, ms, connected);
	if (o->cli.json) {
		struct buf j = {0};
		bprintf(&j,
		        "{\"event\":\"scale\",\"from\":%u,\"to\":%u,"
		        "\"nodes\":%u,\"ms\":%.3f}",
		        from, to, connected, ms);
		emit_json(&j);
	}
}

void report_shutdown(struct orch *o, const char *reason, int status, double ms)
{
	/* After a failed start-up its error says it all. */
	if (o->console_ran)
		human(o,
		      "shutdown (%s): %" PRIu64 " broadcasts, %" PRIu64
		      " fully acked; exit %d after %.1f ms\n",
		      reason, o->sent, o->fully_acked, status, ms);
	if (o->cli.json) {
		struct buf j = {0};
		bprintf(&j,
		        "{\"event\":\"shutdown\",\"reason\":\"%s\","
		        "\"status\":%d,\"ms\":%.3f}",
		        reason, status, ms);
		emit_json(&j);
	}
}

void report_node(struct orch *o, const struct node *nd, const char *fmt, ...)
{
	char name[128], msg[1024];
	va_list ap;

	report_node_name(nd, name, sizeof(name));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	human(o, "%s %s\n", name, msg);
}

void report_escape(struct buf *b, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			buf_append(
			    b, (char[]){'\\', 'x', hex[c >> 4], hex[c & 15]},
			    4);
		else
			buf_append(b, &text[i], 1);
	}
}

void report_node_output(const struct node *nd, const char *text, size_t len)
{
	/* Always stderr: node chatter never mixes into --json's stdout. */
	term_hide();
	if (nd->o->color) {
		fprintf(stderr, DIM "[node %u]" RESET " %.*s\n", nd->index,
		        (int)len, text);
		return;
	}
	fprintf(stderr, "[node %u] %.*s\n", nd->index, (int)len, text);
	fflush(stderr);
}
