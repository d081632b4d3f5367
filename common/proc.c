/* proc.c - see proc.h. */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int proc_fix_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int got;
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free descriptor: fd itself, as the ones below
		   it are open by now. */
		got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (got < 0)
			return -1;
		if (got != fd) {
			dup2(got, fd);
			close(got);
		}
	}
	return 0;
}

/* Return the parent of pid from /proc/PID/stat, or -1. The name field may
   hold blanks and parentheses: the fields after it follow the last ')'. */
static pid_t parent_of(const char *pid)
{
	char path[64], text[512], *paren;
	ssize_t n;
	int fd, ppid;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	paren = strrchr(text, ')');
	if (!paren || sscanf(paren + 1, " %*c %d", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

/* Store into out (from n, up to max) the pids listed in the children
   file at path (one task's children, CONFIG_PROC_CHILDREN); return the
   new count, or -1 when the file cannot be read. */
static int read_children(const char *path, pid_t *out, unsigned n, unsigned max)
{
	FILE *f = fopen(path, "re");
	int pid;

	if (!f)
		return -1;
	while (n < max && fscanf(f, "%d", &pid) == 1)
		out[n++] = (pid_t)pid;
	fclose(f);
	return (int)n;
}

/* The children of our own process, from each thread's children file:
   cheap, but only where the kernel has CONFIG_PROC_CHILDREN. Return how
   many, or -1 when the files are not there. */
static int own_children(pid_t *out, unsigned max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[128];
	int n = 0;

	if (!d)
		return -1;
	while (n >= 0 && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path),
			         "/proc/self/task/%.32s/children", e->d_name);
			n = read_children(path, out, (unsigned)n, max);
		}
	closedir(d);
	return n;
}

unsigned proc_children(pid_t parent, pid_t *out, unsigned max)
{
	DIR *d;
	struct dirent *e;
	unsigned n = 0;
	int own;

	if (parent == getpid() && (own = own_children(out, max)) >= 0)
		return (unsigned)own;
	/* Else every process's parent, from /proc/PID/stat. */
	d = opendir("/proc");
	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		if (parent_of(e->d_name) == parent)
			out[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return n;
}

unsigned proc_session(pid_t sid, pid_t *out, unsigned max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		pid_t pid;
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid = (pid_t)atoi(e->d_name);
		if (getsid(pid) == sid)
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

void proc_name(pid_t pid, char *out, size_t outlen)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, out, outlen - 1);
		close(fd);
	}
	if (n <= 0) {
		snprintf(out, outlen, "?");
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

void proc_status_str(int status, char *out, size_t outlen)
{
	if (WIFEXITED(status))
		snprintf(out, outlen, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outlen, "killed by signal %d (%s)",
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, outlen, "ended (status 0x%x)", (unsigned)status);
}

int proc_raise_nofile(unsigned long need, char *err, size_t errlen)
{
	struct rlimit rl;

	/* A limit that cannot be read is left alone: running out of
	   descriptors is reported where it happens. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		/* Only a privileged process may raise the hard limit. */
		struct rlimit want = {need, need};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return 0;
		snprintf(err, errlen,
		         "need %lu open files but RLIMIT_NOFILE allows %lu "
		         "(hard limit); raise it (ulimit -Hn)",
		         need, (unsigned long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, errlen,
		         "need %lu open files but raising RLIMIT_NOFILE "
		         "failed (%s)",
		         need, strerror(errno));
		return -1;
	}
	return 0;
}

int proc_sibling_path(const char *name, char *out, size_t outlen, char *err,
                      size_t errlen)
{
	char self[PATH_MAX], path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0) {
		snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
		return -1;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if (snprintf(path, sizeof(path), "%s/%s", slash ? self : ".", name) >=
	        (int)sizeof(path) ||
	    snprintf(out, outlen, "%s", path) >= (int)outlen) {
		snprintf(err, errlen, "%s/%s: path too long", self, name);
		return -1;
	}
	if (access(out, X_OK) < 0) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

int proc_spawn(pid_t *pid, char *const argv[], const int *fds, int nfds,
               short flags, char *const env[])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int rc;

	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < nfds; i++)
		if (fds[i] < 0)
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null",
			                                 O_RDONLY, 0);
		else
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	posix_spawn_file_actions_addclosefrom_np(&fa, nfds);
	sigemptyset(&none);
	sigfillset(&dfl);
	sigdelset(&dfl, SIGKILL);
	sigdelset(&dfl, SIGSTOP);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, flags | POSIX_SPAWN_SETSIGMASK |
	                                    POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setpgroup(&attr, 0);
	rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

char **proc_child_environ(size_t extra, size_t *n)
{
	extern char **environ;
	size_t all = 0;
	char **env;

	while (environ[all])
		all++;
	env = calloc(all + extra + 1, sizeof(*env));
	if (!env)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < all; i++)
		if (strncmp(environ[i], "FANOUT_", 7) != 0 &&
		    strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0)
			env[(*n)++] = environ[i];
	return env;
}
