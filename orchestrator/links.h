/*
 * links.h - the connections to the nodes: broadcasts out, acks back,
 * BYE, and each broadcast reported in order when it is done (SPEC §4, §6).
 *
 * Up to LINKS_WINDOW broadcasts may be in flight at once. Every MSG frame
 * of one batch of input is queued on each node's socket buffer and the
 * buffers are flushed once per batch (links_flush()), so piped input
 * costs one write per node per batch, not per line. Acks are matched by
 * sequence number (inflight.h), checked for length and checksum, and
 * counted on the node's link part (node.h).
 *
 * With a handler other than ack (SPEC §9), each node gets a SETUP frame
 * as soon as it is connected (and again after a reload that changes the
 * handler), and its REPLY frames are matched like acks and gathered; a
 * broadcast then waits for replies until handler_timeout_ms +
 * stop_timeout_ms (+ LINKS_REPLY_MARGIN_MS) after its last ack.
 */
#ifndef FANOUT_LINKS_H
#define FANOUT_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fleet.h"
#include "inflight.h"
#include "loop.h"
#include "net.h"
#include "out.h"
#include "outcome.h"
#include "template.h"

#define LINKS_WINDOW 4096 /* broadcasts in flight before input pauses */
#define LINKS_REPLY_BYTES                                                      \
	(64u << 20) /* reply output kept in flight before input pauses */
#define LINKS_REPLY_MARGIN_MS                                                  \
	500 /* network and scheduling, past a node's own                       \
	       bound on handling a message */

struct links {
	struct inflight inflight;
	bool unflushed;   /* broadcasts queued on sockets, not yet written */
	bool stopping;    /* teardown: closed connections are expected */
	uint8_t *frame;   /* scratch: one encoded MSG frame head */
	uint8_t *scratch; /* where acks are read */
	/* The handler settings nodes were sent (SETUP), and its command
	   split into words. */
	struct handler_settings {
		enum handler_kind kind;
		unsigned timeout_ms, stop_timeout_ms, max_reply_bytes;
		char command[CONFIG_COMMAND_MAX + 1];
	} handler;
	struct template handler_words;
	bool handler_set; /* links_setup() ran once */
	bool commands;    /* nodes were told to run commands, once or more */
	unsigned origin;  /* the console broadcasts come from now, 0 none */
	struct net_addr host_addr[CONFIG_HOSTS_MAX]; /* by host, resolved */
	bool host_known[CONFIG_HOSTS_MAX];

	/* What it works with, set by links_init(). */
	struct loop *loop;
	struct fleet *fleet;
	const struct config *cfg;
	struct out *out;
	struct outcome *outcome;
};

/* Set l up. Return 0 or -1 (out of memory). */
int links_init(struct links *l, struct loop *loop, struct fleet *fleet,
               const struct config *cfg, struct out *out,
               struct outcome *outcome);

/* Take the handler settings of the configuration in force (at start and
   after a reload): a new SETUP goes to every connected node when they
   changed. Return 0, or -1 with a message in err (handler_command does
   not split into words: settings_read() has checked it). */
int links_setup(struct links *l, char *err, size_t errlen);

/* Release it (connections are closed with their nodes). */
void links_free(struct links *l);

/* Resolve every host of the configuration ([cluster] hosts, or host),
   at start-up, so that no look-up ever runs in the loop: a scale-up may
   later use a host no node used yet. Return 0, or -1 with a message in
   err. */
int links_resolve_hosts(struct links *l, char *err, size_t errlen);

/* Write the address to connect to nd into *a; each host is resolved
   once per run (links_resolve_hosts() did them all). Return 0, or -1
   with a message in err. */
int links_node_addr(struct links *l, const struct node *nd, struct net_addr *a,
                    char *err, size_t errlen);

/* Make fd (connected and welcomed) nd's connection; return 0, or -1
   with errno (fd is closed then). */
int links_attach(struct links *l, struct node *nd, int fd);

/* nd's process was reaped: account what it sent before it died (acks
   still in the socket), then close its connection. */
void links_node_gone(struct links *l, struct node *nd);

/* Close nd's connection, if any: what it owes in flight is lost. */
void links_drop(struct links *l, struct node *nd);

/* Whether no broadcast can be sent now: the window of broadcasts in
   flight is full, or the replies kept for them hold LINKS_REPLY_BYTES. */
static inline bool links_full(const struct links *l)
{
	return inflight_full(&l->inflight) ||
	       l->inflight.gathered >= LINKS_REPLY_BYTES;
}

/* Whether a script's lines should go one at a time, each once the last
   is reported: with exec and shell, as a shell runs a script (so a
   node's handler_timeout_ms, counted from a message's arrival, bounds
   its run and not its wait behind the others). */
static inline bool links_lockstep(const struct links *l)
{
	return l->handler.kind == HANDLER_EXEC ||
	       l->handler.kind == HANDLER_SHELL;
}

/* Whether no broadcast is in flight. */
static inline bool links_idle(const struct links *l)
{
	return inflight_count(&l->inflight) == 0;
}

/* Queue one message for every connected node, or, when only is not
   NULL, for the nodes i with only[i] set (one byte per node of the
   fleet); the window must not be full. Return 0, or -1 when out of
   memory (nothing queued). */
int links_send(struct links *l, const uint8_t *p, size_t len,
               const uint8_t *only);

/* Write out the broadcasts queued since the last flush: one write per
   node for a whole batch of input. */
void links_flush(struct links *l);

/* Report the finished broadcasts, in order. Call after every loop
   round. */
void links_report_done(struct links *l);

/* Report every broadcast still in flight as it stands (at a stop cut
   short), naming a few and counting the rest. */
void links_report_all(struct links *l);

/* Return the loop timeout (ms) to the next broadcast deadline, -1 for
   none. */
int links_timeout(const struct links *l);

/* Queue BYE to nd (connected) and write what can be written. */
void links_bye_node(struct links *l, struct node *nd);

/* Teardown: BYE to every connected node; from now on a closed
   connection is expected and late acks are not said. */
void links_bye_all(struct links *l);

#endif
