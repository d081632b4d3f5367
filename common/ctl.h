/*
 * ctl.h - the console protocol between `orchestrator attach|send|status|
 * stop` and a detached fleet's daemon (SPEC §11): pure encoding and
 * decoding, no I/O. Framed, versioned and bounded like the node protocol
 * of proto.h (SPEC §6), whose header it shares.
 *
 * Every frame is an 8-byte header followed by a body:
 *
 *   u32 body length | u8 version | u8 type | u16 reserved (zero)
 *
 * All integers are big-endian. The bodies are:
 *
 *   HELLO    u8 mode, u8 flags, u16 0,          client -> daemon
 *            name (0..CTL_MAX_NAME bytes of text)
 *   LINE     one console line (0..CTL_MAX_DATA  client -> daemon
 *            bytes, no newline)
 *   END      empty: no more lines               client -> daemon
 *   WELCOME  u32 daemon pid, u32 nodes,         daemon -> client
 *            fleet name (1..CTL_MAX_NAME bytes of text)
 *   OUT      u8 stream, u8 0, u16 0,            daemon -> client
 *            bytes (0..CTL_MAX_DATA)
 *   DONE     u32 exit status (0..255, SPEC §4)  daemon -> client
 *   REFUSED  why (1..CTL_MAX_TEXT bytes          daemon -> client
 *            of text)
 *
 * "Text" is bytes other than the ASCII controls 0x00-0x1f and 0x7f, so it
 * prints on one line as it is (bytes from 0x80 up pass: UTF-8 is not
 * checked).
 *
 * A session: the client sends HELLO; the daemon answers WELCOME, or
 * REFUSED and closes. Then the client sends LINEs (attach, send) and END
 * when it has no more; the daemon sends OUT, the client's standard output
 * and standard error as a byte stream cut anywhere (a line may span
 * frames), and ends with DONE, the status the client exits with. STATUS
 * and STOP send no line.
 *
 * Every type's body has a bound (the largest is CTL_MAX_BODY), checked from
 * the 8 header bytes alone: a reader never buffers more than CTL_MAX_FRAME
 * bytes to make progress. A daemon need buffer no more than
 * CTL_HELLO_MAX_FRAME before it knows who a peer is: when ctl_decode()
 * still asks for more with that many bytes there, the first frame is not
 * a HELLO. The header's layout is the same in every version, so a peer of
 * another version is told from its first 8 bytes (ctl_version_of() names
 * its version); peers of different versions refuse each other: a daemon
 * answers a HELLO of another version with a REFUSED of its own version,
 * which the client cannot decode but whose version it names.
 */
#ifndef FANOUT_CTL_H
#define FANOUT_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_VERSION    1
#define CTL_HEADER_LEN 8
#define CTL_MAX_NAME   64  /* HELLO's client name, WELCOME's fleet */
#define CTL_MAX_TEXT   512 /* REFUSED's reason */
/* A LINE, an OUT's bytes. A line is one message: PROTO_MAX_PAYLOAD. */
#define CTL_MAX_DATA        (1u << 20)
#define CTL_HELLO_FIXED     4u /* HELLO body before its name */
#define CTL_WELCOME_FIXED   8u /* WELCOME body before its name */
#define CTL_OUT_FIXED       4u /* OUT body before its bytes */
#define CTL_MAX_BODY        (CTL_OUT_FIXED + CTL_MAX_DATA)
#define CTL_MAX_FRAME       (CTL_HEADER_LEN + CTL_MAX_BODY)
#define CTL_HELLO_MAX_FRAME (CTL_HEADER_LEN + CTL_HELLO_FIXED + CTL_MAX_NAME)

enum ctl_type {
	CTL_HELLO = 1,
	CTL_LINE = 2,
	CTL_END = 3,
	CTL_WELCOME = 4,
	CTL_OUT = 5,
	CTL_DONE = 6,
	CTL_REFUSED = 7,
};

/* What a client came for (HELLO's mode byte; 0 is no mode). */
enum ctl_mode {
	CTL_MODE_ATTACH = 1, /* the console of SPEC §4 on the fleet */
	CTL_MODE_SEND = 2,   /* broadcast lines, report them, DONE */
	CTL_MODE_STATUS = 3, /* the /status table, DONE */
	CTL_MODE_STOP = 4, /* stop the fleet; DONE once the teardown is done */
};
#define CTL_MODE_MAX CTL_MODE_STOP

/* HELLO flags. */
#define CTL_F_JSON 0x01 /* --json: reports as JSON events (SPEC §4) */
#define CTL_F_TTY  0x02 /* the client's standard input is a terminal */
#define CTL_F_ALL  (CTL_F_JSON | CTL_F_TTY)

/* OUT's stream byte: where the client writes the bytes (its descriptor). */
enum ctl_stream {
	CTL_STDOUT = 1, /* reports, JSON events */
	CTL_STDERR = 2, /* diagnostics, human text beside --json */
};

/* Negative results of ctl_decode(), numbered as proto.h's. */
enum ctl_error {
	CTL_E_VERSION = -1,  /* version byte is not CTL_VERSION */
	CTL_E_TYPE = -2,     /* type byte names no frame type */
	CTL_E_TOO_BIG = -3,  /* body length over its type's bound */
	CTL_E_LENGTH = -4,   /* body length wrong for the frame type */
	CTL_E_RESERVED = -5, /* reserved bits are not zero */
	CTL_E_VALUE = -6,    /* a field holds a value it cannot have */
};

/* Bytes of a frame's variable part; a decoded one points into the decoded
   buffer. */
struct ctl_bytes {
	const uint8_t *p; /* may be NULL when len is 0 */
	uint32_t len;
};

struct ctl_frame {
	enum ctl_type type;
	union {
		struct {
			enum ctl_mode mode;
			uint8_t flags;         /* CTL_F_* */
			struct ctl_bytes name; /* who: user, tty (for /who) */
		} hello;
		struct ctl_bytes line; /* LINE */
		struct {
			uint32_t pid, nodes; /* nodes: the fleet's size now */
			struct ctl_bytes name;
		} welcome;
		struct {
			enum ctl_stream stream;
			struct ctl_bytes data;
		} out;
		struct {
			uint32_t status; /* 0..255 */
		} done;
		struct ctl_bytes refused; /* REFUSED: why */
	} u;
};

/* Return the number of bytes ctl_encode() writes for f, or 0 if f is not a
   frame ctl_decode() would accept (unknown type, mode, flag or stream; a
   byte field over its bound, a control byte in text, an empty fleet name
   or reason, a newline in a line, a status over 255). */
size_t ctl_frame_size(const struct ctl_frame *f);

/* Encode f into out, cap bytes long. Return the number of bytes written,
   or 0 if f is not valid (see ctl_frame_size()) or does not fit in cap
   (nothing useful is written then). */
size_t ctl_encode(uint8_t *out, size_t cap, const struct ctl_frame *f);

/* Decode one frame from the first len bytes of in, reading no byte past
   them. Return 1 and fill *f and *used (the frame's size, at most
   CTL_MAX_FRAME) when a whole valid frame is there; 0 when more bytes are
   needed; or a negative enum ctl_error when the bytes can never form a
   valid frame: header errors as soon as the 8 header bytes are there,
   errors of the body's fields once the whole body is. *f and *used are
   touched only when it returns 1. Byte fields point into in. */
int ctl_decode(const uint8_t *in, size_t len, struct ctl_frame *f,
               size_t *used);

/* Return the console protocol version a peer's frame at in (len bytes)
   was made with, or -1 when fewer than CTL_HEADER_LEN bytes are there.
   Used to name both versions when ctl_decode() says CTL_E_VERSION. */
int ctl_version_of(const uint8_t *in, size_t len);

/* Return whether frames of type t go from client to daemon (HELLO, LINE,
   END); the others go from daemon to client. A peer sending the other
   side's frames breaks the protocol. */
bool ctl_from_client(enum ctl_type t);

/* Return f's byte field (HELLO's name, LINE, WELCOME's name, OUT's
   data, REFUSED's reason), or NULL for a type without one. */
const struct ctl_bytes *ctl_bytes_of(const struct ctl_frame *f);

/* Return the name of mode m ("attach", "send", "status", "stop"), or "?"
   for a value outside the enum. */
const char *ctl_mode_name(enum ctl_mode m);

/* Return a short English description of a ctl_decode() error code, or
   "no error" for any other value. */
const char *ctl_strerror(int code);

#endif
