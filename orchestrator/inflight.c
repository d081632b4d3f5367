/* inflight.c - see inflight.h. */
#include "inflight.h"

#include <stdlib.h>
#include <string.h>

int inflight_init(struct inflight *f, unsigned cap)
{
	unsigned c = 1;

	while (c < cap)
		c *= 2;
	memset(f, 0, sizeof(*f));
	f->ring = calloc(c, sizeof(*f->ring));
	if (!f->ring)
		return -1;
	f->cap = c;
	f->head_seq = f->next_seq = 1;
	return 0;
}

void inflight_free(struct inflight *f)
{
	for (unsigned i = 0; f->ring && i < f->cap; i++) {
		free(f->ring[i].slot);
		gather_free(&f->ring[i].replies);
	}
	free(f->ring);
	f->ring = NULL;
}

/* Return the in-flight broadcast numbered seq, or NULL. */
static struct bcast *find(struct inflight *f, uint64_t seq)
{
	if (seq < f->head_seq || seq >= f->next_seq)
		return NULL;
	return &f->ring[seq & (f->cap - 1)];
}

struct bcast *inflight_begin(struct inflight *f, uint32_t bytes, uint32_t crc,
                             uint64_t now_ns, uint64_t timeout_ns,
                             uint64_t reply_window_ns, unsigned nslots)
{
	struct bcast *b = &f->ring[f->next_seq & (f->cap - 1)];

	if (nslots > b->slot_cap) {
		uint8_t *s = realloc(b->slot, nslots);
		if (!s)
			return NULL;
		b->slot = s;
		b->slot_cap = nslots;
	}
	memset(b->slot, SLOT_NONE, nslots);
	b->nslots = nslots;
	b->seq = f->next_seq++;
	b->bytes = bytes;
	b->crc = crc;
	b->sent_ns = b->last_ack_ns = b->last_reply_ns = now_ns;
	b->deadline_ns = now_ns + timeout_ns;
	b->reply_window_ns = reply_window_ns;
	b->origin = 0;
	b->expected = b->acked = b->pending = 0;
	b->replied = b->awaiting = 0;
	b->slowest = -1;
	gather_clear(&b->replies);
	return b;
}

void inflight_expect(struct bcast *b, unsigned node)
{
	if (node >= b->nslots || b->slot[node] != SLOT_NONE)
		return;
	b->slot[node] = SLOT_PENDING;
	b->expected++;
	b->pending++;
}

void inflight_miss(struct bcast *b, unsigned node)
{
	if (node >= b->nslots || b->slot[node] != SLOT_NONE)
		return;
	b->slot[node] = SLOT_LOST;
	b->expected++;
}

enum ack_result inflight_ack(struct inflight *f, uint64_t seq, unsigned node,
                             uint32_t len, uint32_t crc, uint64_t now_ns,
                             uint64_t *rtt_ns)
{
	struct bcast *b = find(f, seq);

	if (!b)
		return seq < f->head_seq && seq > 0 ? ACK_LATE : ACK_UNKNOWN;
	if (node >= b->nslots || b->slot[node] == SLOT_NONE)
		return ACK_UNKNOWN;
	if (b->slot[node] == SLOT_LOST)
		return ACK_LATE;
	if (b->slot[node] != SLOT_PENDING)
		return ACK_DUPLICATE;
	b->pending--;
	if (now_ns > b->deadline_ns) {
		/* Past its deadline: the broadcast waits only for replies
		   now, and no late ack may stretch that wait. */
		b->slot[node] = SLOT_LOST;
		return ACK_LATE;
	}
	if (len != b->bytes || crc != b->crc) {
		b->slot[node] = SLOT_CORRUPT;
		return ACK_CORRUPT;
	}
	b->slot[node] = SLOT_ACKED;
	b->acked++;
	if (b->reply_window_ns)
		b->awaiting++;
	b->last_ack_ns = now_ns;
	b->slowest = (int)node;
	*rtt_ns = now_ns - b->sent_ns;
	return ACK_OK;
}

enum reply_result inflight_reply(struct inflight *f, unsigned node,
                                 const struct proto_reply *r, uint64_t now_ns)
{
	struct bcast *b = find(f, r->seq);
	int rc;

	if (!b)
		return r->seq < f->head_seq && r->seq > 0 ? REPLY_LATE
		                                          : REPLY_UNKNOWN;
	if (node >= b->nslots || !b->reply_window_ns)
		return REPLY_UNKNOWN;
	switch (b->slot[node]) {
	case SLOT_ACKED: break;
	case SLOT_REPLIED: return REPLY_DUPLICATE;
	case SLOT_CORRUPT: return REPLY_IGNORED;
	case SLOT_LOST:
	case SLOT_NO_REPLY: return REPLY_LATE;
	default: return REPLY_UNKNOWN; /* not sent, or not acked yet */
	}
	b->awaiting--;
	f->gathered -= b->replies.bytes;
	rc = gather_add(&b->replies, node, r);
	f->gathered += b->replies.bytes;
	if (rc < 0) {
		b->slot[node] = SLOT_NO_REPLY;
		return REPLY_NOMEM;
	}
	b->slot[node] = SLOT_REPLIED;
	b->replied++;
	b->last_reply_ns = now_ns;
	b->slowest = (int)node;
	return REPLY_OK;
}

void inflight_node_lost(struct inflight *f, unsigned node)
{
	for (uint64_t seq = f->head_seq; seq < f->next_seq; seq++) {
		struct bcast *b = find(f, seq);

		if (node >= b->nslots)
			continue;
		if (b->slot[node] == SLOT_PENDING) {
			b->slot[node] = SLOT_LOST;
			b->pending--;
		} else if (b->slot[node] == SLOT_ACKED && b->reply_window_ns) {
			b->slot[node] = SLOT_NO_REPLY;
			b->awaiting--;
		}
	}
}

/* When b stops waiting for the replies it awaits: reply_window_ns after
   its last ack, the time a node needs to run a command, stop it if it
   runs over and say so. */
static uint64_t reply_deadline(const struct bcast *b)
{
	return b->last_ack_ns + b->reply_window_ns;
}

struct bcast *inflight_done(struct inflight *f, uint64_t now_ns)
{
	struct bcast *b = find(f, f->head_seq);

	if (b && (b->pending == 0 || now_ns >= b->deadline_ns) &&
	    (b->awaiting == 0 || now_ns >= reply_deadline(b)))
		return b;
	return NULL;
}

bool inflight_clean(const struct bcast *b)
{
	if (b->expected == 0 || b->acked != b->expected)
		return false;
	return b->reply_window_ns == 0 ||
	       (b->replied == b->acked && gather_all_clean(&b->replies));
}

void inflight_pop(struct inflight *f)
{
	if (f->head_seq == f->next_seq)
		return;
	/* Its output is given back now, not when its slot is reused. */
	f->gathered -= f->ring[f->head_seq & (f->cap - 1)].replies.bytes;
	gather_clear(&f->ring[f->head_seq & (f->cap - 1)].replies);
	f->head_seq++;
}

uint64_t inflight_next_deadline(const struct inflight *f)
{
	const struct bcast *b;

	if (f->head_seq == f->next_seq)
		return UINT64_MAX;
	b = &f->ring[f->head_seq & (f->cap - 1)];
	if (b->awaiting == 0)
		return b->deadline_ns;
	if (b->pending == 0 || reply_deadline(b) > b->deadline_ns)
		return reply_deadline(b);
	return b->deadline_ns;
}
