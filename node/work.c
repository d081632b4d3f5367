/* work.c - see work.h. */
#include "work.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"

/* Each item is stored as its struct work_item (data unused), then its
   data and a NUL. */
#define REC sizeof(struct work_item)

int work_push(struct work_queue *q, const struct work_item *it)
{
	size_t need = REC + it->len + 1;
	uint8_t *p;

	if (buf_reserve(&q->items, need) < 0)
		return -1;
	p = buf_tail(&q->items);
	memcpy(p, it, REC);
	if (it->len > 0)
		memcpy(p + REC, it->data, it->len);
	p[REC + it->len] = '\0';
	buf_commit(&q->items, need);
	return 0;
}

bool work_peek(const struct work_queue *q, struct work_item *it)
{
	if (buf_used(&q->items) == 0)
		return false;
	memcpy(it, buf_head(&q->items), REC);
	it->data = buf_head(&q->items) + REC;
	return true;
}

void work_pop(struct work_queue *q)
{
	struct work_item it;

	if (work_peek(q, &it))
		buf_consume(&q->items, REC + it.len + 1);
}

void work_free(struct work_queue *q)
{
	buf_free(&q->items);
}

int work_reply(struct work_ctx *w, struct proto_reply *r)
{
	struct frame f = {.type = FRAME_REPLY};
	size_t n;

	r->index = w->index;
	if (r->len > PROTO_MAX_PAYLOAD) { /* no frame can carry more */
		r->dropped += r->len - PROTO_MAX_PAYLOAD;
		r->len = PROTO_MAX_PAYLOAD;
	}
	f.u.reply = *r;
	n = proto_frame_size(&f);
	if (n > 0 && buf_reserve(w->out, n) < 0) {
		f.u.reply.dropped += f.u.reply.len;
		f.u.reply.len = 0;
		n = proto_frame_size(&f);
		if (buf_reserve(w->out, n) < 0)
			return -1;
	}
	buf_commit(w->out, proto_encode(buf_tail(w->out), n, &f));
	return 0;
}

/* Answer message seq EXITED code with text (cut to max_reply_bytes). */
static int reply_text(struct work_ctx *w, uint64_t seq, uint16_t code,
                      const char *text)
{
	struct proto_reply r = {.seq = seq, .how = REPLY_EXITED, .code = code};

	r.output = (const uint8_t *)text;
	r.len = (uint32_t)strlen(text);
	if (r.len > w->set.max_reply_bytes) {
		r.dropped = r.len - w->set.max_reply_bytes;
		r.len = w->set.max_reply_bytes;
	}
	return work_reply(w, &r);
}

int work_refuse(struct work_ctx *w, uint64_t seq, const char *why)
{
	char text[256];

	snprintf(text, sizeof(text), "fanout: %s\n", why);
	return reply_text(w, seq, 2, text);
}

int work_cannot_run(struct work_ctx *w, uint64_t seq, const char *what)
{
	char text[512];

	snprintf(text, sizeof(text), "cannot run '%s': %s\n", what,
	         strerror(errno));
	return reply_text(w, seq, 127, text);
}

void work_ended(int status, struct proto_reply *r)
{
	if (WIFSIGNALED(status)) {
		r->how = REPLY_SIGNALED;
		r->code = (uint16_t)WTERMSIG(status);
	} else {
		r->how = REPLY_EXITED;
		r->code = (uint16_t)WEXITSTATUS(status);
	}
}

uint64_t work_time_out(struct work_ctx *w, pid_t pid, uint64_t deadline_ns,
                       bool *timed_out)
{
	if (*timed_out)
		return UINT64_MAX;
	if (clock_ns() < deadline_ns)
		return deadline_ns;
	*timed_out = true;
	groups_stop(&w->groups, pid, w->set.stop_timeout_ms);
	return UINT64_MAX;
}

int work_flush(int fd, struct buf *b)
{
	while (buf_used(b) > 0) {
		ssize_t w = io_write(fd, buf_head(b), buf_used(b));
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		buf_consume(b, (size_t)w);
	}
	return 0;
}

void work_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
