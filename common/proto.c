/* proto.c - see proto.h for the frame layout. */
#include "proto.h"

#include <stdbool.h>
#include <string.h>
#include <zlib.h>

#include "be.h"

/* Fixed body length of each frame type; MSG's is its minimum. */
static size_t body_fixed_len(enum frame_type type)
{
	switch (type) {
	case FRAME_HELLO: return PROTO_TOKEN_LEN;
	case FRAME_WELCOME: return 8;
	case FRAME_MSG: return 8;
	case FRAME_ACK: return 20;
	case FRAME_BYE: return 0;
	case FRAME_SETUP: return PROTO_SETUP_FIXED;
	case FRAME_REPLY: return PROTO_REPLY_FIXED;
	}
	return SIZE_MAX;
}

/* Whether a frame of type carries bytes of its own after the fixed part. */
static bool has_tail(enum frame_type type)
{
	return type == FRAME_MSG || type == FRAME_SETUP || type == FRAME_REPLY;
}

static void put_header(uint8_t *p, enum frame_type type, size_t body)
{
	be_put32(p, (uint32_t)body);
	p[4] = PROTO_VERSION;
	p[5] = (uint8_t)type;
	be_put16(p + 6, 0);
}

/* Whether len bytes at p are NUL-terminated words: empty, or ending in
   NUL. */
static bool words_valid(const uint8_t *p, size_t len)
{
	return len == 0 || p[len - 1] == '\0';
}

size_t proto_frame_size(const struct frame *f)
{
	size_t body = body_fixed_len(f->type), tail = 0;

	if (body == SIZE_MAX)
		return 0;
	switch (f->type) {
	case FRAME_MSG: tail = f->u.msg.len; break;
	case FRAME_SETUP:
		if ((unsigned)f->u.setup.handler >= HANDLER_KINDS ||
		    !words_valid(f->u.setup.command, f->u.setup.command_len))
			return 0;
		tail = f->u.setup.command_len;
		break;
	case FRAME_REPLY:
		if ((unsigned)f->u.reply.how > REPLY_HOW_MAX ||
		    (f->u.reply.flags & ~REPLY_F_ALL))
			return 0;
		tail = f->u.reply.len;
		break;
	default: break;
	}
	if (tail > PROTO_MAX_PAYLOAD)
		return 0;
	return PROTO_HEADER_LEN + body + tail;
}

size_t proto_encode_msg_head(uint8_t *out, size_t cap, uint64_t seq,
                             uint32_t len)
{
	if (len > PROTO_MAX_PAYLOAD || cap < PROTO_HEADER_LEN + 8)
		return 0;
	put_header(out, FRAME_MSG, 8 + (size_t)len);
	be_put64(out + PROTO_HEADER_LEN, seq);
	return PROTO_HEADER_LEN + 8;
}

size_t proto_encode(uint8_t *out, size_t cap, const struct frame *f)
{
	size_t size = proto_frame_size(f);
	uint8_t *b;

	if (size == 0 || size > cap)
		return 0;
	b = out + PROTO_HEADER_LEN;
	put_header(out, f->type, size - PROTO_HEADER_LEN);
	switch (f->type) {
	case FRAME_HELLO: memcpy(b, f->u.hello.token, PROTO_TOKEN_LEN); break;
	case FRAME_WELCOME:
		be_put32(b, f->u.welcome.index);
		be_put32(b + 4, f->u.welcome.pid);
		break;
	case FRAME_MSG:
		be_put64(b, f->u.msg.seq);
		if (f->u.msg.len > 0)
			memcpy(b + 8, f->u.msg.data, f->u.msg.len);
		break;
	case FRAME_ACK:
		be_put64(b, f->u.ack.seq);
		be_put32(b + 8, f->u.ack.index);
		be_put32(b + 12, f->u.ack.len);
		be_put32(b + 16, f->u.ack.crc);
		break;
	case FRAME_BYE: break;
	case FRAME_SETUP:
		b[0] = (uint8_t)f->u.setup.handler;
		b[1] = 0;
		be_put16(b + 2, 0);
		be_put32(b + 4, f->u.setup.timeout_ms);
		be_put32(b + 8, f->u.setup.stop_timeout_ms);
		be_put32(b + 12, f->u.setup.max_reply_bytes);
		if (f->u.setup.command_len > 0)
			memcpy(b + PROTO_SETUP_FIXED, f->u.setup.command,
			       f->u.setup.command_len);
		break;
	case FRAME_REPLY:
		be_put64(b, f->u.reply.seq);
		be_put32(b + 8, f->u.reply.index);
		b[12] = (uint8_t)f->u.reply.how;
		b[13] = f->u.reply.flags;
		be_put16(b + 14, f->u.reply.code);
		be_put32(b + 16, f->u.reply.dropped);
		if (f->u.reply.len > 0)
			memcpy(b + PROTO_REPLY_FIXED, f->u.reply.output,
			       f->u.reply.len);
		break;
	}
	return size;
}

/* Check a header; return its body length, or a negative proto_error. */
static long check_header(const uint8_t *in, enum frame_type *type)
{
	uint32_t body = be_get32(in);
	size_t fixed;

	if (in[4] != PROTO_VERSION)
		return PROTO_E_VERSION;
	*type = (enum frame_type)in[5];
	fixed = body_fixed_len(*type);
	if (fixed == SIZE_MAX)
		return PROTO_E_TYPE;
	if (in[6] != 0 || in[7] != 0)
		return PROTO_E_RESERVED;
	if (body >
	    (has_tail(*type) ? fixed + PROTO_MAX_PAYLOAD : PROTO_MAX_BODY))
		return PROTO_E_TOO_BIG;
	if (has_tail(*type) ? body < fixed : body != fixed)
		return PROTO_E_LENGTH;
	return (long)body;
}

int proto_decode(const uint8_t *in, size_t len, struct frame *f, size_t *used)
{
	enum frame_type type;
	const uint8_t *b = in + PROTO_HEADER_LEN;
	long body;

	if (len < PROTO_HEADER_LEN)
		return 0;
	body = check_header(in, &type);
	if (body < 0)
		return (int)body;
	if (len - PROTO_HEADER_LEN < (size_t)body)
		return 0;
	memset(f, 0, sizeof(*f));
	f->type = type;
	switch (type) {
	case FRAME_HELLO: memcpy(f->u.hello.token, b, PROTO_TOKEN_LEN); break;
	case FRAME_WELCOME:
		f->u.welcome.index = be_get32(b);
		f->u.welcome.pid = be_get32(b + 4);
		break;
	case FRAME_MSG:
		f->u.msg.seq = be_get64(b);
		f->u.msg.data = b + 8;
		f->u.msg.len = (uint32_t)(body - 8);
		break;
	case FRAME_ACK:
		f->u.ack.seq = be_get64(b);
		f->u.ack.index = be_get32(b + 8);
		f->u.ack.len = be_get32(b + 12);
		f->u.ack.crc = be_get32(b + 16);
		break;
	case FRAME_BYE: break;
	case FRAME_SETUP:
		if (b[1] != 0 || be_get16(b + 2) != 0)
			return PROTO_E_RESERVED;
		if (b[0] >= HANDLER_KINDS)
			return PROTO_E_VALUE;
		f->u.setup.handler = (enum handler_kind)b[0];
		f->u.setup.timeout_ms = be_get32(b + 4);
		f->u.setup.stop_timeout_ms = be_get32(b + 8);
		f->u.setup.max_reply_bytes = be_get32(b + 12);
		f->u.setup.command = b + PROTO_SETUP_FIXED;
		f->u.setup.command_len = (uint32_t)(body - PROTO_SETUP_FIXED);
		if (!words_valid(f->u.setup.command, f->u.setup.command_len))
			return PROTO_E_VALUE;
		break;
	case FRAME_REPLY:
		if (b[12] > REPLY_HOW_MAX || (b[13] & ~REPLY_F_ALL))
			return PROTO_E_VALUE;
		f->u.reply.seq = be_get64(b);
		f->u.reply.index = be_get32(b + 8);
		f->u.reply.how = (enum reply_how)b[12];
		f->u.reply.flags = b[13];
		f->u.reply.code = be_get16(b + 14);
		f->u.reply.dropped = be_get32(b + 16);
		f->u.reply.output = b + PROTO_REPLY_FIXED;
		f->u.reply.len = (uint32_t)(body - PROTO_REPLY_FIXED);
		break;
	}
	*used = PROTO_HEADER_LEN + (size_t)body;
	return 1;
}

int proto_version_of(const uint8_t *in, size_t len)
{
	return len < PROTO_HEADER_LEN ? -1 : in[4];
}

static const char *const handler_names[HANDLER_KINDS] = {"ack", "exec", "shell",
                                                         "pipe"};

int proto_handler_from_name(const char *name)
{
	for (int h = 0; h < HANDLER_KINDS; h++)
		if (strcmp(name, handler_names[h]) == 0)
			return h;
	return -1;
}

const char *proto_handler_name(enum handler_kind h)
{
	return (unsigned)h < HANDLER_KINDS ? handler_names[h] : "?";
}

const char *proto_strerror(int code)
{
	switch (code) {
	case PROTO_E_VERSION: return "unsupported protocol version";
	case PROTO_E_TYPE: return "unknown frame type";
	case PROTO_E_TOO_BIG: return "frame larger than the protocol allows";
	case PROTO_E_LENGTH: return "frame length wrong for its type";
	case PROTO_E_RESERVED: return "reserved bits set";
	case PROTO_E_VALUE: return "a field holds an impossible value";
	}
	return "no error";
}

uint32_t proto_checksum(const uint8_t *data, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	/* zlib takes a uInt length; feed it in slices to stay portable. */
	while (len > 0) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		crc = crc32(crc, data, n);
		data += n;
		len -= n;
	}
	return (uint32_t)crc;
}
