/* term.c - see term.h. */
#include "term.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "log.h"

#define HISTORY_MAX 1000
#define PROMPT      "fanout> "

/* One terminal per process, as readline has it. */
static struct {
	term_line_fn fn;
	void *arg;
	bool active;
	bool eof; /* the user ended input */
	bool history_read;
	bool hidden;     /* prompt and line cleared for output */
	bool in_handler; /* a typed line is being handled */
	bool wrote;      /* output came while handling it */
	char *saved;     /* the line being typed, while hidden */
	int saved_point;
	char history[4096];
	char prompt[128];
} term;

void term_set_prompt(const char *prompt)
{
	snprintf(term.prompt, sizeof(term.prompt), "%s", prompt);
}

int term_history_path(char *out, size_t outlen)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (state && *state == '/')
		n = snprintf(out, outlen, "%s/fanout/history", state);
	else if (home && *home)
		n = snprintf(out, outlen, "%s/.local/state/fanout/history",
		             home);
	else
		return -1;
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Create the directories above path (mode 0700), as mkdir -p would. */
static void make_parents(const char *path)
{
	char dir[sizeof(term.history)];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return;
		*p = '/';
	}
}

/* readline's line handler: a whole line typed, or NULL at end of input
   (Ctrl-D on an empty line), which ends input as a pipe's EOF does. */
static void on_line(char *line)
{
	term.in_handler = true;
	if (!line) {
		term.eof = true;
		term.fn(term.arg, NULL, 0);
	} else {
		if (*line)
			add_history(line);
		term.fn(term.arg, line, strlen(line));
		free(line);
	}
	term.in_handler = false;
}

bool term_foreground(void)
{
	pid_t fg = tcgetpgrp(STDIN_FILENO);

	/* No job control there (not our controlling terminal, or hung
	   up): reading is how we learn what is left of it. */
	return fg < 0 || fg == getpgrp();
}

/* readline's terminal preparation, skipped when in the background. */
static void keep_terminal(void)
{
}

bool term_start(FILE *out, bool out_tty, term_line_fn fn, void *arg)
{
	if (!isatty(STDIN_FILENO) || !out_tty || !term_foreground())
		return false;
	term.fn = fn;
	term.arg = arg;
	rl_outstream = out;
	/* Signals stay ours: they arrive through the signalfd. */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	using_history();
	stifle_history(HISTORY_MAX);
	if (!term.history_read &&
	    term_history_path(term.history, sizeof(term.history)) == 0)
		read_history(term.history); /* none yet is fine */
	term.history_read = true;
	/* A pasted block is several lines, so several messages. */
	rl_variable_bind("enable-bracketed-paste", "off");
	rl_callback_handler_install(term.prompt[0] ? term.prompt : PROMPT,
	                            on_line);
	term.active = true;
	return true;
}

void term_suspend(void)
{
	if (!term.active)
		return;
	free(term.saved);
	term.saved = NULL;
	term.hidden = false;
	/* The shell that stopped us set the terminal for itself: leave it
	   (setting it from the background would stop us by SIGTTOU). */
	rl_deprep_term_function = keep_terminal;
	rl_callback_handler_remove();
	rl_deprep_term_function = rl_deprep_terminal;
	term.active = false;
}

void term_stop(void)
{
	if (!term.active)
		return;
	term_hide();
	free(term.saved);
	term.saved = NULL;
	if (!term_foreground()) /* moved to the background (Ctrl-Z, bg) */
		rl_deprep_term_function = keep_terminal;
	rl_callback_handler_remove();
	term.active = false;
	if (term.history[0]) {
		make_parents(term.history);
		if (write_history(term.history) != 0)
			log_msg("history not saved in %s", term.history);
	}
}

bool term_active(void)
{
	return term.active;
}

void term_read(void)
{
	/* Keys edit the line readline holds: put it back first if output
	   of this round took it away. */
	term_show();
	rl_callback_read_char();
	/* Output of the line just handled was buffered while readline drew
	   its next prompt: clear that, then let the output out. */
	if (term.wrote) {
		term.wrote = false;
		term_hide();
		fflush(stdout);
		fflush(rl_outstream);
	}
}

void term_hide(void)
{
	if (!term.active || term.hidden)
		return;
	if (term.in_handler) {
		term.wrote = true; /* no prompt is drawn yet */
		return;
	}
	term.saved_point = rl_point;
	term.saved = rl_copy_text(0, rl_end);
	rl_save_prompt();
	rl_replace_line("", 0);
	rl_redisplay();
	fflush(rl_outstream);
	term.hidden = true;
}

void term_show(void)
{
	if (!term.active || !term.hidden)
		return;
	fflush(stdout);
	fflush(rl_outstream);
	rl_restore_prompt();
	rl_replace_line(term.saved ? term.saved : "", 0);
	rl_point = term.saved_point;
	free(term.saved);
	term.saved = NULL;
	term.hidden = false;
	if (!term.eof)
		rl_redisplay();
	fflush(rl_outstream);
}
