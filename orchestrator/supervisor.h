/*
 * supervisor.h - keeping a running fleet at its size: restarts, reloads,
 * scaling (SPEC §3, §5).
 *
 * While the console runs, nodes come and go: one that fails is started
 * again when [node] restart = on-failure, as backoff.h decides; a reload
 * reads the file again, applies what settings_merge() allows, and adds
 * nodes or stops surplus ones. Everything here is driven from the event
 * loop and never blocks it: new nodes are connected by a pool
 * (connector.h) whose completion wakes the loop through an eventfd.
 */
#ifndef FANOUT_SUPERVISOR_H
#define FANOUT_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include "fleet.h"
#include "links.h"
#include "loop.h"
#include "out.h"
#include "outcome.h"
#include "proto.h"
#include "settings.h"

struct batch;

struct supervisor {
	struct batch *batches; /* connect pools at work */
	bool timers_armed;     /* some node has restart_ns or stop_ns set */
	bool reload_deferred;  /* a reload came while the size changed */
	bool deferred_edit;    /* ... from an edit of the file */
	uint64_t hosts_ns;     /* when a launcher's answer is due, 0: none */
	bool reload_failed;    /* the last reload read an unusable file */
	struct {
		bool active;
		unsigned from, to;
		uint64_t t0_ns;
	} scale; /* a reload's change of size, until it is done */

	/* What it works with, set by supervisor_init(). */
	struct loop *loop;
	struct fleet *fleet;
	struct links *links;
	struct out *out;
	struct outcome *outcome;
	struct settings *settings;
	const uint8_t *token; /* PROTO_TOKEN_LEN bytes */
};

void supervisor_init(struct supervisor *s, struct loop *loop,
                     struct fleet *fleet, struct links *links, struct out *out,
                     struct outcome *outcome, struct settings *settings,
                     const uint8_t token[PROTO_TOKEN_LEN]);

/* A node exited while the console runs: report it, and schedule its
   restart or finish its retirement. */
void supervisor_node_exit(struct supervisor *s, struct node *nd);

/* Run what is due: restarts, SIGKILL for stopping nodes past their
   grace, connecting nodes that became ready, reporting a finished scale.
   Call after every loop round. */
void supervisor_tick(struct supervisor *s);

/* Return the loop timeout (ms) until the next thing due, -1 for none. */
int supervisor_timeout(const struct supervisor *s);

/* Read the configuration file again and apply it: what may change now
   changes, the fleet is resized to its num_clients; on any error the
   running configuration is kept, the error said, and reload_failed set
   (cleared by the next reload that reads a usable file). While a change of
   size is under way, the reload is done once it is over. edited says
   it comes from a watched edit of the file (watch.h): it is said as
   "FILE changed: 3 -> 5 nodes". */
void supervisor_reload(struct supervisor *s, bool edited);

/* Cancel connect pools still at work and release them (teardown). */
void supervisor_stop(struct supervisor *s);

#endif
