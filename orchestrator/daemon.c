/* daemon.c - see daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exitcode.h"
#include "fleetdir.h"
#include "io.h"
#include "log.h"

static volatile pid_t daemon_pid; /* for the waiting process's handler */

/* In the waiting process: pass a stop on to the daemon starting. */
static void pass_on(int sig)
{
	if (daemon_pid > 0)
		kill(daemon_pid, sig);
}

/* In the first process: wait for the daemon's word on fd, exit with
   start-up's status. */
__attribute__((noreturn)) static void wait_for_daemon(pid_t pid, int fd,
                                                      const char *name)
{
	struct sigaction sa = {.sa_handler = pass_on};
	char ok;
	ssize_t r;
	int st;

	daemon_pid = pid;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A terminal that hangs up ends the wait, not the fleet. */
	signal(SIGHUP, SIG_IGN);
	while ((r = read(fd, &ok, 1)) < 0 && errno == EINTR)
		;
	if (r == 1) {
		bool named = strcmp(name, FLEETDIR_DEFAULT) != 0;
		printf("fleet '%s' detached (pid %d); attach with: "
		       "orchestrator attach%s%s\n",
		       name, (int)pid, named ? " " : "", named ? name : "");
		exit(EXIT_OK);
	}
	/* No word: start-up failed, and said why on our terminal. */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int daemon_detach(struct daemon *d, const char *name)
{
	int p[2];
	pid_t pid;

	d->ready_fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		wait_for_daemon(pid, p[0], name);
	}
	close(p[0]);
	d->ready_fd = p[1];
	if (setsid() < 0)
		log_errno("setsid");
	return 0;
}

int daemon_ready(struct daemon *d, int log_fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(log_fd, STDOUT_FILENO) < 0 ||
	    dup2(log_fd, STDERR_FILENO) < 0) {
		if (null >= 0)
			close(null);
		return -1;
	}
	close(null);
	/* Nobody waiting any more (it was killed) is no reason to stop:
	   the fleet is ready all the same. */
	if (d->ready_fd >= 0 && io_write_all(d->ready_fd, "R", 1) < 0)
		log_errno("telling the starting terminal");
	close(d->ready_fd);
	d->ready_fd = -1;
	return 0;
}
