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

/* Fork tool t for n hosts, its output to logfd, storing the time just
   before the fork in *t0; return 0 or -1. */
static int tool_spawn(const struct bench *b, struct children *ch, enum tool t,
                      unsigned n, int logfd, uint64_t *t0)
{
	char fanout[16], hosts[32];
	const char *argv[] = {b->tool[t], "-R",  "exec", "-f", fanout,
	                      "-w",       hosts, "true", NULL};
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0) {
		log_errno("/dev/null");
		return -1;
	}
	snprintf(fanout, sizeof(fanout), "%u", n);
	if (n == 1)
		snprintf(hosts, sizeof(hosts), "n0");
	else
		snprintf(hosts, sizeof(hosts), "n[0-%u]", n - 1);
	*t0 = clock_ns();
	ch->orch = children_spawn(b, (char *const *)argv, null, logfd, logfd);
	close(null);
	if (ch->orch < 0) {
		ch->orch = 0;
		return -1;
	}
	return 0;
}

/* Reap tool t, started at t0; store its wall time in *ms. Return 0, or -1
   with a message unless it exited 0 in time. */
static int tool_reap(struct children *ch, enum tool t, uint64_t t0, double *ms)
{
	int st;

	if (children_reap(&ch->orch, &st, 1) < 0)
		return -1;
	*ms = clock_ms_since(t0);
	if (st != 0) {
		char how[64];

		proc_status_str(st, how, sizeof(how));
		log_msg("%s %s", tool_name[t], how);
		return -1;
	}
	return 0;
}

int tool_time(const struct bench *b, struct children *ch, enum tool t,
              unsigned n, double *ms)
{
	uint64_t t0;
	int logfd, rc;

	logfd = open(b->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		log_errno("%s", b->log);
		return -1;
	}
	rc = tool_spawn(b, ch, t, n, logfd, &t0);
	close(logfd);
	if (rc == 0)
		rc = tool_reap(ch, t, t0, ms);
	if (rc < 0) {
		children_kill_all(ch);
		children_show_log(b->log, tool_name[t]);
		log_msg("%s for %u hosts failed", tool_name[t], n);
	}
	return rc;
}
