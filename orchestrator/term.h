/*
 * term.h - the console on a terminal: a prompt, line editing and
 * history (GNU readline's callback interface, driven by the event loop
 * one character at a time), and output that never breaks the line being
 * typed: printing hides the prompt and the line, the loop shows them
 * again before it waits.
 */
#ifndef FANOUT_TERM_H
#define FANOUT_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Called with each line typed (without its newline), or with line NULL
   at end of input (Ctrl-D on an empty line). */
typedef void (*term_line_fn)(void *arg, const char *line, size_t len);

/* Take over standard input if it and out (out_tty says) are a
   terminal: prompt, editing and echo written to out, history from
   term_history_path(); each typed line goes to fn(arg, ...). Return
   whether it did. */
bool term_start(FILE *out, bool out_tty, term_line_fn fn, void *arg);

/* Use prompt (truncated to 127 bytes) instead of "fanout> " from the
   next term_start() on. */
void term_set_prompt(const char *prompt);

/* Whether we are the foreground job of the terminal on standard input:
   only then may we read it or set its modes (a background job that
   tries is stopped, by SIGTTIN or SIGTTOU, and would stay stopped with
   a SIGTERM pending). */
bool term_foreground(void);

/* We are in the background now (Ctrl-Z, bg): stop editing without
   touching the terminal; term_start() takes it again in the
   foreground, with the history kept. */
void term_suspend(void);

/* Give the terminal back and save the history. */
void term_stop(void);

/* Whether term_start() took the terminal. */
bool term_active(void);

/* Feed the editor what the terminal sent (standard input is readable). */
void term_read(void);

/* Clear the prompt and the line being typed before printing. */
void term_hide(void);

/* Draw them again (before the loop waits). */
void term_show(void);

/* Write the history file's path into out: $XDG_STATE_HOME/fanout/history,
   else ~/.local/state/fanout/history. Return 0, or -1 if neither is set. */
int term_history_path(char *out, size_t outlen);

#endif
