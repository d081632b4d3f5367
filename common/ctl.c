/* ctl.c - see ctl.h for the frame layout. */
#include "ctl.h"

#include <string.h>

#include "be.h"

/* The body of a frame of a type: fixed part, then at most max_tail bytes
   of its own (0: none). */
struct shape {
	size_t fixed, max_tail;
};

/* Return whether type names a frame type, and its shape in *s. */
static bool shape_of(enum ctl_type type, struct shape *s)
{
	switch (type) {
	case CTL_HELLO:
		*s = (struct shape){CTL_HELLO_FIXED, CTL_MAX_NAME};
		break;
	case CTL_LINE: *s = (struct shape){0, CTL_MAX_DATA}; break;
	case CTL_END: *s = (struct shape){0, 0}; break;
	case CTL_WELCOME:
		*s = (struct shape){CTL_WELCOME_FIXED, CTL_MAX_NAME};
		break;
	case CTL_OUT: *s = (struct shape){CTL_OUT_FIXED, CTL_MAX_DATA}; break;
	case CTL_DONE: *s = (struct shape){4, 0}; break;
	case CTL_REFUSED: *s = (struct shape){0, CTL_MAX_TEXT}; break;
	default: return false;
	}
	return true;
}

const struct ctl_bytes *ctl_bytes_of(const struct ctl_frame *f)
{
	switch (f->type) {
	case CTL_HELLO: return &f->u.hello.name;
	case CTL_LINE: return &f->u.line;
	case CTL_WELCOME: return &f->u.welcome.name;
	case CTL_OUT: return &f->u.out.data;
	case CTL_REFUSED: return &f->u.refused;
	default: return NULL;
	}
}

/* Whether len bytes at p are text: no ASCII control byte. */
static bool is_text(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

/* Whether the fields of f hold values a frame of its type can have, the
   length of its variable part included. The one rule of ctl_encode() and
   ctl_decode(). */
static bool valid(const struct ctl_frame *f)
{
	const struct ctl_bytes *t = ctl_bytes_of(f);
	struct shape s;

	if (!shape_of(f->type, &s))
		return false;
	if (t && (t->len > s.max_tail || (t->len > 0 && !t->p)))
		return false;
	switch (f->type) {
	case CTL_HELLO:
		return (unsigned)f->u.hello.mode - 1 < CTL_MODE_MAX &&
		       !(f->u.hello.flags & ~CTL_F_ALL) &&
		       is_text(t->p, t->len);
	case CTL_LINE: return t->len == 0 || !memchr(t->p, '\n', t->len);
	case CTL_WELCOME:
	case CTL_REFUSED: return t->len > 0 && is_text(t->p, t->len);
	case CTL_OUT:
		return f->u.out.stream == CTL_STDOUT ||
		       f->u.out.stream == CTL_STDERR;
	case CTL_DONE: return f->u.done.status <= 255;
	default: return true;
	}
}

size_t ctl_frame_size(const struct ctl_frame *f)
{
	const struct ctl_bytes *t = ctl_bytes_of(f);
	struct shape s;

	if (!shape_of(f->type, &s) || !valid(f))
		return 0;
	return CTL_HEADER_LEN + s.fixed + (t ? t->len : 0);
}

size_t ctl_encode(uint8_t *out, size_t cap, const struct ctl_frame *f)
{
	const struct ctl_bytes *t = ctl_bytes_of(f);
	size_t size = ctl_frame_size(f);
	uint8_t *b;

	if (size == 0 || size > cap)
		return 0;
	b = out + CTL_HEADER_LEN;
	be_put32(out, (uint32_t)(size - CTL_HEADER_LEN));
	out[4] = CTL_VERSION;
	out[5] = (uint8_t)f->type;
	be_put16(out + 6, 0);
	switch (f->type) {
	case CTL_HELLO:
		b[0] = (uint8_t)f->u.hello.mode;
		b[1] = f->u.hello.flags;
		be_put16(b + 2, 0);
		break;
	case CTL_WELCOME:
		be_put32(b, f->u.welcome.pid);
		be_put32(b + 4, f->u.welcome.nodes);
		break;
	case CTL_OUT:
		b[0] = (uint8_t)f->u.out.stream;
		b[1] = 0;
		be_put16(b + 2, 0);
		break;
	case CTL_DONE: be_put32(b, f->u.done.status); break;
	default: break;
	}
	if (t && t->len > 0)
		memcpy(out + size - t->len, t->p, t->len);
	return size;
}

/* Check a header; return its body length, or a negative ctl_error. */
static long check_header(const uint8_t *in, enum ctl_type *type)
{
	uint32_t body = be_get32(in);
	struct shape s;

	if (in[4] != CTL_VERSION)
		return CTL_E_VERSION;
	*type = (enum ctl_type)in[5];
	if (!shape_of(*type, &s))
		return CTL_E_TYPE;
	if (in[6] != 0 || in[7] != 0)
		return CTL_E_RESERVED;
	if (body > (s.max_tail ? s.fixed + s.max_tail : CTL_MAX_BODY))
		return CTL_E_TOO_BIG;
	if (s.max_tail ? body < s.fixed : body != s.fixed)
		return CTL_E_LENGTH;
	return (long)body;
}

int ctl_decode(const uint8_t *in, size_t len, struct ctl_frame *f, size_t *used)
{
	const uint8_t *b;
	struct ctl_frame g;
	struct ctl_bytes *t;
	struct shape s;
	long body;

	if (len < CTL_HEADER_LEN)
		return 0;
	memset(&g, 0, sizeof(g));
	body = check_header(in, &g.type);
	if (body < 0)
		return (int)body;
	if (len - CTL_HEADER_LEN < (size_t)body)
		return 0;
	b = in + CTL_HEADER_LEN;
	switch (g.type) {
	case CTL_HELLO:
		if (b[2] != 0 || b[3] != 0)
			return CTL_E_RESERVED;
		g.u.hello.mode = (enum ctl_mode)b[0];
		g.u.hello.flags = b[1];
		break;
	case CTL_WELCOME:
		g.u.welcome.pid = be_get32(b);
		g.u.welcome.nodes = be_get32(b + 4);
		break;
	case CTL_OUT:
		if (b[1] != 0 || b[2] != 0 || b[3] != 0)
			return CTL_E_RESERVED;
		g.u.out.stream = (enum ctl_stream)b[0];
		break;
	case CTL_DONE: g.u.done.status = be_get32(b); break;
	default: break;
	}
	/* ctl_bytes_of() gives a const view; g is ours to fill. */
	t = (struct ctl_bytes *)ctl_bytes_of(&g);
	if (t) {
		shape_of(g.type, &s);
		t->p = b + s.fixed;
		t->len = (uint32_t)((size_t)body - s.fixed);
	}
	if (!valid(&g))
		return CTL_E_VALUE;
	*f = g;
	*used = CTL_HEADER_LEN + (size_t)body;
	return 1;
}

int ctl_version_of(const uint8_t *in, size_t len)
{
	return len < CTL_HEADER_LEN ? -1 : in[4];
}

bool ctl_from_client(enum ctl_type t)
{
	return t == CTL_HELLO || t == CTL_LINE || t == CTL_END;
}

const char *ctl_mode_name(enum ctl_mode m)
{
	static const char *const names[CTL_MODE_MAX] = {"attach", "send",
	                                                "status", "stop"};

	return (unsigned)m - 1 < CTL_MODE_MAX ? names[m - 1] : "?";
}

const char *ctl_strerror(int code)
{
	switch (code) {
	case CTL_E_VERSION: return "unsupported console protocol version";
	case CTL_E_TYPE: return "unknown frame type";
	case CTL_E_TOO_BIG: return "frame larger than its type allows";
	case CTL_E_LENGTH: return "frame length wrong for its type";
	case CTL_E_RESERVED: return "reserved bits set";
	case CTL_E_VALUE: return "a field holds an impossible value";
	}
	return "no error";
}
