/* console.c - see console.h. */
#include "console.h"

#include <inttypes.h>
#include <string.h>

#include "format.h"
#include "log.h"
#include "parse.h"

static const char help_text[] =
    "Every line you type is broadcast to all nodes. Commands:\n"
    "  /status   one row per node: address, pid, state, acks, round trip\n"
    "  /send I text  send text to node I alone\n"
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

/* Queue p for every node, or node only alone (-1 for all). */
static void queue(struct console *c, const uint8_t *p, size_t len, int only)
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

/* "/send I text": a message to node I alone. */
static void send_one(struct console *c, const char *args, size_t len)
{
	const struct fleet *f = c->fleet;
	char num[16];
	size_t k = 0;
	unsigned i;

	while (k < len && k < sizeof(num) - 1 && args[k] != ' ')
		num[k] = args[k], k++;
	num[k] = '\0';
	if (f->n == 0 || k >= len - 1 || parse_uint(num, 0, f->n - 1, &i) < 0) {
		log_msg("usage: /send I text, with I a node index in 0..%u",
		        f->n ? f->n - 1 : 0);
		return;
	}
	if (f->nodes[i]->state != NODE_CONNECTED) {
		out_node(c->out, f->nodes[i], "is not connected; nothing sent");
		return;
	}
	queue(c, (const uint8_t *)args + k + 1, len - k - 1, (int)i);
}

/* Handle a line starting with '/' (not "//"). */
static void command(struct console *c, const char *p, size_t len)
{
	if (len == 5 && !memcmp(p, "/quit", 5)) {
		outcome_stop(c->outcome, STOP_EXIT);
	} else if (len == 5 && !memcmp(p, "/help", 5)) {
		out_block(c->out, help_text, strlen(help_text));
	} else if (len > 6 && !memcmp(p, "/send ", 6)) {
		send_one(c, p + 6, len - 6);
	} else if (len == 7 && !memcmp(p, "/status", 7)) {
		print_status(c);
	} else if (len == 7 && !memcmp(p, "/reload", 7)) {
		c->reload_requested = true;
	} else {
		struct buf name = {0};
		format_escape(&name, p, len > 40 ? 40 : len);
		log_msg("unknown command '%.*s'; try /status, /send I text, "
		        "/reload, /help, /quit (//text sends '/text')",
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
		queue(c, p + 1, len - 1, -1);
	else if (p[0] == '/')
		command(c, (const char *)p, len);
	else
		queue(c, p, len, -1);
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
	log_msg("%u broadcasts are in flight; line %" PRIu64 " not sent",
	        LINKS_WINDOW, c->lineno);
	outcome_fail(c->outcome);
}

bool console_take_reload(struct console *c)
{
	bool r = c->reload_requested;

	c->reload_requested = false;
	return r;
}
