/*
 * consoles.h - the control socket of a fleet and the consoles on it
 * (SPEC §11, seed 003): `orchestrator attach`, `send`, `status` and
 * `stop` speak the console protocol (ctl.h) to it.
 *
 * The socket is bound before the fleet starts, so that a second fleet of
 * the name in use is refused at once; a socket left by a fleet that died
 * (nobody accepts on it) is replaced. A peer that is not our user or
 * root (SO_PEERCRED) is refused, and that is logged. Each console gets
 * the reports of its own broadcasts and the fleet's events (out.h's tap
 * addresses them); what waits for a console is bounded, and a console
 * that stalls past the bound is dropped, said, and delays no one: not
 * the fleet, not the other consoles. Lines are taken from a console
 * only while the window of broadcasts has room, so a console cannot
 * make the fleet buffer without bound either.
 */
#ifndef FANOUT_CONSOLES_H
#define FANOUT_CONSOLES_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "console.h"
#include "ctl.h"
#include "fleet.h"
#include "links.h"
#include "loop.h"
#include "out.h"
#include "outcome.h"

#define CONSOLES_OUT_MAX (4u << 20) /* bytes waiting for one console */

struct ctl_client {
	unsigned id; /* 1..: out.h's "to" */
	int fd;
	struct watcher w;
	struct buf in, out; /* a partial frame; frames to write */
	enum ctl_mode mode; /* 0 until HELLO */
	uint8_t flags;      /* CTL_F_* */
	char name[CTL_MAX_NAME + 1];
	uint64_t since_ns;
	unsigned pending;  /* its broadcasts not yet reported */
	bool failed;       /* one of them (or a line of it) did not go well */
	bool ended;        /* END came: no more lines */
	bool closing;      /* DONE queued: closed once written */
	bool stalled;      /* it read too little: dropped at the next tick */
	size_t last_words; /* room past the bound for why it is dropped */
	struct ctl_client *next;
};

struct consoles {
	int listen_fd; /* -1 when not listening */
	int lock_fd;   /* holds the name's lock (flock), -1 when not */
	struct watcher w;
	char path[108]; /* the socket's, to unlink at the end */
	char name[CTL_MAX_NAME + 1];
	struct ctl_client *clients;
	unsigned next_id;
	bool serving; /* consoles_serve() ran: lines are taken */

	/* What it works with, set by consoles_serve(). */
	struct loop *loop;
	struct console *console;
	struct links *links;
	struct fleet *fleet;
	struct out *out;
	struct outcome *outcome;
};

/* Bind the control socket of fleet name (fleetdir.h), before anything
   of the fleet exists. Return 0; or -1 with a message in err (a fleet
   of that name runs: say so, exit 69; the directory unusable). */
int consoles_listen(struct consoles *cs, const char *name, char *err,
                    size_t errlen);

/* Accept consoles and serve them through loop from now on (the fleet is
   ready), their lines handed to console, what is said for them taken
   from out. */
void consoles_serve(struct consoles *cs, struct loop *loop,
                    struct console *console, struct links *links,
                    struct fleet *fleet, struct out *out,
                    struct outcome *outcome);

/* Take the lines consoles sent that waited for room in the window; call
   once a loop round. */
void consoles_tick(struct consoles *cs);

/* The fleet stopped with status: DONE to every console, what waits for
   them written (within about a second), the socket closed and
   removed. */
void consoles_finish(struct consoles *cs, int status);

#endif
