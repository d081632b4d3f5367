/*
 * child.h - start what a handler runs: a process in a process group of
 * its own, which dies with the node and inherits nothing of it but the
 * descriptors it is given and the environment (SPEC §9, §12).
 */
#ifndef FANOUT_NODE_CHILD_H
#define FANOUT_NODE_CHILD_H

#include <sys/types.h>

#define CHILD_MAX_FDS 5 /* stdin, stdout, stderr, and two more (shell) */

/* Start argv (argv[0] searched in PATH unless it holds a '/') with
   descriptor i of the child being fds[i] for i < nfds (fds[0] == -1:
   /dev/null), every other descriptor closed, signal mask and dispositions
   reset, PR_SET_PDEATHSIG SIGKILL, and its pid as its process group id.
   Returns once the program runs: the pid, or -1 with errno set, from
   fork(2) or pipe(2), or the child's execvp(2) error (ENOENT for a
   command that is not found; the child is reaped then). */
pid_t child_spawn(char *const argv[], const int *fds, int nfds);

/* Make a close-on-exec pipe for talking to a child: end ours (0 or 1)
   non-blocking for the node's poll loop, the child's end blocking as
   programs expect. Return 0, or -1 with errno (nothing left open, p[]
   -1). */
int child_pipe(int p[2], int ours);

/* Return whether process group pgid still has a member (kill(-pgid, 0)),
   zombies included until reaped. */
int child_group_alive(pid_t pgid);

#endif
