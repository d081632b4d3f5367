/*
 * log.h - diagnostics on standard error.
 *
 * Every line is "PROG: message\n", written with one write(2) so that lines
 * from several processes or threads sharing stderr never interleave.
 * With no program name set (log_init(NULL)), lines carry no prefix: a node
 * started by the orchestrator has its output prefixed there instead.
 */
#ifndef FANOUT_LOG_H
#define FANOUT_LOG_H

#include <stddef.h>

/* Set the prefix of every line; NULL or "" for none. Call once, early. */
void log_init(const char *progname);

/* Hand each line (with its newline) to fn(arg, line, len) instead of
   writing it to standard error (NULL: write it), so a program can queue
   its diagnostics with the rest of its output. Not for a program whose
   threads log: fn is called on the thread that logs. */
void log_set_writer(void (*fn)(void *arg, const char *line, size_t len),
                    void *arg);

/* Print a message. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a message followed by ": " and strerror(errno). */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
