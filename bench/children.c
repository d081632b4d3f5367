/* children.c - see children.h. */
#include "children.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "log.h"

#define LOG_PART 1024 /* bytes shown of each end of a long log */

unsigned children_of(pid_t pid, pid_t *out, unsigned max)
{
	char path[64], text[8192];
	unsigned n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children",
		         (int)pid, de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t r = io_read(fd, text, sizeof(text) - 1);
		close(fd);
		text[r > 0 ? r : 0] = '\0';
		for (char *p = text, *end; n < max; p = end) {
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			out[n++] = (pid_t)v;
		}
	}
	closedir(d);
	return n;
}

long children_status_kb(pid_t pid, const char *key)
{
	char path[64], text[4096];
	size_t klen = strlen(key);
	int fd;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = io_read(fd, text, sizeof(text) - 1);
	close(fd);
	text[r > 0 ? r : 0] = '\0';
	for (char *p = text; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (strncmp(p, key, klen) == 0 && p[klen] == ':')
			return strtol(p + klen + 1, NULL, 10);
	}
	return -1;
}

int children_setup_child(const sigset_t *mask, pid_t parent)
{
	static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		log_errno("prctl");
		return -1;
	}
	return getppid() == parent ? 0 : -1;
}

pid_t children_spawn(const struct bench *b, char *const argv[], int in, int out,
                     int err)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0) {
		log_errno("fork");
		return -1;
	}
	if (pid > 0)
		return pid;
	if (children_setup_child(&b->oldmask, parent) < 0)
		_exit(127);
	/* The log first, so that what fails next is told there. */
	if (dup2(err, 2) < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
	    chdir(b->dir) < 0) {
		log_errno("%s's descriptors", argv[0]);
		_exit(127);
	}
	execv(argv[0], argv);
	log_errno("exec %s", argv[0]);
	_exit(127);
}

/* Copy len bytes of fd from offset off to standard error; return 0 or -1. */
static int copy_out(int fd, off_t off, size_t len)
{
	char text[LOG_PART];
	ssize_t r =
	    pread(fd, text, len < sizeof(text) ? len : sizeof(text), off);

	if (r <= 0)
		return -1;
	(void)!write(STDERR_FILENO, text, (size_t)r);
	return 0;
}

void children_show_log(const char *path, const char *whose)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t end;

	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > 0)
		log_msg("the %s standard error said:", whose);
	if (end <= 2 * LOG_PART) {
		copy_out(fd, 0, (size_t)end);
	} else {
		copy_out(fd, 0, LOG_PART);
		dprintf(STDERR_FILENO, "\n[... %lld bytes ...]\n",
		        (long long)end - 2 * LOG_PART);
		copy_out(fd, end - LOG_PART, LOG_PART);
	}
	close(fd);
}

/* Wait for a SIGCHLD (blocked, so it waits for us) until deadline; return
   0, or -1 once the deadline has passed. */
static int wait_chld(uint64_t deadline)
{
	int ms = clock_ms_until(deadline);
	sigset_t chld;

	if (ms == 0)
		return -1;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	sigtimedwait(&chld, NULL, &ts);
	return 0;
}

int children_reap(pid_t *p, int *st, unsigned n)
{
	uint64_t deadline = clock_ns() + MS_NS(TIMEOUT_MS);
	unsigned left = 0, hint = 0;

	for (unsigned i = 0; i < n; i++)
		left += p[i] > 0;
	while (left > 0) {
		int s;
		pid_t w = waitpid(-1, &s, WNOHANG);

		if (w > 0) {
			/* Children mostly go in the order they came. */
			for (unsigned k = 0; k < n; k++, hint = (hint + 1) % n)
				if (p[hint] == w) {
					p[hint] = 0;
					st[hint] = s;
					left--;
					break;
				}
			continue;
		}
		if (w < 0 && errno != EINTR) {
			log_errno("waitpid (%u children left)", left);
			return -1;
		}
		if (w == 0 && wait_chld(deadline) < 0) {
			log_msg("%u children still running after %d s", left,
			        TIMEOUT_MS / 1000);
			return -1;
		}
	}
	return 0;
}

/* Reap every child until none is left (0) or deadline passes (-1). */
static int reap_until_none(uint64_t deadline)
{
	for (;;) {
		pid_t w = waitpid(-1, NULL, WNOHANG);

		if (w < 0 && errno != EINTR)
			return 0; /* ECHILD: none left */
		if (w == 0 && wait_chld(deadline) < 0)
			return -1;
	}
}

int children_reap_none_left(void)
{
	pid_t left = 0;

	if (reap_until_none(clock_ns() + MS_NS(TIMEOUT_MS)) == 0)
		return 0;
	children_of(getpid(), &left, 1);
	log_msg("processes still running after %d s (pid %d...)",
	        TIMEOUT_MS / 1000, (int)left);
	return -1;
}

/* Kill *p, when there is one, and the children it has, and clear *p. */
static void kill_tree(pid_t *p)
{
	pid_t pids[MAX_N];
	unsigned n;

	if (*p <= 0)
		return;
	n = children_of(*p, pids, MAX_N);
	kill(*p, SIGKILL);
	for (unsigned i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	*p = 0;
}

void children_kill_all(struct children *c)
{
	pid_t pids[MAX_N];
	unsigned n;

	/* As a subreaper we reap their nodes in their place. */
	kill_tree(&c->orch);
	kill_tree(&c->daemon);
	n = children_of(getpid(), pids, MAX_N);
	for (unsigned i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	c->nkids = 0;
	if (reap_until_none(clock_ns() + MS_NS(TIMEOUT_MS)) < 0)
		log_msg("some children could not be reaped in %d s",
		        TIMEOUT_MS / 1000);
}

void children_kill_now(const struct children *c)
{
	if (c->orch > 0)
		kill(c->orch, SIGKILL);
	if (c->daemon > 0)
		kill(c->daemon, SIGKILL);
	for (unsigned i = 0; i < c->nkids; i++)
		if (c->kid[i] > 0)
			kill(c->kid[i], SIGKILL);
}

bool children_orphans_left(void)
{
	pid_t pids[8];
	unsigned n = children_of(getpid(), pids, 8);

	if (n > 0)
		log_msg("the orchestrator exited leaving %s%u processes behind "
		        "(pid %d...)",
		        n == 8 ? "at least " : "", n, (int)pids[0]);
	return n > 0;
}
