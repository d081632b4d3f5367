/* format.c - see format.h. */
#include "format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

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
   U+10FFFF) and encodes no C1 control (U+0080..U+009F, which terminals
   obey as they obey ESC); else 0. */
static size_t utf8_printable(const unsigned char *p, size_t n)
{
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	uint32_t cp = p[0] & (0x7f >> len);

	if (p[0] < 0xc2 || p[0] > 0xf4 || n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
		return 0;
	return len;
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

void format_broadcast(struct buf *b, const struct bcast *bc,
                      struct node *const *nodes, unsigned count)
{
	double ms = (double)(bc->last_ack_ns - bc->sent_ns) / 1e6;

	if (bc->expected == 0)
		buf_printf(b, "#%" PRIu64 " not sent: no node is connected",
		           bc->seq);
	else if (bc->acked > 0)
		buf_printf(b,
		           "#%" PRIu64 " acked %u/%u in %.2f ms, slowest "
		           "node %d",
		           bc->seq, bc->acked, bc->expected, ms, bc->slowest);
	else
		buf_printf(b, "#%" PRIu64 " acked 0/%u", bc->seq, bc->expected);
	list_nodes(b, bc, nodes, count, "; missing: ", SLOT_PENDING, SLOT_LOST);
	list_nodes(b, bc, nodes, count, "; corrupt: ", SLOT_CORRUPT,
	           SLOT_CORRUPT);
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

void format_broadcast_json(struct buf *b, const struct bcast *bc)
{
	buf_printf(b,
	           "{\"event\":\"broadcast\",\"seq\":%" PRIu64
	           ",\"bytes\":%u,\"acked\":%u,\"expected\":%u,\"missing\":",
	           bc->seq, bc->bytes, bc->acked, bc->expected);
	json_nodes(b, bc, SLOT_PENDING, SLOT_LOST);
	buf_printf(b, ",\"corrupt\":");
	json_nodes(b, bc, SLOT_CORRUPT, SLOT_CORRUPT);
	buf_printf(b, ",\"ms\":%.3f}",
	           (double)(bc->last_ack_ns - bc->sent_ns) / 1e6);
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
		buf_printf(b, "\"code\":%d,\"signal\":null}", WEXITSTATUS(st));
	else
		buf_printf(b, "\"code\":null,\"signal\":%d}",
		           WIFSIGNALED(st) ? WTERMSIG(st) : 0);
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
