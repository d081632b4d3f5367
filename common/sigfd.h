/*
 * sigfd.h - signals as events: block them, read them from a signalfd.
 * No work ever happens in a signal handler (there is none).
 */
#ifndef FANOUT_SIGFD_H
#define FANOUT_SIGFD_H

/* Block the n signals in sigs (call before starting any thread, so every
   thread inherits the mask), ignore SIGPIPE (write errors come back as
   EPIPE instead), and return a non-blocking CLOEXEC signalfd that reads
   the blocked signals; -1 on error with errno set. */
int sigfd_open(const int *sigs, int n);

#endif
