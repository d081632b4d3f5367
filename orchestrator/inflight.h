/*
 * inflight.h - broadcasts awaiting their acks, matched by sequence number.
 *
 * Broadcasts are numbered from 1 and kept in a ring in order. Each has one
 * slot per node saying what is owed and what came back. A broadcast is
 * done when no slot is pending or its deadline has passed; they are
 * reported (popped) in order, so output follows input. An ack for a
 * broadcast already reported is "late": counted, never credited to another
 * message. Pure bookkeeping: no I/O, no clock (callers pass the time).
 */
#ifndef FANOUT_INFLIGHT_H
#define FANOUT_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

enum slot {
	SLOT_NONE,    /* not sent to this node */
	SLOT_PENDING, /* sent, no ack yet */
	SLOT_ACKED,   /* acked with the right length and checksum */
	SLOT_CORRUPT, /* acked with a wrong length or checksum */
	SLOT_LOST,    /* the node died or its connection dropped */
};

enum ack_result {
	ACK_OK,        /* counted as delivered */
	ACK_CORRUPT,   /* length or checksum differ from what was sent */
	ACK_LATE,      /* its broadcast was already reported or given up */
	ACK_UNKNOWN,   /* nothing with this seq was ever sent to this node */
	ACK_DUPLICATE, /* this node already acked this seq */
};

struct bcast {
	uint64_t seq;
	uint32_t bytes, crc;
	uint64_t sent_ns, deadline_ns, last_ack_ns;
	unsigned expected, acked, pending;
	int slowest; /* node whose ack came last, -1 if none */
	unsigned nslots, slot_cap;
	uint8_t *slot; /* enum slot per node */
};

struct inflight {
	struct bcast *ring;
	unsigned cap;      /* a power of two */
	uint64_t head_seq; /* oldest broadcast not yet popped */
	uint64_t next_seq; /* the seq the next broadcast gets */
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
   nslots is SLOT_NONE until inflight_expect(). Return it, or NULL when out
   of memory. */
struct bcast *inflight_begin(struct inflight *f, uint32_t bytes, uint32_t crc,
                             uint64_t now_ns, uint64_t timeout_ns,
                             unsigned nslots);

/* Record that b was sent to node. */
void inflight_expect(struct bcast *b, unsigned node);

/* Record that b should have gone to node but could not (the node is down
   or too far behind): it counts as expected and missing. */
void inflight_miss(struct bcast *b, unsigned node);

/* Match an ack from node. On ACK_OK *rtt_ns gets its round trip. */
enum ack_result inflight_ack(struct inflight *f, uint64_t seq, unsigned node,
                             uint32_t len, uint32_t crc, uint64_t now_ns,
                             uint64_t *rtt_ns);

/* Node is gone: what it still owes is lost, now. */
void inflight_node_lost(struct inflight *f, unsigned node);

/* Return the oldest broadcast if it is done at now_ns, else NULL. */
struct bcast *inflight_done(struct inflight *f, uint64_t now_ns);

/* Drop the oldest broadcast, after reporting it. */
void inflight_pop(struct inflight *f);

/* Return the deadline of the oldest broadcast, UINT64_MAX if none. */
uint64_t inflight_next_deadline(const struct inflight *f);

#endif
