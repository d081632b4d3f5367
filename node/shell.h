/*
 * shell.h - the shell handler (SPEC §9): one long-lived /bin/sh per node,
 * so cd, variables and functions persist from one message to the next.
 *
 * The shell runs SCRIPT (shell.c) with stdin /dev/null, stdout and stderr
 * the output pipe, descriptor 3 a pipe of command lines from the node
 * and descriptor 4 a pipe of exit statuses to it. Each command runs with
 * 3 and 4 closed and stdin /dev/null, so neither what it prints nor what
 * it reads can pass for the protocol: a command is over when its status
 * line arrives on 4, and its output is then what the output pipe holds.
 * A command that ends the shell (exit 3) is answered with how the shell
 * ended, flagged restarted; the next message gets a new shell.
 */
#ifndef FANOUT_NODE_SHELL_H
#define FANOUT_NODE_SHELL_H

#include <poll.h>
#include <stdbool.h>

#include "buf.h"
#include "capture.h"
#include "work.h"

#define SHELL_POLL_MAX 3

struct shell {
	pid_t pid;                     /* the shell and its group; 0: none */
	int cmd_fd, out_fd, status_fd; /* our ends; -1 when closed */
	struct buf cmds;               /* command lines not yet written */
	struct buf status;             /* a status line so far */
	struct capture cap;
	bool busy;      /* a command runs */
	bool timed_out; /* its group got SIGTERM at the deadline */
	bool died;      /* ended between commands: the next reply says so */
	uint64_t seq, deadline_ns;
};

/* Set s up with no shell. */
void shell_init(struct shell *s);

/* Return whether s can take a message. */
static inline bool shell_idle(const struct shell *s)
{
	return !s->busy;
}

/* Run message m (s idle), starting the shell first if needed. A message
   that cannot be one line (a newline or NUL in it) is answered EXITED 2
   without being sent; 127 when /bin/sh cannot be started. */
void shell_begin(struct shell *s, struct work_ctx *w,
                 const struct work_item *m);

/* Fill p with what to poll (at most SHELL_POLL_MAX); return how many. */
int shell_poll_set(const struct shell *s, struct pollfd *p);

/* Act on the n poll results in p (as shell_poll_set() filled it). */
void shell_events(struct shell *s, struct work_ctx *w, const struct pollfd *p,
                  int n);

/* A child was reaped: if it is the shell, answer the command it ended
   and return true. */
bool shell_reaped(struct shell *s, struct work_ctx *w, pid_t pid, int status);

/* Stop the shell of a command past its deadline. Return the next
   deadline (ns), or UINT64_MAX. */
uint64_t shell_tick(struct shell *s, struct work_ctx *w);

/* Let the shell go (the handler changes, the node stops): close its
   pipes and SIGTERM its group (grace_ms). A command running is not
   answered. */
void shell_close(struct shell *s, struct work_ctx *w, uint32_t grace_ms);

/* Release the memory (after shell_close). */
void shell_free(struct shell *s);

#endif
