/*
 * input.h - standard input as the console's source of lines: a pipe or
 * a file read in batches, or a terminal through term.h (SPEC §4).
 *
 * Piped lines are pipelined: they are read while the window of
 * broadcasts in flight has room, and input pauses (the descriptor is not
 * watched) while it is full, so nothing is lost and nothing is buffered
 * without bound. A regular file, which epoll refuses, is read from
 * input_tick() instead. End of input asks the run to stop (STOP_EOF) once
 * every line read has been handled.
 */
#ifndef FANOUT_INPUT_H
#define FANOUT_INPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "console.h"
#include "linebuf.h"
#include "links.h"
#include "loop.h"
#include "out.h"
#include "outcome.h"

struct input {
	struct linebuf lines;
	struct watcher w;
	bool started;
	bool eof;        /* no more input will come */
	bool plain;      /* a regular file: epoll cannot watch it */
	bool tty;        /* a terminal */
	bool background; /* a terminal that belongs to another job now */

	/* What it works with, set by input_start(). */
	struct loop *loop;
	struct console *console;
	struct links *links;
	struct outcome *outcome;
	const struct config *cfg;
	const struct out *out;
};

/* Start reading standard input, through the line editor when it and
   out's human stream are a terminal. Input pauses while the window of
   broadcasts or out's queues are full. Return 0, or -1 with errno. */
int input_start(struct input *in, struct loop *loop, struct console *console,
                struct links *links, struct outcome *outcome,
                const struct config *cfg, const struct out *out);

/* Handle what can be handled now: lines read while the window was full,
   or a regular file's next batch; ask for a stop at end of input. Call
   after every loop round. */
void input_tick(struct input *in);

/* Return the loop timeout (ms) input needs: 0 when a regular file can be
   read now, else -1. */
int input_timeout(const struct input *in);

/* Stop reading (teardown) and give the terminal back. */
void input_stop(struct input *in);

/* Release the memory. */
void input_free(struct input *in);

#endif
