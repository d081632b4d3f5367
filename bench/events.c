/* events.c - see events.h. */
#include "events.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "log.h"

void reader_init(struct reader *r, int fd)
{
	r->fd = fd;
	r->off = r->len = 0;
}

char *reader_line(struct reader *r)
{
	for (;;) {
		char *line = r->buf + r->off;
		char *nl = memchr(line, '\n', r->len - r->off);

		if (nl) {
			*nl = '\0';
			r->off = (size_t)(nl + 1 - r->buf);
			return line;
		}
		memmove(r->buf, line, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
		if (r->len == sizeof(r->buf)) {
			log_msg("orchestrator: an output line is longer than "
			        "%zu bytes",
			        sizeof(r->buf));
			return NULL;
		}
		ssize_t n =
		    io_read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			log_msg("orchestrator: its output ended unexpectedly");
			return NULL;
		}
		if (errno != EAGAIN) {
			log_errno("read from orchestrator");
			return NULL;
		}
		struct pollfd pf = {.fd = r->fd, .events = POLLIN};
		int rc = poll(&pf, 1, TIMEOUT_MS);
		if (rc == 0) {
			log_msg("orchestrator: no output for %d s",
			        TIMEOUT_MS / 1000);
			return NULL;
		}
		if (rc < 0 && errno != EINTR) {
			log_errno("poll");
			return NULL;
		}
	}
}

bool event_is(const char *line, const char *ev)
{
	return strstr(line, ev) != NULL;
}

double event_num(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	char *end;
	double v;

	if (!p)
		return NAN;
	p += strlen(key);
	v = strtod(p, &end);
	return end == p ? NAN : v;
}

long long event_int(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	long long v = 0;

	if (!p)
		return -1;
	p += strlen(key);
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9' && v < LLONG_MAX / 10; p++)
		v = v * 10 + (*p - '0');
	return v;
}

/* Return whether line is the broadcast event of sequence number seq and
   bytes bytes, acked by all n of n nodes; say why not. */
static bool broadcast_acked(const char *line, uint64_t seq, unsigned bytes,
                            unsigned n)
{
	if (!event_is(line, EVENT("broadcast"))) {
		log_msg("expected the broadcast event of #%llu, got: %s",
		        (unsigned long long)seq, line);
		return false;
	}
	if (event_int(line, FIELD("seq")) != (long long)seq ||
	    event_int(line, FIELD("bytes")) != bytes ||
	    event_int(line, FIELD("acked")) != n ||
	    event_int(line, FIELD("expected")) != n ||
	    !(event_num(line, FIELD("ms")) >= 0)) {
		log_msg("broadcast #%llu of %u bytes was not acked by all %u "
		        "nodes: %s",
		        (unsigned long long)seq, bytes, n, line);
		return false;
	}
	return true;
}

double event_broadcast_ms(const char *line, uint64_t seq, unsigned n)
{
	if (!broadcast_acked(line, seq, MSG_BYTES, n))
		return -1;
	return event_num(line, FIELD("ms"));
}

/* Return whether [p, end) holds key followed by val and then ',' or '}'.
   Keys outside JSON strings are safe to search for: inside one, every
   quote is escaped. */
static bool field_is(const char *p, const char *end, const char *key,
                     const char *val)
{
	const char *k = strstr(p, key);
	size_t vlen = strlen(val);

	if (!k || k >= end)
		return false;
	k += strlen(key);
	return strncmp(k, val, vlen) == 0 && (k[vlen] == ',' || k[vlen] == '}');
}

/* Return the number of entries of the JSON list of numbers at p ('['). */
static unsigned list_len(const char *p)
{
	unsigned k = p[1] != ']';

	for (p++; *p && *p != ']'; p++)
		k += *p == ',';
	return k;
}

/* Return the end of the JSON string at p (its opening quote): just past
   its closing quote, or NULL when it has none. */
static const char *string_end(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Check the reply groups of line: each ended clean with output output.
   Return how many nodes they name, or -1 at the first that did not (its
   start in *bad). */
static long groups_clean(const char *line, const char *output, const char **bad)
{
	static const char group[] = "{\"nodes\":[";
	size_t olen = strlen(output);
	const char *p = strstr(line, FIELD("replies"));
	long nodes = 0;

	while (p && (p = strstr(p, group))) {
		const char *out = strstr(p, FIELD("output"));

		*bad = p;
		if (!out || !field_is(p, out, FIELD("status"), "0") ||
		    !field_is(p, out, FIELD("signal"), "null") ||
		    !field_is(p, out, FIELD("timed_out"), "false") ||
		    !field_is(p, out, FIELD("restarted"), "false") ||
		    !field_is(p, out, FIELD("truncated"), "0"))
			return -1;
		out += strlen(FIELD("output"));
		if (*out != '"' || strncmp(out + 1, output, olen) != 0 ||
		    out[olen + 1] != '"')
			return -1;
		nodes += list_len(p + sizeof(group) - 2);
		p = string_end(out);
	}
	return nodes;
}

double event_replied_ms(const char *line, uint64_t seq, unsigned bytes,
                        unsigned n, const char *output, double *ack_ms)
{
	const char *bad = line;
	double ms;

	if (!broadcast_acked(line, seq, bytes, n))
		return -1;
	ms = event_num(line, FIELD("reply_ms"));
	if (event_int(line, FIELD("replied")) != n || !(ms >= 0) ||
	    !strstr(line, FIELD("no_reply") "[]")) {
		log_msg("broadcast #%llu was not replied to by all %u nodes: "
		        "%s",
		        (unsigned long long)seq, n, line);
		return -1;
	}
	if (groups_clean(line, output, &bad) != n) {
		log_msg("broadcast #%llu: not every reply was a clean \"%s\" "
		        "(at %.200s): %s",
		        (unsigned long long)seq, output, bad, line);
		return -1;
	}
	*ack_ms = event_num(line, FIELD("ms"));
	return ms;
}
