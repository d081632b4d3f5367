/*
 * inflight.h - broadcasts awaiting their acks, matched by sequence number.
 *
 * Broadcasts are numbered from 1 and kept in a ring in order. Each has one
 * slot per node saying what is owed and what came back. A broadcast is
 * done when no slot is pending or its deadline has passed; they are
 * reported (popped) in order, so output follows input. An ack for a
 * broadcast already reported is "late": counted, never credited to another
 * message. Pure bookkeeping: no I/O, no clock (callers pass the time).
 *
 * With a handler other than ack (SPEC §9, §10) a broadcast also waits for
 * a reply from every node that acked, until reply_window_ns after the
 * last ack (handler_timeout_ms + stop_timeout_ms and a margin for the
 * network); replies are gathered (gather.h) and matched like acks: a late
 * reply is late, never credited to another message.
 */
#ifndef FANOUT_INFLIGHT_H
#define FANOUT_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "gather.h"

enum slot {
	SLOT_NONE,     /* not sent to this node */
	SLOT_PENDING,  /* sent, no ack yet */
	SLOT_ACKED,    /* acked with the right length and checksum (and, when
	                  replies are wanted, its reply not in yet) */
	SLOT_CORRUPT,  /* acked with a wrong length or checksum */
	SLOT_LOST,     /* the node died or its connection dropped */
	SLOT_REPLIED,  /* acked, then replied */
	SLOT_NO_REPLY, /* acked, then lost before it replied */
};

enum ack_result {
	ACK_OK,        /* counted as delivered */
	ACK_CORRUPT,   /* length or checksum differ from what was sent */
	ACK_LATE,      /* its broadcast was already reported or given up */
	ACK_UNKNOWN,   /* nothing with this seq was ever sent to this node */
	ACK_DUPLICATE, /* this node already acked this seq */
};

enum reply_result {
	REPLY_OK,        /* gathered */
	REPLY_LATE,      /* its broadcast was already reported, or the node
	                    was given up (SLOT_LOST, SLOT_NO_REPLY) */
	REPLY_UNKNOWN,   /* no ack for this seq came from this node first,
	                    or its broadcast wanted no reply */
	REPLY_DUPLICATE, /* this node already replied to this seq */
	REPLY_IGNORED,   /* to a message it acked as corrupt: not gathered */
	REPLY_NOMEM,     /* out of memory: counted as no reply */
};

struct bcast {
	uint64_t seq;
	uint32_t bytes, crc;
	uint64_t sent_ns, deadline_ns, last_ack_ns;
	unsigned expected, acked, pending;
	int slowest;     /* node whose ack (or reply, when wanted) came last, -1
	                    if none */
	unsigned origin; /* the console that sent it (a detached fleet's),
	                    0 if none */
	unsigned nslots, slot_cap;
	uint8_t *slot; /* enum slot per node */
	/* Replies (reply_window_ns 0: the ack is the answer). */
	uint64_t reply_window_ns, last_reply_ns;
	unsigned replied, awaiting; /* SLOT_REPLIED; SLOT_ACKED still owed */
	struct gather replies;
};

struct inflight {
	struct bcast *ring;
	unsigned cap;      /* a power of two */
	uint64_t head_seq; /* oldest broadcast not yet popped */
	uint64_t next_seq; /* the seq the next broadcast gets */
	size_t gathered;   /* bytes of reply output kept in flight */
};

/* Prepare for up to cap (rounded up to a power of two) broadcasts in
   flight at once. Return 0 or -1 (out of memory). */
int inflight_init(struct inflight *f, unsigned cap);

void inflight_free(struct inflight *f);

/* Return how many broadcasts are in flight. */
static inline unsigned inflight_count(const struct inflight *f)
{
	return (unsigned)(f->next_seq - f->head_seq);
}

static inline bool inflight_full(const struct inflight *f)
{
	return inflight_count(f) == f->cap;
}

/* Start the next broadcast (the ring must not be full): every slot of
   nslots is SLOT_NONE until inflight_expect(). timeout_ns bounds the
   acks; reply_window_ns, when not 0, makes the broadcast wait for
   replies until that long after its last ack. Return it, or NULL when
   out of memory. */
struct bcast *inflight_begin(struct inflight *f, uint32_t bytes, uint32_t crc,
                             uint64_t now_ns, uint64_t timeout_ns,
                             uint64_t reply_window_ns, unsigned nslots);

/* Record that b was sent to node. */
void inflight_expect(struct bcast *b, unsigned node);

/* Record that b should have gone to node but could not (the node is down
   or too far behind): it counts as expected and missing. */
void inflight_miss(struct bcast *b, unsigned node);

/* Match an ack from node. On ACK_OK *rtt_ns gets its round trip. An
   ack that comes past its broadcast's deadline (while the broadcast
   still waits for replies) is late: the node is counted missing. */
enum ack_result inflight_ack(struct inflight *f, uint64_t seq, unsigned node,
                             uint32_t len, uint32_t crc, uint64_t now_ns,
                             uint64_t *rtt_ns);

/* Match node's reply r (r->seq names its broadcast) and gather it. */
enum reply_result inflight_reply(struct inflight *f, unsigned node,
                                 const struct proto_reply *r, uint64_t now_ns);

/* Node is gone: what it still owes (acks, replies) is lost, now. */
void inflight_node_lost(struct inflight *f, unsigned node);

/* Return the oldest broadcast if it is done at now_ns, else NULL: no ack
   pending (or past its deadline) and, when replies are wanted, no reply
   awaited (or past last_ack_ns + reply_window_ns). */
struct bcast *inflight_done(struct inflight *f, uint64_t now_ns);

/* Whether b went as it should: every ack in and, when replies were
   wanted, every reply in and clean (gather_all_clean()). */
bool inflight_clean(const struct bcast *b);

/* Drop the oldest broadcast, after reporting it. */
void inflight_pop(struct inflight *f);

/* Return when the oldest broadcast will be done if nothing more comes,
   UINT64_MAX if none is in flight. */
uint64_t inflight_next_deadline(const struct inflight *f);

#endif
