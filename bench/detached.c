/* detached.c - see detached.h. */
#include "detached.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "tools.h"

#define LINE     "x"  /* the line broadcast, as a person would type it */
#define OUT_READ 8192 /* bytes of a command's output searched */

void detached_init(struct detached *d, const struct bench *b,
                   struct children *ch, unsigned n)
{
	d->b = b;
	d->ch = ch;
	d->n = n;
	d->seq = 0;
}

/* After a failure of what: kill and reap every child, the daemon and its
   nodes too, show the fleet's log if fleet, and say what failed with how
   many nodes. Return -1. */
static int fail(struct detached *d, const char *what, bool fleet)
{
	children_kill_all(d->ch);
	if (fleet)
		children_show_log(d->b->dlog, "detached fleet's");
	log_msg("%s with %u nodes failed", what, d->n);
	return -1;
}

/* Store the start of the last command's output (b->log) into out, of
   OUT_READ bytes, NUL-terminated; return out. */
static const char *output(const struct bench *b, char *out)
{
	int fd = open(b->log, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd < 0 ? -1 : io_read(fd, out, OUT_READ - 1);

	if (fd >= 0)
		close(fd);
	out[r > 0 ? r : 0] = '\0';
	return out;
}

/* Return 0 if the last command's output, what's, holds want, else -1
   with a message and that output shown. */
static int check_says(const struct bench *b, const char *what, const char *want)
{
	char out[OUT_READ];

	if (strstr(output(b, out), want))
		return 0;
	children_show_log(b->log, what);
	log_msg("%s: its output does not say '%s'", what, want);
	return -1;
}

/* As check_says(), for broadcast seq acked by all n nodes. */
static int check_acked(const struct detached *d, const char *what,
                       unsigned long long seq)
{
	char want[64];

	snprintf(want, sizeof(want), "#%llu acked %u/%u ", seq, d->n, d->n);
	return check_says(d->b, what, want);
}

/* Return the pid the last command's output (--detach's) gives its
   daemon if it is a child of ours, else 0 with a message. */
static pid_t daemon_pid(const struct bench *b)
{
	static const char said[] = "detached (pid ";
	char out[OUT_READ];
	const char *p = strstr(output(b, out), said);
	pid_t pid = p ? (pid_t)strtol(p + sizeof(said) - 1, NULL, 10) : 0;
	pid_t ours[16];
	unsigned n = children_of(getpid(), ours, 16);

	for (unsigned i = 0; pid > 0 && i < n; i++)
		if (ours[i] == pid)
			return pid;
	children_show_log(b->log, "orchestrator --detach");
	log_msg("orchestrator --detach: no daemon of ours named in its "
	        "output");
	return 0;
}

int detached_start(struct detached *d)
{
	const struct bench *b = d->b;
	char nbuf[16], pbuf[16];
	const char *argv[] = {b->orch,  "-c",     b->conf, "--detach",
	                      "--name", b->fleet, "-n",    nbuf,
	                      "-p",     pbuf,     NULL};
	double ms;

	snprintf(nbuf, sizeof(nbuf), "%u", d->n);
	snprintf(pbuf, sizeof(pbuf), "%d", b->port);
	d->seq = 0;
	if (tools_run(b, d->ch, (char *const *)argv, -1,
	              "orchestrator --detach", &ms) < 0)
		return fail(d, "starting the detached fleet", true);
	d->ch->daemon = daemon_pid(b);
	if (d->ch->daemon == 0)
		return fail(d, "starting the detached fleet", true);
	return 0;
}

/* Return the read end of a pipe that holds the line LINE, then EOF, or
   -1 with a message. */
static int line_pipe(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_errno("pipe");
		return -1;
	}
	/* Far below the pipe's capacity: it does not block. */
	if (io_write_all(p[1], LINE "\n", sizeof(LINE)) < 0) {
		log_errno("pipe");
		close(p[0]);
		p[0] = -1;
	}
	close(p[1]);
	return p[0];
}

/* The plain run: the orchestrator started for one line; return 0 or -1
   (everything killed). */
static int plain(struct detached *d, double *ms)
{
	const struct bench *b = d->b;
	char nbuf[16], pbuf[16];
	const char *argv[] = {b->orch, "-c", b->conf, "-n",
	                      nbuf,    "-p", pbuf,    NULL};
	int in = line_pipe(), rc;

	if (in < 0)
		return fail(d, "the plain orchestrator", false);
	snprintf(nbuf, sizeof(nbuf), "%u", d->n);
	snprintf(pbuf, sizeof(pbuf), "%d", b->port + (int)d->n);
	rc = tools_run(b, d->ch, (char *const *)argv, in, "plain orchestrator",
	               ms);
	close(in);
	if (rc < 0 || check_acked(d, "plain orchestrator", 1) < 0)
		return fail(d, "the plain orchestrator", false);
	return 0;
}

int detached_rep(struct detached *d, double *fig)
{
	const struct bench *b = d->b;
	const char *argv[] = {b->orch, "send", b->fleet, LINE, NULL};

	if (tools_run(b, d->ch, (char *const *)argv, -1, "orchestrator send",
	              &fig[D_SEND]) < 0 ||
	    check_acked(d, "orchestrator send", ++d->seq) < 0)
		return fail(d, "orchestrator send", true);
	return plain(d, &fig[D_PLAIN]);
}

int detached_stop(struct detached *d)
{
	const struct bench *b = d->b;
	const char *argv[] = {b->orch, "stop", b->fleet, NULL};
	char want[64];
	double ms;

	snprintf(want, sizeof(want), " %llu broadcasts, %llu fully acked;",
	         d->seq, d->seq);
	if (tools_run(b, d->ch, (char *const *)argv, -1, "orchestrator stop",
	              &ms) < 0)
		return fail(d, "stopping the detached fleet", true);
	/* The daemon exits once its nodes are gone, and may be reaped by
	   any wait now: forgotten, it is still killed as a child of ours. */
	d->ch->daemon = 0;
	if (check_says(b, "orchestrator stop", want) < 0 ||
	    children_reap_none_left() < 0)
		return fail(d, "stopping the detached fleet", true);
	if (access(b->dsock, F_OK) == 0) {
		log_msg("the detached fleet left its socket %s", b->dsock);
		return fail(d, "stopping the detached fleet", true);
	}
	return 0;
}
