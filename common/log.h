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

/* Set the prefix of every line; NULL or "" for none. Call once, early. */
void log_init(const char *progname);

/* Call fn before each line is written (NULL: nothing), so a terminal
   console can clear its prompt first. */
void log_before_write(void (*fn)(void));

/* Print a message. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a message followed by ": " and strerror(errno). */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
