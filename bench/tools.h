/*
 * tools.h - external commands timed from fork to reap: pdsh and clush
 * beside the handlers (`TOOL -R exec -f N -w n[0-(N-1)] true` runs `true`
 * once per named host, on this machine, in at most N processes at once;
 * the bench installs nothing: a tool not on PATH is skipped, and said
 * so), and the orchestrator's own runs and subcommands of the detached
 * section.
 */
#ifndef FANOUT_BENCH_TOOLS_H
#define FANOUT_BENCH_TOOLS_H

#include <stddef.h>

#include "bench.h"
#include "children.h"

/* The command name of each tool, "pdsh" and "clush". */
extern const char *const tool_name[NTOOLS];

/* Look each tool up on PATH, storing its path in b->tool[] ("" when it
   is not there). */
void tools_find(struct bench *b);

/* Run argv (argv[0] a path) once, its standard input in (-1: /dev/null),
   its output and error to b->log, and store its wall time from fork to
   reap in *ms. Return 0, or -1 with a message when it did not exit 0 in
   time: it and every other child killed and reaped, its log shown under
   what's name. */
int tools_run(const struct bench *b, struct children *ch, char *const argv[],
              int in, const char *what, double *ms);

/* Run tool t of b (found) for n hosts once, and store its wall time from
   fork to reap in *ms. Its standard input is /dev/null, its output goes
   to b->log. Return 0, or -1 with a message when it did not exit 0 in
   time (it and every other child killed and reaped, its log shown). */
int tool_time(const struct bench *b, struct children *ch, enum tool t,
              unsigned n, double *ms);

#endif
