/* tools.c - see tools.h. */
#include "tools.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "proc.h"

const char *const tool_name[NTOOLS] = {[T_PDSH] = "pdsh", [T_CLUSH] = "clush"};

/* Store into out the first executable regular file name in the
   directories of PATH (its usual value when unset); "" when none. */
static void find_on_path(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *d = path, *end; *d; d = *end ? end + 1 : end) {
		end = strchrnul(d, ':');
		/* An empty entry is the current directory, as for execvp. */
		snprintf(out, outlen, "%.*s%s%s", (int)(end - d), d,
		         end > d ? "/" : "", name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return;
	}
	out[0] = '\0';
}

void tools_find(struct bench *b)
{
	for (int t = 0; t < NTOOLS; t++)
		find_on_path(tool_name[t], b->tool[t], sizeof(b->tool[t]));
}

/* Fork argv with standard input in, its output and error to logfd,
   storing the time just before the fork in *t0; return 0 or -1. */
static int spawn_timed(const struct bench *b, struct children *ch,
                       char *const argv[], int in, int logfd, uint64_t *t0)
{
	*t0 = clock_ns();
	ch->orch = children_spawn(b, argv, in, logfd, logfd);
	if (ch->orch < 0) {
		ch->orch = 0;
		return -1;
	}
	return 0;
}

/* Reap what, started at t0; store its wall time in *ms. Return 0, or -1
   with a message unless it exited 0 in time. */
static int reap_timed(struct children *ch, const char *what, uint64_t t0,
                      double *ms)
{
	int st;

	if (children_reap(&ch->orch, &st, 1) < 0)
		return -1;
	*ms = clock_ms_since(t0);
	if (st != 0) {
		char how[64];

		proc_status_str(st, how, sizeof(how));
		log_msg("%s %s", what, how);
		return -1;
	}
	return 0;
}

int tools_run(const struct bench *b, struct children *ch, char *const argv[],
              int in, const char *what, double *ms)
{
	int null = -1, logfd, rc = -1;
	uint64_t t0;

	if (in < 0) {
		in = null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0) {
			log_errno("/dev/null");
			return -1;
		}
	}
	logfd = open(b->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		log_errno("%s", b->log);
	else
		rc = spawn_timed(b, ch, argv, in, logfd, &t0);
	if (logfd >= 0)
		close(logfd);
	if (null >= 0)
		close(null);
	if (rc == 0)
		rc = reap_timed(ch, what, t0, ms);
	if (rc < 0) {
		children_kill_all(ch);
		children_show_log(b->log, what);
	}
	return rc;
}

int tool_time(const struct bench *b, struct children *ch, enum tool t,
              unsigned n, double *ms)
{
	char fanout[16], hosts[32];
	const char *argv[] = {b->tool[t], "-R",  "exec", "-f", fanout,
	                      "-w",       hosts, "true", NULL};

	snprintf(fanout, sizeof(fanout), "%u", n);
	if (n == 1)
		snprintf(hosts, sizeof(hosts), "n0");
	else
		snprintf(hosts, sizeof(hosts), "n[0-%u]", n - 1);
	if (tools_run(b, ch, (char *const *)argv, -1, tool_name[t], ms) < 0) {
		log_msg("%s for %u hosts failed", tool_name[t], n);
		return -1;
	}
	return 0;
}
