/* format.c - see format.h. */
#include "format.h"

#include <glib.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "nodeset.h"

void format_node_name(const struct node *nd, char *out, size_t outlen)
{
	bool v6 = strchr(nd->host, ':') != NULL;

	if (nd->proc.pid > 0)
		snprintf(out, outlen, "node %u (%s%s%s:%u, pid %d)", nd->index,
		         v6 ? "[" : "", nd->host, v6 ? "]" : "", nd->port,
		         (int)nd->proc.pid);
	else
		snprintf(out, outlen, "node %u (%s%s%s:%u)", nd->index,
		         v6 ? "[" : "", nd->host, v6 ? "]" : "", nd->port);
}

/* Return the length of the UTF-8 sequence at p (n bytes there, p[0] at
   least 0x80) when it is valid (shortest form, no surrogate, at most
   U+10FFFF), its code point in *cp; else 0. */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	uint32_t c = p[0] & (0x7f >> len);

	if (p[0] < 0xc2 || p[0] > 0xf4 || n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Return utf8_len() for a sequence that encodes no C1 control
   (U+0080..U+009F, which terminals obey as they obey ESC); else 0. */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len = utf8_len(p, n, &cp);

	return len > 0 && cp > 0x9f ? len : 0;
}

void format_escape(struct buf *b, const char *text, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)text;

	for (size_t i = 0; i < len;) {
		size_t k = p[i] < 0x80
		               ? (p[i] >= 0x20 && p[i] != 0x7f) || p[i] == '\t'
		               : utf8_printable(p + i, len - i);
		if (k > 0) {
			buf_append(b, p + i, k);
			i += k;
		} else {
			buf_append(
			    b,
			    (char[]){'\\', 'x', hex[p[i] >> 4], hex[p[i] & 15]},
			    4);
			i++;
		}
	}
}

/* Append "; what: node 2 (...), node 4 (...)" for bc's slots in state s
   or also, naming at most FORMAT_LIST_MAX; a node no longer in nodes
   (retired), or replaced there by one that joined after bc, is named by
   its index alone. */
static void list_nodes(struct buf *b, const struct bcast *bc,
                       struct node *const *nodes, unsigned count,
                       const char *what, enum slot s, enum slot also)
{
	unsigned listed = 0, total = 0;
	char name[128];

	for (unsigned i = 0; i < bc->nslots; i++) {
		if (bc->slot[i] != s && bc->slot[i] != also)
			continue;
		if (total++ >= FORMAT_LIST_MAX)
			continue;
		if (i < count && (!nodes[i]->link.joined ||
		                  nodes[i]->link.first_seq <= bc->seq))
			format_node_name(nodes[i], name, sizeof(name));
		else
			snprintf(name, sizeof(name), "node %u", i);
		buf_printf(b, "%s%s", listed++ ? ", " : what, name);
	}
	if (total > listed)
		buf_printf(b, " and %u more", total - listed);
}

/* Append "; failed: node[0-2,4-7] (7)", the nodes of g whose reply was
   not clean, folded (nothing when there are none). */
static void failed_nodes(struct buf *b, const struct gather *g)
{
	unsigned all = 0, n, *idx;

	for (unsigned i = 0; i < g->ngroups; i++)
		all += g->groups[i].nnodes;
	if (gather_all_clean(g) || !(idx = malloc(all * sizeof(*idx))))
		return;
	n = gather_unclean(g, idx);
	buf_printf(b, "; failed: ");
	nodeset_format(b, idx, n);
	buf_printf(b, " (%u)", n);
	free(idx);
}

/* Append ", replied 3/5 in 4.10 ms" (the time of the last reply). */
static void replied(struct buf *b, const struct bcast *bc)
{
	buf_printf(b, ", replied %u/%u", bc->replied, bc->expected);
	if (bc->replied > 0)
		buf_printf(b, " in %.2f ms",
		           (double)(bc->last_reply_ns - bc->sent_ns) / 1e6);
}

void format_broadcast(struct buf *b, const struct bcast *bc,
                      struct node *const *nodes, unsigned count)
{
	double ms = (double)(bc->last_ack_ns - bc->sent_ns) / 1e6;
	if (bc->expected == 0)
		buf_printf(b, "#%" PRIu64 " not sent: no node is connected",
		           bc->seq);
	else if (bc->acked > 0) {
		buf_printf(b, "#%" PRIu64 " acked %u/%u in %.2f ms", bc->seq,
		           bc->acked, bc->expected, ms);
		if (bc->reply_window_ns)
			replied(b, bc);
		buf_printf(b, ", slowest node %d", bc->slowest);
	} else
		buf_printf(b, "#%" PRIu64 " acked 0/%u", bc->seq, bc->expected);
	list_nodes(b, bc, nodes, count, "; missing: ", SLOT_PENDING, SLOT_LOST);
	list_nodes(b, bc, nodes, count, "; corrupt: ", SLOT_CORRUPT,
	           SLOT_CORRUPT);
	if (!bc->reply_window_ns)
		return;
	/* Still SLOT_ACKED at report time: its reply never came. */
	list_nodes(b, bc, nodes, count, "; no reply: ", SLOT_ACKED,
	           SLOT_NO_REPLY);
	failed_nodes(b, &bc->replies);
}

/* Append the JSON array of bc's node indexes in slot state s or also. */
static void json_nodes(struct buf *b, const struct bcast *bc, enum slot s,
                       enum slot also)
{
	bool first = true;

	buf_append(b, "[", 1);
	for (unsigned i = 0; i < bc->nslots; i++)
		if (bc->slot[i] == s || bc->slot[i] == also) {
			buf_printf(b, "%s%u", first ? "" : ",", i);
			first = false;
		}
	buf_append(b, "]", 1);
}

/* Append len bytes at p as the inside of a JSON string: '"', '\\' and
   control characters escaped, valid UTF-8 as it is, each byte of invalid
   UTF-8 as \ufffd (the replacement character: a lone surrogate escape
   would keep the byte, but strict parsers refuse the whole event for
   it). Return whether all of it was valid UTF-8 (if not, the caller
   adds the exact bytes in base64). */
static bool json_text(struct buf *b, const uint8_t *p, size_t len)
{
	bool valid = true;
	size_t start = 0;
	uint32_t cp;

	if (len == 0) /* p may be NULL: no arithmetic on it */
		return true;
	for (size_t i = 0; i < len;) {
		size_t k = p[i] < 0x80
		               ? p[i] >= 0x20 && p[i] != '"' && p[i] != '\\'
		               : utf8_len(p + i, len - i, &cp);
		if (k > 0) {
			i += k;
			continue;
		}
		buf_append(b, p + start, i - start);
		if (p[i] >= 0x80) {
			buf_append(b, "\\ufffd", 6);
			valid = false;
		} else if (p[i] == '"' || p[i] == '\\')
			buf_append(b, (char[]){'\\', (char)p[i]}, 2);
		else if (p[i] == '\n')
			buf_append(b, "\\n", 2);
		else if (p[i] == '\t')
			buf_append(b, "\\t", 2);
		else
			buf_printf(b, "\\u%04x", p[i]);
		start = ++i;
	}
	buf_append(b, p + start, len - start);
	return valid;
}

/* Append the base64 of len bytes at p (text cut short when out of
   memory). Encoded in place: no copy, and no g_malloc() to abort. */
static void base64(struct buf *b, const uint8_t *p, size_t len)
{
	int state = 0, save = 0;
	gsize n;

	/* The bound g_base64_encode_step() documents. */
	if (buf_reserve(b, (len / 3 + 1) * 4 + 4) < 0)
		return;
	n = g_base64_encode_step(p, len, FALSE, (gchar *)buf_tail(b), &state,
	                         &save);
	n += g_base64_encode_close(FALSE, (gchar *)buf_tail(b) + n, &state,
	                           &save);
	buf_commit(b, n);
}

/* Append gr as a JSON object of the broadcast event's "replies". */
static void json_group(struct buf *b, const struct reply_group *gr)
{
	buf_append(b, "{\"nodes\":[", 10);
	for (unsigned k = 0; k < gr->nnodes; k++)
		buf_printf(b, "%s%u", k ? "," : "", gr->nodes[k]);
	if (gr->how == REPLY_EXITED)
		buf_printf(b, "],\"status\":%u,\"signal\":null", gr->code);
	else if (gr->code == 0) /* timed out before it ran */
		buf_printf(b, "],\"status\":null,\"signal\":null");
	else
		buf_printf(b, "],\"status\":null,\"signal\":%u", gr->code);
	buf_printf(b,
	           ",\"timed_out\":%s,\"restarted\":%s,\"truncated\":%u,"
	           "\"output\":\"",
	           gr->how == REPLY_TIMED_OUT ? "true" : "false",
	           gr->flags & REPLY_F_RESTARTED ? "true" : "false",
	           gr->dropped);
	if (!json_text(b, gr->output, gr->len)) {
		buf_printf(b, "\",\"output_base64\":\"");
		base64(b, gr->output, gr->len);
	}
	buf_append(b, "\"}", 2);
}

/* Append the reply fields of the broadcast event. */
static void json_replies(struct buf *b, const struct bcast *bc)
{
	buf_printf(b, ",\"replied\":%u,\"no_reply\":", bc->replied);
	json_nodes(b, bc, SLOT_ACKED, SLOT_NO_REPLY);
	buf_printf(b, ",\"replies\":[");
	for (unsigned i = 0; i < bc->replies.ngroups; i++) {
		if (i > 0)
			buf_append(b, ",", 1);
		json_group(b, &bc->replies.groups[i]);
	}
	buf_append(b, "]", 1);
}

void format_broadcast_json(struct buf *b, const struct bcast *bc)
{
	buf_printf(b,
	           "{\"event\":\"broadcast\",\"seq\":%" PRIu64
	           ",\"bytes\":%u,\"acked\":%u,\"expected\":%u,\"missing\":",
	           bc->seq, bc->bytes, bc->acked, bc->expected);
	json_nodes(b, bc, SLOT_PENDING, SLOT_LOST);
	buf_printf(b, ",\"corrupt\":");
	json_nodes(b, bc, SLOT_CORRUPT, SLOT_CORRUPT);
	if (bc->reply_window_ns)
		json_replies(b, bc);
	buf_printf(b, ",\"ms\":%.3f",
	           (double)(bc->last_ack_ns - bc->sent_ns) / 1e6);
	if (bc->reply_window_ns && bc->replied > 0)
		buf_printf(b, ",\"reply_ms\":%.3f",
		           (double)(bc->last_reply_ns - bc->sent_ns) / 1e6);
	buf_append(b, "}", 1);
}

/* Whether gr's ending is worth saying: not clean, or output cut. */
static bool notable(const struct reply_group *gr)
{
	return !gather_group_clean(gr) || gr->dropped > 0 || gr->flags != 0;
}

/* Append how gr's replies ended: "exit 1", "killed by signal 9
   (SIGKILL)", "timed out, killed by signal 15 (SIGTERM)", "timed out
   before it ran", then "; co-process restarted" and "; 12 bytes
   dropped" when so. */
static void ending(struct buf *b, const struct reply_group *gr)
{
	const char *name;

	if (gr->how == REPLY_EXITED)
		buf_printf(b, "exit %u", gr->code);
	else if (gr->how == REPLY_TIMED_OUT && gr->code == 0)
		buf_printf(b, "timed out before it ran");
	else {
		buf_printf(b, "%skilled by signal %u",
		           gr->how == REPLY_TIMED_OUT ? "timed out, " : "",
		           gr->code);
		if ((name = sigabbrev_np(gr->code)))
			buf_printf(b, " (SIG%s)", name);
	}
	if (gr->flags & REPLY_F_RESTARTED)
		buf_printf(b, "; co-process restarted");
	if (gr->dropped > 0)
		buf_printf(b, "; %u bytes dropped", gr->dropped);
}

/* Append gr's output a line at a time, each after prefix (plen bytes),
   escaped, and ending in a newline, the last one too. */
static void output_lines(struct buf *b, const struct reply_group *gr,
                         const char *prefix, size_t plen)
{
	const char *text = (const char *)gr->output;

	for (size_t i = 0, n; i < gr->len; i += n + 1) {
		const char *nl = memchr(text + i, '\n', gr->len - i);

		n = nl ? (size_t)(nl - (text + i)) : gr->len - i;
		buf_append(b, prefix, plen);
		format_escape(b, text + i, n);
		buf_append(b, "\n", 1);
	}
}

void format_replies(struct buf *b, const struct bcast *bc)
{
	for (unsigned i = 0; i < bc->replies.ngroups; i++) {
		const struct reply_group *gr = &bc->replies.groups[i];

		if (gr->len == 0 && !notable(gr))
			continue;
		buf_printf(b, "---------------- ");
		nodeset_format(b, gr->nodes, gr->nnodes);
		buf_printf(b, " (%u)", gr->nnodes);
		if (notable(gr)) {
			buf_append(b, ": ", 2);
			ending(b, gr);
		}
		buf_append(b, "\n", 1);
		output_lines(b, gr, "", 0);
	}
}

/* Return an array of bc->nslots entries, the group of bc's replies each
   node's reply joined or UINT_MAX for none; NULL when out of memory. */
static unsigned *group_of_nodes(const struct bcast *bc)
{
	const struct gather *g = &bc->replies;
	size_t size = ((size_t)bc->nslots + 1) * sizeof(unsigned); /* not 0 */
	unsigned *of = malloc(size);

	if (!of)
		return NULL;
	memset(of, 0xff, size); /* UINT_MAX each */
	for (unsigned i = 0; i < g->ngroups; i++)
		for (unsigned k = 0; k < g->groups[i].nnodes; k++)
			if (g->groups[i].nodes[k] < bc->nslots)
				of[g->groups[i].nodes[k]] = i;
	return of;
}

void format_reply_lines(struct buf *b, const struct bcast *bc)
{
	unsigned *of = group_of_nodes(bc);
	char prefix[32];

	for (unsigned i = 0; of && i < bc->nslots; i++) {
		int n;

		if (of[i] == UINT_MAX)
			continue;
		n = snprintf(prefix, sizeof(prefix), "node%u: ", i);
		output_lines(b, &bc->replies.groups[of[i]], prefix, (size_t)n);
	}
	free(of);
}

void format_reply_endings(struct buf *b, const struct bcast *bc)
{
	unsigned *of = group_of_nodes(bc);

	for (unsigned i = 0; of && i < bc->nslots; i++) {
		if (of[i] == UINT_MAX || !notable(&bc->replies.groups[of[i]]))
			continue;
		buf_printf(b, "node%u: ", i);
		ending(b, &bc->replies.groups[of[i]]);
		buf_append(b, "\n", 1);
	}
	free(of);
}

void format_ready_json(struct buf *b, unsigned nodes, unsigned expected,
                       double ms)
{
	buf_printf(b,
	           "{\"event\":\"ready\",\"nodes\":%u,\"expected\":%u,"
	           "\"ms\":%.3f}",
	           nodes, expected, ms);
}

void format_node_exit_json(struct buf *b, const struct node *nd)
{
	int st = nd->proc.wait_status;

	buf_printf(b, "{\"event\":\"node_exit\",\"index\":%u,\"pid\":%d,",
	           nd->index, (int)nd->proc.pid);
	if (WIFEXITED(st))
		buf_printf(b, "\"code\":%d,\"signal\":null", WEXITSTATUS(st));
	else
		buf_printf(b, "\"code\":null,\"signal\":%d",
		           WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	/* Lost with its host: the status is its launcher's. Host names
	   are checked (config.h): nothing in one needs escaping. */
	if (nd->proc.lost_host)
		buf_printf(b, ",\"lost_with_host\":\"%s\"", nd->host);
	buf_printf(b, "}");
}

void format_scale_json(struct buf *b, unsigned from, unsigned to,
                       unsigned nodes, double ms)
{
	buf_printf(b,
	           "{\"event\":\"scale\",\"from\":%u,\"to\":%u,\"nodes\":%u,"
	           "\"ms\":%.3f}",
	           from, to, nodes, ms);
}

void format_shutdown_json(struct buf *b, const char *reason, int status,
                          double ms)
{
	buf_printf(b,
	           "{\"event\":\"shutdown\",\"reason\":\"%s\",\"status\":%d,"
	           "\"ms\":%.3f}",
	           reason, status, ms);
}

/* Return the median of the link's recent round trips, in ms (0 if
   none). */
static double median_rtt_ms(const struct link *l)
{
	uint32_t v[RTT_KEEP];
	unsigned n = l->rtt_count < RTT_KEEP ? l->rtt_count : RTT_KEEP;

	if (n == 0)
		return 0;
	memcpy(v, l->rtt_us, n * sizeof(v[0]));
	/* Insertion sort: at most RTT_KEEP values, once per /status. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned k = i; k > 0 && v[k - 1] > v[k]; k--) {
			uint32_t t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0) / 1e3;
}

void format_status_header(struct buf *b)
{
	buf_printf(b, "%5s  %-21s %7s  %-9s %7s %6s %5s %9s %9s %8s\n", "node",
	           "address", "pid", "state", "acked", "missed", "late",
	           "last rtt", "median", "restarts");
}

void format_status_row(struct buf *b, const struct node *nd)
{
	static const char *const names[] = {"starting",  "ready", "connecting",
	                                    "connected", "lost",  "stopping",
	                                    "down"};
	const struct link *l = &nd->link;
	char addr[300];

	snprintf(addr, sizeof(addr), "%s:%u", nd->host, nd->port);
	buf_printf(b,
	           "%5u  %-21s %7d  %-9s %7" PRIu64 " %6" PRIu64 " %5" PRIu64
	           " %6.2f ms %6.2f ms %8u\n",
	           nd->index, addr, (int)nd->proc.pid, names[nd->state],
	           l->acked, l->missed, l->late, (double)l->last_rtt_ns / 1e6,
	           median_rtt_ms(l), nd->up.total_restarts);
}
