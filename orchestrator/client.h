/*
 * client.h - the subcommands of SPEC §11: `orchestrator attach`, `send`,
 * `status`, `stop` and `list`, clients of a detached fleet's control
 * socket (fleetdir.h) speaking the console protocol (ctl.h).
 *
 * A client is a process of one purpose: it blocks, but never on one
 * direction alone. It polls the socket both ways and its input at once,
 * so a daemon answering many lines while it still sends more never
 * deadlocks with it, and it stops reading its input while too much
 * waits to be sent. What the daemon sends (OUT) goes to standard output
 * (stream 1) or standard error (stream 2), written whole.
 *
 * attach at a terminal edits lines with GNU readline (term.h), the
 * prompt "fanout[NAME]> ", reports drawn above the line being typed;
 * Ctrl-C or Ctrl-D leave the fleet running (exit 0). Piped, attach sends
 * its input's lines as send does, then END, and exits with the DONE the
 * daemon answers at once.
 */
#ifndef FANOUT_CLIENT_H
#define FANOUT_CLIENT_H

#include "cli.h"

/* Run c->command (not CLI_RUN) on fleet c->name, saying what fails on
   standard error. Return the exit status: DONE's (SPEC §4's status of
   the lines sent, or the fleet's at stop); 69 when the fleet does not
   run (no socket, or a stale one nobody listens on), refuses us, speaks
   another protocol version or does not answer; 1 when the connection
   ends before DONE, a line could not be sent, or our standard output
   went away; 0 for list, and when attach is left with Ctrl-C or
   Ctrl-D. */
int client_run(struct cli *c);

#endif
