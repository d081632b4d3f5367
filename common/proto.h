/*
 * proto.h - the fanout wire protocol: pure encoding and decoding, no I/O.
 *
 * Every frame is an 8-byte header followed by a body:
 *
 *   u32 body length | u8 version | u8 type | u16 reserved (zero)
 *
 * All integers are big-endian. The bodies are:
 *
 *   HELLO    32-byte token                     orchestrator -> node
 *   WELCOME  u32 index, u32 pid                node -> orchestrator
 *   MSG      u64 seq, payload bytes            orchestrator -> node
 *   ACK      u64 seq, u32 index, u32 length,   node -> orchestrator
 *            u32 crc32 of the payload received
 *   BYE      empty                             orchestrator -> node
 *
 * A body never exceeds PROTO_MAX_BODY bytes, so a reader never buffers more
 * than PROTO_MAX_FRAME bytes to make progress, whatever a peer sends.
 */
#ifndef FANOUT_PROTO_H
#define FANOUT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION       1
#define PROTO_HEADER_LEN    8
#define PROTO_TOKEN_LEN     32
#define PROTO_MAX_PAYLOAD   (1u << 20) /* largest message payload: 1 MiB */
#define PROTO_MAX_BODY      (8u + PROTO_MAX_PAYLOAD)
#define PROTO_MAX_FRAME     (PROTO_HEADER_LEN + PROTO_MAX_BODY)
#define PROTO_ACK_FRAME_LEN (PROTO_HEADER_LEN + 20u)

enum frame_type {
	FRAME_HELLO = 1,
	FRAME_WELCOME = 2,
	FRAME_MSG = 3,
	FRAME_ACK = 4,
	FRAME_BYE = 5,
};

/* Negative results of proto_decode(). */
enum proto_error {
	PROTO_E_VERSION = -1,  /* version byte is not PROTO_VERSION */
	PROTO_E_TYPE = -2,     /* type byte names no frame type */
	PROTO_E_TOO_BIG = -3,  /* body length exceeds PROTO_MAX_BODY */
	PROTO_E_LENGTH = -4,   /* body length wrong for the frame type */
	PROTO_E_RESERVED = -5, /* reserved header bits are not zero */
};

struct frame {
	enum frame_type type;
	union {
		struct {
			uint8_t token[PROTO_TOKEN_LEN];
		} hello;
		struct {
			uint32_t index, pid;
		} welcome;
		struct {
			uint64_t seq;
			const uint8_t
			    *data; /* points into the decoded buffer */
			uint32_t len;
		} msg;
		struct {
			uint64_t seq;
			uint32_t index, len, crc;
		} ack;
	} u;
};

/* Return the number of bytes proto_encode() writes for f, or 0 if f is not
   a valid frame (unknown type, payload over PROTO_MAX_PAYLOAD). */
size_t proto_frame_size(const struct frame *f);

/* Encode f into out. Return the number of bytes written, or 0 if f is not
   valid or does not fit in cap bytes (nothing useful is written then). */
size_t proto_encode(uint8_t *out, size_t cap, const struct frame *f);

/* Encode only the header and fixed part of a MSG frame whose payload of len
   bytes the caller places right after it. Return the bytes written (16), or
   0 if len exceeds PROTO_MAX_PAYLOAD or cap is under 16. */
size_t proto_encode_msg_head(uint8_t *out, size_t cap, uint64_t seq,
                             uint32_t len);

/* Decode one frame from the first len bytes of in, reading no byte past
   them. Return 1 and fill *f and *used (the frame's size) when a whole
   frame is there; 0 when more bytes are needed (nothing is filled); or a
   negative enum proto_error when the bytes can never form a valid frame.
   A MSG frame's data points into in. */
int proto_decode(const uint8_t *in, size_t len, struct frame *f, size_t *used);

/* Return a short English description of a proto_decode() error code. */
const char *proto_strerror(int code);

/* Return the checksum acks carry: the CRC-32 (zlib's) of len bytes. */
uint32_t proto_checksum(const uint8_t *data, size_t len);

#endif
