/*
 * daemon.h - a fleet that outlives its terminal (SPEC §11, seed 002).
 *
 * orchestrator --detach forks before anything of the fleet exists, so
 * that the nodes are the daemon's children. The daemon starts a session
 * of its own (no terminal to lose) and starts the fleet with the
 * terminal's streams still its own, so that start-up's progress and
 * errors reach the person who started it; the first process waits for
 * the outcome on a pipe and exits with start-up's status: 0 once the
 * fleet is ready (the daemon then moves its streams to its log), or the
 * daemon's own exit status if start-up failed. A SIGINT or SIGTERM the
 * waiting process gets is passed on, so Ctrl-C during start-up still
 * stops it.
 */
#ifndef FANOUT_DAEMON_H
#define FANOUT_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

struct daemon {
	int ready_fd; /* the daemon's end of the pipe; -1: not detaching */
};

/* Fork. In the first process: wait for the daemon's start-up and exit
   with its status, saying "fleet 'NAME' detached (pid P)" on success
   (never returns). In the daemon: start a new session and return 0.
   Return -1 with errno when the fork or the pipe fails (nothing
   forked). */
int daemon_detach(struct daemon *d, const char *name);

/* The fleet is ready: tell the waiting process, put standard input on
   /dev/null and standard output and error on log_fd (the fleet's log,
   opened O_APPEND). Return 0, or -1 with errno. */
int daemon_ready(struct daemon *d, int log_fd);

#endif
