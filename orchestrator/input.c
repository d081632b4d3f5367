/* input.c - see input.h. */
#include "input.h"

#include <errno.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "term.h"

#define READ_CHUNK 65536
#define BACKGROUND_POLL_MS                                                     \
	200 /* how often a background job looks whether                        \
	       it has the terminal again */

/* Whether a line may be sent now: the window has room, the output is
   not backed up, and a script's commands go one at a time (a person at
   a terminal types ahead, and /status must answer meanwhile). */
static bool room(const struct input *in)
{
	return !links_full(in->links) && !out_full(in->out) &&
	       (in->tty || !links_lockstep(in->links) || links_idle(in->links));
}

/* Whether standard input should be read now. */
static bool want_input(const struct input *in)
{
	return in->started && !in->eof && !outcome_stopping(in->outcome) &&
	       room(in);
}

/* Hand the whole lines held to the console while the window has room;
   at end of input a last line without a newline counts too. */
static void process_lines(struct input *in)
{
	const uint8_t *line;
	size_t len;

	in->lines.max = in->cfg->max_message_bytes; /* a reload may change it */
	in->lines.eof = in->eof;
	while (!outcome_stopping(in->outcome) && room(in) &&
	       !console_reload_waiting(in->console)) {
		enum line_result r = linebuf_next(&in->lines, &line, &len);
		if (r == LINE_NONE)
			break;
		if (r == LINE_TOO_LONG)
			console_refuse_long(in->console);
		else
			console_line(in->console, line, len);
	}
}

static void read_stdin(struct input *in)
{
	uint8_t *room = linebuf_room(&in->lines, READ_CHUNK);
	ssize_t r;

	if (!room) {
		log_errno("standard input");
		outcome_stop(in->outcome, STOP_ERROR);
		return;
	}
	r = io_read(STDIN_FILENO, room, READ_CHUNK);
	if (r < 0 && errno == EAGAIN)
		return;
	if (r < 0 && errno == EIO && in->tty && !term_foreground()) {
		/* A background job reading its terminal (SIGTTIN is
		   ignored, so no stop with a SIGTERM pending): wait until
		   it is brought to the foreground. */
		in->background = true;
		loop_watch(in->loop, &in->w, 0);
		return;
	}
	if (r < 0) {
		log_errno("standard input");
		outcome_stop(in->outcome, STOP_ERROR);
	}
	if (r <= 0) {
		in->eof = true;
		if (!in->plain)
			loop_watch(in->loop, &in->w, 0);
	} else {
		linebuf_commit(&in->lines, (size_t)r);
	}
	process_lines(in);
	links_flush(in->links);
}

/* A line typed at the terminal, or NULL at its end of input. */
static void on_term_line(void *arg, const char *line, size_t len)
{
	struct input *in = arg;

	if (!line) {
		in->eof = true;
		return;
	}
	if (len > in->cfg->max_message_bytes)
		console_refuse_long(in->console);
	else if (links_full(in->links))
		console_refuse_full(in->console);
	else
		console_line(in->console, (const uint8_t *)line, len);
	links_flush(in->links);
}

static void on_stdin(struct watcher *w, uint32_t events)
{
	struct input *in = w->arg;

	(void)events;
	if (in->tty && !term_foreground()) {
		/* Moved to the background (Ctrl-Z, bg): wait for fg. */
		term_suspend();
		in->background = true;
		loop_watch(in->loop, &in->w, 0);
		return;
	}
	if (term_active())
		term_read();
	else
		read_stdin(in);
	if (in->eof)
		loop_watch(in->loop, &in->w, 0);
}

int input_start(struct input *in, struct loop *loop, struct console *console,
                struct links *links, struct outcome *outcome,
                const struct config *cfg, const struct out *out)
{
	in->loop = loop;
	in->console = console;
	in->links = links;
	in->outcome = outcome;
	in->cfg = cfg;
	in->out = out;
	in->started = true;
	in->w = (struct watcher){.fd = STDIN_FILENO, .fn = on_stdin, .arg = in};
	in->tty = isatty(STDIN_FILENO);
	in->background = in->tty && !term_foreground();
	if (in->background)
		return 0; /* input_tick() looks again */
	if (loop_watch(loop, &in->w, EPOLLIN) < 0) {
		/* A regular file (or /dev/null) is always readable and epoll
		   refuses it: input_tick() reads it instead. */
		if (errno != EPERM)
			return -1;
		in->plain = true;
	}
	term_start(out->term, out->human->tty, on_term_line, in);
	return 0;
}

void input_tick(struct input *in)
{
	if (!in->started || outcome_stopping(in->outcome))
		return;
	if (in->background) {
		if (!term_foreground())
			return;
		/* Brought to the foreground (fg): the terminal is ours. */
		in->background = false;
		term_start(in->out->term, in->out->human->tty, on_term_line,
		           in);
		if (!in->plain && !in->eof)
			loop_watch(in->loop, &in->w, EPOLLIN);
	}
	if (in->plain && want_input(in)) {
		read_stdin(in);
	} else {
		/* Lines read while the window was full go as it empties. */
		process_lines(in);
		links_flush(in->links);
	}
	if (in->eof && !linebuf_pending(&in->lines))
		outcome_stop(in->outcome, STOP_EOF);
	if (!in->plain && !in->eof)
		loop_watch(in->loop, &in->w, want_input(in) ? EPOLLIN : 0);
}

int input_timeout(const struct input *in)
{
	if (in->background)
		return BACKGROUND_POLL_MS;
	return in->plain && want_input(in) ? 0 : -1;
}

void input_stop(struct input *in)
{
	if (!in->started)
		return;
	term_stop();
	if (!in->plain)
		loop_watch(in->loop, &in->w, 0);
	in->started = false;
}

void input_free(struct input *in)
{
	linebuf_free(&in->lines);
}
