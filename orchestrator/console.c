/* console.c - see console.h. */
#include "console.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "log.h"
#include "nodeset.h"

static const char help_text[] =
    "Every line you type is broadcast to all nodes. Commands:\n"
    "  /status   one row per node: address, pid, state, acks, round trip\n"
    "  /send SET text  send text to a node set only: 3, 0-3,7, node[0-3]\n"
    "  /lines    replies as 'node3: text' lines (pdsh), or folded again\n"
    "  /reload   read the configuration again and resize the fleet\n"
    "  /help     this text\n"
    "  /quit     stop the fleet and exit (so does 'exit' or end of input)\n"
    "  //text    broadcast '/text'\n";

void console_init(struct console *c, struct links *links,
                  const struct fleet *fleet, struct out *out,
                  struct outcome *outcome, const struct config *cfg)
{
	*c = (struct console){.links = links,
	                      .fleet = fleet,
	                      .out = out,
	                      .outcome = outcome,
	                      .cfg = cfg};
}

/* Queue p for every node, or for those only marks (NULL for all). */
static void queue(struct console *c, const uint8_t *p, size_t len,
                  const uint8_t *only)
{
	if (links_send(c->links, p, len, only) < 0)
		log_msg("out of memory: line %" PRIu64 " not sent", c->lineno);
}

static void print_status(struct console *c)
{
	const struct fleet *f = c->fleet;
	struct buf b = {0};

	format_status_header(&b);
	for (unsigned i = 0; i < f->nalloc; i++)
		format_status_row(&b, f->nodes[i]);
	out_block(c->out, (const char *)buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* "/send SET text": a message to a node set (nodeset.h) only. A set
   that names no node of the fleet, or no text, is refused: the run then
   exits 1, as for any line refused. */
static void send_set(struct console *c, const char *args, size_t len)
{
	const struct fleet *f = c->fleet;
	size_t skip = 0, setlen;
	const char *set, *sp;
	uint8_t *member = NULL;
	char err[160] = "no text to send";
	unsigned connected = 0;

	while (skip < len && args[skip] == ' ') /* args holds no NUL */
		skip++;
	set = args + skip;
	len -= skip;
	sp = memchr(set, ' ', len);
	setlen = sp ? (size_t)(sp - set) : len;
	if (!sp || sp + 1 == set + len || f->n == 0 ||
	    !(member = calloc(f->n, 1)) ||
	    nodeset_parse(set, setlen, f->n, member, err, sizeof(err)) < 0) {
		log_msg("/send: %s; usage: /send SET text, with SET a node "
		        "set of 0..%u such as 3, 0-3,7 or node[0-3],node5",
		        f->n ? err : "no node to send to", f->n ? f->n - 1 : 0);
		outcome_fail(c->outcome);
		free(member);
		return;
	}
	for (unsigned i = 0; i < f->n; i++) {
		if (member[i] && f->nodes[i]->state != NODE_CONNECTED)
			out_node(c->out, f->nodes[i],
			         "is not connected; it misses this message");
		connected += member[i] && f->nodes[i]->state == NODE_CONNECTED;
	}
	if (connected > 0)
		queue(c, (const uint8_t *)sp + 1, len - setlen - 1, member);
	free(member);
}

/* "/lines": replies as pdsh's lines, or folded again. */
static void toggle_lines(struct console *c)
{
	if (c->out->json) {
		log_msg("/lines: standard output carries JSON (--json)");
		return;
	}
	c->out->lines = !c->out->lines;
	out_text(c->out, "replies are shown %s",
	         c->out->lines ? "as 'nodeN: text' lines"
	                       : "folded by identical output");
}

/* Handle a line starting with '/' (not "//"). */
static void command(struct console *c, const char *p, size_t len)
{
	if (len == 5 && !memcmp(p, "/quit", 5)) {
		outcome_stop(c->outcome, STOP_EXIT);
	} else if (len == 5 && !memcmp(p, "/help", 5)) {
		out_block(c->out, help_text, strlen(help_text));
	} else if (len >= 5 && !memcmp(p, "/send", 5) &&
	           (len == 5 || p[5] == ' ')) {
		send_set(c, p + 5, len - 5);
	} else if (len == 6 && !memcmp(p, "/lines", 6)) {
		toggle_lines(c);
	} else if (len == 7 && !memcmp(p, "/status", 7)) {
		print_status(c);
	} else if (len == 7 && !memcmp(p, "/reload", 7)) {
		c->reload_requested = true;
	} else {
		struct buf name = {0};
		format_escape(&name, p, len > 40 ? 40 : len);
		log_msg("unknown command '%.*s'; try /status, /send SET text, "
		        "/lines, /reload, /help, /quit (//text sends '/text')",
		        (int)buf_used(&name), (char *)buf_head(&name));
		buf_free(&name);
	}
}

void console_line(struct console *c, const uint8_t *p, size_t len)
{
	c->lineno++;
	if (len == 0)
		return;
	if (len == 4 && !memcmp(p, "exit", 4))
		outcome_stop(c->outcome, STOP_EXIT);
	else if (len >= 2 && p[0] == '/' && p[1] == '/')
		queue(c, p + 1, len - 1, NULL);
	else if (p[0] == '/')
		command(c, (const char *)p, len);
	else
		queue(c, p, len, NULL);
}

void console_refuse_long(struct console *c)
{
	c->lineno++;
	log_msg("line %" PRIu64 ": longer than max_message_bytes (%u); not "
	        "sent",
	        c->lineno, c->cfg->max_message_bytes);
	outcome_fail(c->outcome);
}

void console_refuse_full(struct console *c)
{
	c->lineno++;
	log_msg("the broadcasts in flight (or their replies) fill the window; "
	        "line %" PRIu64 " not sent",
	        c->lineno);
	outcome_fail(c->outcome);
}

bool console_take_reload(struct console *c)
{
	bool r = c->reload_requested;

	c->reload_requested = false;
	return r;
}
