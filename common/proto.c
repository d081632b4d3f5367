/* proto.c - see proto.h for the frame layout. */
#include "proto.h"

#include <string.h>
#include <zlib.h>

/* Fixed body length of each frame type; MSG's is its minimum. */
static size_t body_fixed_len(enum frame_type type)
{
	switch (type) {
	case FRAME_HELLO: return PROTO_TOKEN_LEN;
	case FRAME_WELCOME: return 8;
	case FRAME_MSG: return 8;
	case FRAME_ACK: return 20;
	case FRAME_BYE: return 0;
	}
	return SIZE_MAX;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	put_u16(p, (uint16_t)(v >> 16));
	put_u16(p + 2, (uint16_t)v);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static void put_header(uint8_t *p, enum frame_type type, size_t body)
{
	put_u32(p, (uint32_t)body);
	p[4] = PROTO_VERSION;
	p[5] = (uint8_t)type;
	put_u16(p + 6, 0);
}

size_t proto_frame_size(const struct frame *f)
{
	size_t body = body_fixed_len(f->type);

	if (body == SIZE_MAX)
		return 0;
	if (f->type == FRAME_MSG) {
		if (f->u.msg.len > PROTO_MAX_PAYLOAD)
			return 0;
		body += f->u.msg.len;
	}
	return PROTO_HEADER_LEN + body;
}

size_t proto_encode_msg_head(uint8_t *out, size_t cap, uint64_t seq,
                             uint32_t len)
{
	if (len > PROTO_MAX_PAYLOAD || cap < PROTO_HEADER_LEN + 8)
		return 0;
	put_header(out, FRAME_MSG, 8 + (size_t)len);
	put_u64(out + PROTO_HEADER_LEN, seq);
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
		put_u32(b, f->u.welcome.index);
		put_u32(b + 4, f->u.welcome.pid);
		break;
	case FRAME_MSG:
		put_u64(b, f->u.msg.seq);
		if (f->u.msg.len > 0)
			memcpy(b + 8, f->u.msg.data, f->u.msg.len);
		break;
	case FRAME_ACK:
		put_u64(b, f->u.ack.seq);
		put_u32(b + 8, f->u.ack.index);
		put_u32(b + 12, f->u.ack.len);
		put_u32(b + 16, f->u.ack.crc);
		break;
	case FRAME_BYE: break;
	}
	return size;
}

/* Check a header; return its body length, or a negative proto_error. */
static long check_header(const uint8_t *in, enum frame_type *type)
{
	uint32_t body = get_u32(in);
	size_t fixed;

	if (in[4] != PROTO_VERSION)
		return PROTO_E_VERSION;
	*type = (enum frame_type)in[5];
	fixed = body_fixed_len(*type);
	if (fixed == SIZE_MAX)
		return PROTO_E_TYPE;
	if (in[6] != 0 || in[7] != 0)
		return PROTO_E_RESERVED;
	if (body > PROTO_MAX_BODY)
		return PROTO_E_TOO_BIG;
	if (*type == FRAME_MSG ? body < fixed : body != fixed)
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
		f->u.welcome.index = get_u32(b);
		f->u.welcome.pid = get_u32(b + 4);
		break;
	case FRAME_MSG:
		f->u.msg.seq = get_u64(b);
		f->u.msg.data = b + 8;
		f->u.msg.len = (uint32_t)(body - 8);
		break;
	case FRAME_ACK:
		f->u.ack.seq = get_u64(b);
		f->u.ack.index = get_u32(b + 8);
		f->u.ack.len = get_u32(b + 12);
		f->u.ack.crc = get_u32(b + 16);
		break;
	case FRAME_BYE: break;
	}
	*used = PROTO_HEADER_LEN + (size_t)body;
	return 1;
}

const char *proto_strerror(int code)
{
	switch (code) {
	case PROTO_E_VERSION: return "unsupported protocol version";
	case PROTO_E_TYPE: return "unknown frame type";
	case PROTO_E_TOO_BIG: return "frame larger than the protocol allows";
	case PROTO_E_LENGTH: return "frame length wrong for its type";
	case PROTO_E_RESERVED: return "reserved header bits set";
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
