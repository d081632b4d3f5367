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

double event_broadcast_ms(const char *line, uint64_t seq, unsigned n)
{
	double ms;

	if (!event_is(line, EVENT("broadcast"))) {
		log_msg("expected the broadcast event of #%llu, got: %s",
		        (unsigned long long)seq, line);
		return -1;
	}
	ms = event_num(line, FIELD("ms"));
	if (event_int(line, FIELD("seq")) != (long long)seq ||
	    event_int(line, FIELD("bytes")) != MSG_BYTES ||
	    event_int(line, FIELD("acked")) != n ||
	    event_int(line, FIELD("expected")) != n || !(ms >= 0)) {
		log_msg("broadcast #%llu of %d bytes was not acked by all %u "
		        "nodes: %s",
		        (unsigned long long)seq, MSG_BYTES, n, line);
		return -1;
	}
	return ms;
}
