/*
 * console.h - what a line of input means (SPEC §4): a broadcast, or a
 * built-in command (exit, /quit, /status, /send, /reload, /help; //text
 * sends /text).
 *
 * The console does not read: an input source (input.h: standard input,
 * a pipe or a terminal) hands it lines, so other sources can hand it
 * lines too. It sends through links.h and answers through out.h.
 */
#ifndef FANOUT_CONSOLE_H
#define FANOUT_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fleet.h"
#include "links.h"
#include "out.h"
#include "outcome.h"

struct console {
	uint64_t lineno;       /* lines handed in, refused ones included */
	bool reload_requested; /* /reload: the supervisor reads the file */

	/* What it works with, set by console_init(). */
	struct links *links;
	const struct fleet *fleet;
	struct out *out;
	struct outcome *outcome;
	const struct config *cfg;
};

void console_init(struct console *c, struct links *links,
                  const struct fleet *fleet, struct out *out,
                  struct outcome *outcome, const struct config *cfg);

/* Handle one line, without its newline (empty lines are ignored). A
   broadcast is queued, not flushed: the source calls links_flush()
   after a batch. The window must not be full. */
void console_line(struct console *c, const uint8_t *p, size_t len);

/* Refuse a line longer than [broadcast] max_message_bytes: say so. */
void console_refuse_long(struct console *c);

/* Refuse a line typed while the window of broadcasts is full: say so. */
void console_refuse_full(struct console *c);

/* Whether a /reload waits to be done: a script's next lines wait for it
   (they may count on what it changes). */
static inline bool console_reload_waiting(const struct console *c)
{
	return c->reload_requested;
}

/* Return whether /reload was asked for since the last call. */
bool console_take_reload(struct console *c);

#endif
