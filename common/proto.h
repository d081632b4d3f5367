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
 *   SETUP    u8 handler, u8 0, u16 0,          orchestrator -> node
 *            u32 handler_timeout_ms, u32 stop_timeout_ms,
 *            u32 max_reply_bytes, command words (each ends in NUL)
 *   REPLY    u64 seq, u32 index, u8 how,       node -> orchestrator
 *            u8 flags, u16 code, u32 bytes dropped, output bytes
 *
 * SETUP tells a node what to do with messages (SPEC §9); a node that never
 * gets one only acks. REPLY is the result of handling one message, sent
 * after its ACK. A body never exceeds PROTO_MAX_BODY bytes, so a reader
 * never buffers more than PROTO_MAX_FRAME bytes to make progress, whatever
 * a peer sends. Version 2 added SETUP and REPLY; peers of different
 * versions refuse each other (proto_version_of() names the other's).
 */
#ifndef FANOUT_PROTO_H
#define FANOUT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION       2
#define PROTO_HEADER_LEN    8
#define PROTO_TOKEN_LEN     32
#define PROTO_MAX_PAYLOAD   (1u << 20) /* largest message, reply or command */
#define PROTO_REPLY_FIXED   20u        /* REPLY body before its output */
#define PROTO_SETUP_FIXED   16u        /* SETUP body before its command */
#define PROTO_MAX_BODY      (PROTO_REPLY_FIXED + PROTO_MAX_PAYLOAD)
#define PROTO_MAX_FRAME     (PROTO_HEADER_LEN + PROTO_MAX_BODY)
#define PROTO_ACK_FRAME_LEN (PROTO_HEADER_LEN + 20u)

enum frame_type {
	FRAME_HELLO = 1,
	FRAME_WELCOME = 2,
	FRAME_MSG = 3,
	FRAME_ACK = 4,
	FRAME_BYE = 5,
	FRAME_SETUP = 6,
	FRAME_REPLY = 7,
};

/* What a node does with each message (SETUP's handler byte, SPEC §9). */
enum handler_kind {
	HANDLER_ACK = 0,   /* nothing more: the ack is the answer */
	HANDLER_EXEC = 1,  /* /bin/sh -c MESSAGE, one process group each */
	HANDLER_SHELL = 2, /* one long-lived /bin/sh per node */
	HANDLER_PIPE = 3, /* one long-lived co-process: a line in, a line out */
};
#define HANDLER_KINDS 4

/* How the handling of a message ended (REPLY's how byte). */
enum reply_how {
	REPLY_EXITED = 0,    /* code is the exit status (a pipe answer: 0) */
	REPLY_SIGNALED = 1,  /* code is the signal that ended it */
	REPLY_TIMED_OUT = 2, /* ran past handler_timeout_ms; code is the signal
	                        that ended it */
};
#define REPLY_HOW_MAX REPLY_TIMED_OUT

/* REPLY flags. */
#define REPLY_F_RESTARTED 0x01 /* the co-process died and was started again */
#define REPLY_F_ALL       REPLY_F_RESTARTED

/* Negative results of proto_decode(). */
enum proto_error {
	PROTO_E_VERSION = -1,  /* version byte is not PROTO_VERSION */
	PROTO_E_TYPE = -2,     /* type byte names no frame type */
	PROTO_E_TOO_BIG = -3,  /* body length exceeds PROTO_MAX_BODY */
	PROTO_E_LENGTH = -4,   /* body length wrong for the frame type */
	PROTO_E_RESERVED = -5, /* reserved bits are not zero */
	PROTO_E_VALUE = -6,    /* a field holds a value it cannot have */
};

/* A REPLY's fields: the result of handling message seq on node index. */
struct proto_reply {
	uint64_t seq;
	uint32_t index;
	enum reply_how how;
	uint8_t flags;         /* REPLY_F_* */
	uint16_t code;         /* exit status or signal number */
	uint32_t dropped;      /* output bytes cut past max_reply_bytes */
	const uint8_t *output; /* points into the decoded buffer */
	uint32_t len;          /* bytes at output, up to PROTO_MAX_PAYLOAD */
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
		struct {
			enum handler_kind handler;
			uint32_t timeout_ms, stop_timeout_ms, max_reply_bytes;
			/* words, each ending in NUL (none for ack and exec);
			   points into the decoded buffer */
			const uint8_t *command;
			uint32_t command_len;
		} setup;
		struct proto_reply reply;
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

/* Return the protocol version a peer's frame at in (len bytes) was made
   with, or -1 when fewer than PROTO_HEADER_LEN bytes are there. Used to
   name both versions when proto_decode() says PROTO_E_VERSION. */
int proto_version_of(const uint8_t *in, size_t len);

/* Return the handler named name ("ack", "exec", "shell", "pipe"), or -1. */
int proto_handler_from_name(const char *name);

/* Return the name of handler h, or "?" for a value outside the enum. */
const char *proto_handler_name(enum handler_kind h);

/* Return a short English description of a proto_decode() error code. */
const char *proto_strerror(int code);

/* Return the checksum acks carry: the CRC-32 (zlib's) of len bytes. */
uint32_t proto_checksum(const uint8_t *data, size_t len);

#endif
