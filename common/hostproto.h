/*
 * hostproto.h - the host-mode protocol (SPEC §8): pure encoding and
 * decoding of one line, no I/O.
 *
 * The orchestrator runs `node --host-mode` once per host through its
 * launcher (ssh, srun) and talks to it over the launcher's standard
 * streams, one text line per message, words separated by one blank.
 * Orders, on the host daemon's standard input:
 *
 *   fanout-host VERSION TOKEN      first: the run's token, 64 hex digits
 *   start INDEX PORT ADDRESS       start node INDEX listening there
 *   signal INDEX SIGNO             to its process group (or itself)
 *
 * and end of input: stop every node and exit. Reports, on its standard
 * output:
 *
 *   fanout-host VERSION PID        first: the host daemon is there
 *   started INDEX PID              the node's process exists
 *   ready INDEX                    it listens
 *   out INDEX TEXT                 a line it printed (no newline; any
 *                                  other byte as it came)
 *   exit INDEX code N | exit INDEX signal N     its process was reaped
 *   empty INDEX                    nothing of its process group is left
 *   error TEXT                     the host daemon cannot go on; exits
 *
 * Text is used, not frames, so that what a launcher or a remote shell
 * prints besides (a banner, ssh's own complaints) is told apart and
 * shown as the host's words instead of breaking the stream: a line that
 * does not parse is not a message. A line is at most HOSTPROTO_LINE_MAX
 * bytes with its newline; a node's longer output line travels in pieces.
 */
#ifndef FANOUT_HOSTPROTO_H
#define FANOUT_HOSTPROTO_H

#include <stddef.h>

#include "buf.h"
#include "token.h"

#define HOSTPROTO_VERSION  1
#define HOSTPROTO_MAGIC    "fanout-host"
#define HOSTPROTO_TEXT_MAX 4096 /* bytes of TEXT in one out or error */
#define HOSTPROTO_LINE_MAX (HOSTPROTO_TEXT_MAX + 32)
#define HOSTPROTO_ADDR_MAX 255

enum hostmsg_type {
	HOST_HELLO,   /* both ways: version, and token (order) or pid */
	HOST_START,   /* order */
	HOST_SIGNAL,  /* order */
	HOST_STARTED, /* report */
	HOST_READY,   /* report */
	HOST_OUT,     /* report */
	HOST_EXIT,    /* report */
	HOST_EMPTY,   /* report */
	HOST_ERROR,   /* report */
};

struct hostmsg {
	enum hostmsg_type type;
	unsigned version;              /* HELLO */
	char token[TOKEN_HEX_LEN + 1]; /* HELLO order: hex, NUL-terminated */
	unsigned index;                /* every message about a node */
	unsigned port;                 /* START */
	char addr[HOSTPROTO_ADDR_MAX + 1]; /* START */
	int pid;                           /* HELLO report, STARTED */
	int signo;        /* SIGNAL; EXIT when killed by a signal */
	int code;         /* EXIT when it exited: 0..255 */
	const char *text; /* OUT, ERROR: points into the parsed line */
	size_t textlen;
};

/* Parse one line (len bytes, without its newline; a CR before it is
   not part of it) into m. A HELLO's version is taken whatever it is in
   1..65535, so that the caller can name both versions; everything else
   is checked whole: the words and their count, numbers in range (index below 4096,
   port 1..65535, pid positive, signal 1..64, exit code 0..255), a token
   of 64 hex digits, an address of 1..255 printable characters. m->text
   points into line. Return 0, or -1 if the line is no message. */
int hostproto_parse(const char *line, size_t len, struct hostmsg *m);

/* Append m as one line, newline included, to b. Its text is cut at
   its first newline (the caller splits lines) and at HOSTPROTO_TEXT_MAX
   bytes; a text ending in CR gets one more, which parsing drops. Return
   0, or -1 if b cannot grow. */
int hostproto_append(struct buf *b, const struct hostmsg *m);

#endif
