/*
 * proc.h - helpers about processes, shared by the orchestrator and the
 * bench: how a child ended, in words; the open-file limit; where our own
 * sibling executables are.
 *
 * Functions that can fail return 0 or -1 with a one-line message in the
 * caller's err buffer; none prints anything.
 */
#ifndef FANOUT_PROC_H
#define FANOUT_PROC_H

#include <spawn.h>
#include <stddef.h>
#include <sys/types.h>

/* Reopen each of descriptors 0, 1 and 2 that is closed on /dev/null, so
   that nothing opened later lands on a standard descriptor (SPEC §13).
   Call first in main. Return 0, or -1 with errno when /dev/null cannot be
   opened. */
int proc_fix_stdio(void);

/* Store into out (up to max) the process ids whose parent is parent:
   for our own process from /proc/self/task/TID/children (cheap), else, or
   where the kernel lacks those files, by reading every /proc/PID/stat.
   Return how many were found (0 when /proc cannot be read). */
unsigned proc_children(pid_t parent, pid_t *out, unsigned max);

/* Store into out (up to max) the ids of the processes of session sid
   (getsid(2)), found by reading /proc. Return how many. */
unsigned proc_session(pid_t sid, pid_t *out, unsigned max);

/* Write into out the name of process pid (/proc/PID/comm), or "?". */
void proc_name(pid_t pid, char *out, size_t outlen);

/* Write how a process ended, from a waitpid(2) status, into out:
   "exited 1", "killed by signal 9 (Killed)", "ended (status 0x...)". */
void proc_status_str(int status, char *out, size_t outlen);

/* Raise the soft RLIMIT_NOFILE to at least need descriptors, and the
   hard limit too when allowed (root). A limit that cannot be read is
   left as it is. Return 0, or -1 with a message that starts "need N open
   files but ..." when it cannot be raised (getrlimit(2), setrlimit(2)). */
int proc_raise_nofile(unsigned long need, char *err, size_t errlen);

/* Return a copy of environ (the pointers, not the strings) for what we
   start: without FANOUT_ variables (ours to set, or secret) nor
   NOTIFY_SOCKET (the service manager's word is ours alone), with room
   for extra more entries before its NULL; *n is set to how many it
   holds. NULL when out of memory. Free it with free(). */
char **proc_child_environ(size_t extra, size_t *n);

/* Start argv (argv[0] searched in PATH unless it holds a '/') with
   environment env, as we start what we start (a node, a launcher): its
   descriptor i is fds[i] for i < nfds (-1: /dev/null, for reading), every
   other descriptor closed, every signal's disposition back to its
   default, an empty signal mask, and flags (POSIX_SPAWN_SETSID: a session
   of its own, so no terminal of ours and none of its signals;
   POSIX_SPAWN_SETPGROUP: a process group of its own). Return 0 with
   *pid set, or posix_spawn(3)'s error number (ENOENT for a program not
   found). */
int proc_spawn(pid_t *pid, char *const argv[], const int *fds, int nfds,
               short flags, char *const env[]);

/* Write into out the path of the executable name in the directory of
   our own (the real path of /proc/self/exe), or relative to it, e.g.
   "node" or "../orchestrator". Return 0, or -1 with a message when it
   is not there or not executable. */
int proc_sibling_path(const char *name, char *out, size_t outlen, char *err,
                      size_t errlen);

#endif
