/* child.c - see child.h. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"

/* In the child: become what child_spawn() promises, then exec. Reports
   a failure as its errno on report (close-on-exec), then exits 127. */
static void __attribute__((noreturn))
become(char *const argv[], const int *fds, int nfds, int report, pid_t parent)
{
	int high[CHILD_MAX_FDS];
	sigset_t none;
	int err;

	if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		goto fail;
	if (getppid() != parent)
		_exit(127); /* the node is gone already: nobody to serve */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The node ignores SIGPIPE; what it runs must not inherit that. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	/* Above every target first, so no dup2 overwrites a source. */
	for (int i = 0; i < nfds; i++) {
		int src = fds[i] >= 0 ? fds[i] : open("/dev/null", O_RDONLY);
		high[i] = src < 0 ? -1 : fcntl(src, F_DUPFD, CHILD_MAX_FDS + 1);
		if (high[i] < 0)
			goto fail;
	}
	report = fcntl(report, F_DUPFD_CLOEXEC, CHILD_MAX_FDS + 1);
	for (int i = 0; i < nfds; i++)
		if (report < 0 || dup2(high[i], i) < 0)
			goto fail;
	/* The token, the readiness descriptor and the node's sockets must
	   never leak into what it runs: keep the targets and the report. */
	if (dup2(report, nfds) < 0 || fcntl(nfds, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	report = nfds;
	closefrom(nfds + 1);
	execvp(argv[0], argv);
fail:
	err = errno;
	(void)io_write(report, &err, sizeof(err));
	_exit(127);
}

pid_t child_spawn(char *const argv[], const int *fds, int nfds)
{
	int report[2], err;
	pid_t parent = getpid(), pid;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		become(argv, fds, nfds, report[1], parent);
	err = errno;
	close(report[1]);
	if (pid < 0) {
		close(report[0]);
		errno = err;
		return -1;
	}
	/* EOF: exec succeeded (the report closed on exec). This blocks only
	   for the few system calls between fork and exec. */
	n = io_read(report[0], &err, sizeof(err));
	close(report[0]);
	if (n == sizeof(err)) {
		(void)waitpid(pid, NULL, 0);
		errno = err;
		return -1;
	}
	return pid;
}

int child_pipe(int p[2], int ours)
{
	int err;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if (fd_set_nonblock(p[ours], true) == 0)
		return 0;
	err = errno;
	close(p[0]);
	close(p[1]);
	p[0] = p[1] = -1;
	errno = err;
	return -1;
}

int child_group_alive(pid_t pgid)
{
	return pgid > 0 && kill(-pgid, 0) == 0;
}
