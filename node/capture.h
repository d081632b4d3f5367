/*
 * capture.h - a handler's output, kept up to a bound (SPEC §9
 * max_reply_bytes): bytes past it are read all the same, so the writer
 * never blocks, and counted as dropped. Bytes pass unchanged.
 */
#ifndef FANOUT_NODE_CAPTURE_H
#define FANOUT_NODE_CAPTURE_H

#include <stdint.h>

#include "buf.h"

struct capture {
	struct buf kept;
	uint32_t max;     /* bytes kept at most */
	uint32_t dropped; /* bytes read past max (saturates) */
};

/* Empty c and keep at most max bytes from now on. */
void capture_reset(struct capture *c, uint32_t max);

/* Keep n bytes at p, or count them as dropped past the bound. */
void capture_add(struct capture *c, const uint8_t *p, size_t n);

/* Read what non-blocking fd has now into c (up to 1 MiB a call). Return
   1 at end of file, 0 when nothing more is there or the call's share is
   read, -1 on a read error (errno). */
int capture_read(struct capture *c, int fd);

/* Read what fd holds at this moment (FIONREAD), not what arrives while
   reading: the output of a command that has ended, without waiting for
   the end of file a background process may hold back forever. */
void capture_drain(struct capture *c, int fd);

/* Release the memory. */
void capture_free(struct capture *c);

#endif
