/* hostd.c - see hostd.h. */
#include "hostd.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "child.h"
#include "clock.h"
#include "exitcode.h"
#include "hostproto.h"
#include "io.h"
#include "linebuf.h"
#include "log.h"
#include "loop.h"
#include "node_env.h"
#include "pidmap.h"
#include "proc.h"
#include "sigfd.h"

#define NODES_MAX    4096       /* indexes, as the protocol allows */
#define READ_CHUNK   4096       /* bytes read from a pipe at a time */
#define REAP_READS   16         /* reads of a reaped node's pipe, at most */
#define OUT_HIGH     (1u << 20) /* reports held: node output waits */
#define CHECK_MS     100        /* lingering groups looked at this often */
#define STRAYS_MAX   1024       /* strays seen at once, beyond the nodes */
#define KILL_WAIT_MS 1000       /* for what SIGKILL was sent to */
#define READY_FD     3

extern char **environ;

/* One node this host runs. */
struct hosted {
	unsigned index;
	pid_t pid;    /* of its process, 0 before the first start */
	bool running; /* that process is not reaped yet */
	pid_t pgid;   /* its group while a member may live, else 0 */
	int out_fd, ready_fd;
	struct watcher w_out, w_ready;
	struct buf text; /* output line being assembled */
};

struct hostd {
	struct loop loop;
	struct hosted *nodes[NODES_MAX];
	unsigned top;       /* indexes used are below it */
	unsigned lingering; /* reaped nodes whose group may live */
	struct linebuf in;
	struct watcher w_in, w_stdout, w_signal;
	struct buf out;     /* reports not yet written */
	bool hello;         /* the orchestrator's hello came */
	bool ending;        /* input ended or a signal: stop everything */
	bool out_gone;      /* nobody reads our reports any more */
	bool paused;        /* node output not read: reports pile up */
	bool strays_due;    /* a node ended: look for what it left */
	uint64_t check_ns;  /* when lingering groups are looked at next */
	struct pidmap pids; /* running nodes by process id */
	int status;
	char self[PATH_MAX]; /* this program's path: what each node runs */
};

static void flush_reports(struct hostd *h);

/* Queue a report; it is written as soon as standard output takes it. */
static void report(struct hostd *h, const struct hostmsg *m)
{
	if (h->out_gone)
		return;
	if (hostproto_append(&h->out, m) < 0)
		log_msg("out of memory: a report is lost");
	flush_reports(h);
}

static void report_node(struct hostd *h, enum hostmsg_type t, unsigned index)
{
	report(h, &(struct hostmsg){.type = t, .index = index});
}

/* Read (or, paused, stop reading) every node's output pipe. */
static void watch_outputs(struct hostd *h, bool on)
{
	for (unsigned i = 0; i < h->top; i++) {
		struct hosted *n = h->nodes[i];
		if (n && n->out_fd >= 0)
			loop_watch(&h->loop, &n->w_out, on ? EPOLLIN : 0);
	}
	h->paused = !on;
}

/* Write what reports we can; past OUT_HIGH held, node output waits (its
   lines are not dropped: the node blocks on its pipe meanwhile). */
static void flush_reports(struct hostd *h)
{
	while (buf_used(&h->out) > 0) {
		ssize_t r = io_write(STDOUT_FILENO, buf_head(&h->out),
		                     buf_used(&h->out));
		if (r < 0 && errno == EAGAIN)
			break;
		if (r < 0) {
			h->out_gone = true; /* the orchestrator is gone */
			h->ending = true;
			buf_consume(&h->out, buf_used(&h->out));
			break;
		}
		buf_consume(&h->out, (size_t)r);
	}
	loop_watch(&h->loop, &h->w_stdout,
	           buf_used(&h->out) > 0 && !h->out_gone ? EPOLLOUT : 0);
	if (!h->paused && buf_used(&h->out) > OUT_HIGH)
		watch_outputs(h, false);
	else if (h->paused && buf_used(&h->out) < OUT_HIGH / 2)
		watch_outputs(h, true);
}

static void on_stdout(struct watcher *w, uint32_t events)
{
	(void)events;
	flush_reports(w->arg);
}

static void relay_line(struct hostd *h, struct hosted *n, const void *s,
                       size_t len)
{
	report(h, &(struct hostmsg){.type = HOST_OUT,
	                            .index = n->index,
	                            .text = s,
	                            .textlen = len});
}

/* Read what node n printed and relay whole lines (a longer one in
   pieces). Return 1 after reading some, 0 when nothing is there now, -1
   at EOF or on an error (a last line without newline is relayed). */
static int read_output(struct hostd *h, struct hosted *n)
{
	struct buf *t = &n->text;
	uint8_t *nl;
	ssize_t r;

	if (buf_reserve(t, READ_CHUNK) < 0)
		return -1;
	r = io_read(n->out_fd, buf_tail(t), READ_CHUNK);
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r > 0)
		buf_commit(t, (size_t)r);
	while ((nl = memchr(buf_head(t), '\n', buf_used(t)))) {
		relay_line(h, n, buf_head(t), (size_t)(nl - buf_head(t)));
		buf_consume(t, (size_t)(nl - buf_head(t)) + 1);
	}
	while (buf_used(t) >= HOSTPROTO_TEXT_MAX ||
	       (r <= 0 && buf_used(t) > 0)) {
		size_t k = buf_used(t) < HOSTPROTO_TEXT_MAX
		               ? buf_used(t)
		               : HOSTPROTO_TEXT_MAX;
		relay_line(h, n, buf_head(t), k);
		buf_consume(t, k);
	}
	return r <= 0 ? -1 : 1;
}

static void on_output(struct watcher *w, uint32_t events)
{
	struct hostd *h = w->arg;
	struct hosted *n = loop_owner(w, struct hosted, w_out);

	(void)events;
	if (read_output(h, n) < 0)
		loop_close_watched(&h->loop, &n->w_out, &n->out_fd);
}

/* A byte on the readiness pipe: it listens. EOF without one: it is
   dying, and its exit will be reported. */
static void on_ready(struct watcher *w, uint32_t events)
{
	struct hostd *h = w->arg;
	struct hosted *n = loop_owner(w, struct hosted, w_ready);
	char c;
	ssize_t r = io_read(n->ready_fd, &c, 1);

	(void)events;
	if (r < 0 && errno == EAGAIN)
		return;
	if (r == 1)
		report_node(h, HOST_READY, n->index);
	loop_close_watched(&h->loop, &n->w_ready, &n->ready_fd);
}

/* Return node index's record, made on first use; NULL when out of
   memory. */
static struct hosted *hosted_at(struct hostd *h, unsigned index)
{
	struct hosted *n = h->nodes[index];

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->index = index;
	n->out_fd = n->ready_fd = -1;
	h->nodes[index] = n;
	if (index >= h->top)
		h->top = index + 1;
	return n;
}

/* Report that n could not be started, as its end: why, then exit. */
static void start_failed(struct hostd *h, struct hosted *n, const char *why)
{
	char line[256];

	snprintf(line, sizeof(line), "cannot start node: %s", why);
	relay_line(h, n, line, strlen(line));
	report(h, &(struct hostmsg){
	              .type = HOST_EXIT, .index = n->index, .code = 127});
	report_node(h, HOST_EMPTY, n->index);
}

/* Spawn n's process: this program, told where to listen. Return 0 or
   -1 with errno. */
static int spawn_node(struct hostd *h, struct hosted *n, const char *addr,
                      unsigned port)
{
	char sport[16], sindex[16];
	char *argv[] = {h->self, "--host",  (char *)addr, "--port",
	                sport,   "--index", sindex,       NULL};
	int out[2], ready[2], rc;
	pid_t pid;

	snprintf(sport, sizeof(sport), "%u", port);
	snprintf(sindex, sizeof(sindex), "%u", n->index);
	if (child_pipe(out, 0) < 0)
		return -1;
	if (child_pipe(ready, 0) < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	/* posix_spawn, not fork: a host of a thousand nodes starts them in
	   a fraction of the time (the node asks for its parent-death signal
	   itself). Standard input /dev/null, output and errors on the pipe,
	   readiness on descriptor 3, a process group of its own. */
	rc = proc_spawn(&pid, argv, (int[]){-1, out[1], out[1], ready[1]},
	                READY_FD + 1, POSIX_SPAWN_SETPGROUP, environ);
	close(out[1]);
	close(ready[1]);
	if (rc != 0) {
		close(out[0]);
		close(ready[0]);
		errno = rc;
		return -1;
	}
	if (pidmap_put(&h->pids, pid, n) < 0) {
		kill(pid, SIGKILL); /* unmapped, it could not be reaped */
		waitpid(pid, NULL, 0);
		close(out[0]);
		close(ready[0]);
		errno = ENOMEM;
		return -1;
	}
	n->pid = n->pgid = pid;
	n->running = true;
	n->out_fd = out[0];
	n->ready_fd = ready[0];
	buf_consume(&n->text, buf_used(&n->text));
	n->w_out = (struct watcher){.fd = out[0], .fn = on_output, .arg = h};
	n->w_ready = (struct watcher){.fd = ready[0], .fn = on_ready, .arg = h};
	loop_watch(&h->loop, &n->w_out, h->paused ? 0 : EPOLLIN);
	loop_watch(&h->loop, &n->w_ready, EPOLLIN);
	return 0;
}

/* The order to start node index at addr:port. What is left of its last
   start's group is killed first: a dead node's group is cleared before
   it starts again (SPEC §12). */
static void start_node(struct hostd *h, const struct hostmsg *m)
{
	struct hosted *n = hosted_at(h, m->index);

	if (!n) {
		log_msg("node %u: out of memory", m->index);
		return;
	}
	if (n->running) {
		log_msg("node %u: told to start, but it runs (pid %d)",
		        m->index, (int)n->pid);
		return;
	}
	if (n->pgid) {
		kill(-n->pgid, SIGKILL);
		n->pgid = 0;
		h->lingering--;
	}
	if (spawn_node(h, n, m->addr, m->port) < 0) {
		start_failed(h, n, strerror(errno));
		return;
	}
	report(h, &(struct hostmsg){
	              .type = HOST_STARTED, .index = n->index, .pid = n->pid});
}

/* Send sig to n's group, or to its process when the group is gone. */
static void signal_node(struct hosted *n, int sig)
{
	if (n->pgid && kill(-n->pgid, sig) == 0)
		return;
	if (n->running)
		kill(n->pid, sig);
}

/* Take one order; before the hello, only the hello. */
static void obey(struct hostd *h, const uint8_t *line, size_t len)
{
	struct hostmsg m;

	if (h->ending)
		return; /* a refused hello ends it: nothing after is obeyed */
	if (hostproto_parse((const char *)line, len, &m) < 0) {
		log_msg("not an order: '%.*s'", (int)(len < 80 ? len : 80),
		        (const char *)line);
		return;
	}
	if (!h->hello) {
		if (m.type != HOST_HELLO || !m.token[0]) {
			log_msg("the first order is not a hello");
			h->ending = true;
			h->status = EXIT_UNAVAILABLE;
		} else if (m.version != HOSTPROTO_VERSION) {
			char why[128];
			snprintf(why, sizeof(why),
			         "the orchestrator speaks fanout-host %u, "
			         "this node %u",
			         m.version, HOSTPROTO_VERSION);
			report(h, &(struct hostmsg){.type = HOST_ERROR,
			                            .text = why,
			                            .textlen = strlen(why)});
			log_msg("%s", why);
			h->ending = true;
			h->status = EXIT_UNAVAILABLE;
		} else if (setenv(ENV_TOKEN, m.token, 1) < 0) {
			log_errno("token");
			h->ending = true;
			h->status = EXIT_UNAVAILABLE;
		}
		explicit_bzero(m.token, sizeof(m.token));
		h->hello = true;
		return;
	}
	if (m.type == HOST_START)
		start_node(h, &m);
	else if (m.type == HOST_SIGNAL && m.index < h->top && h->nodes[m.index])
		signal_node(h->nodes[m.index], m.signo);
	else if (m.type != HOST_SIGNAL)
		log_msg("not an order: '%.*s'", (int)(len < 80 ? len : 80),
		        (const char *)line);
}

static void on_input(struct watcher *w, uint32_t events)
{
	struct hostd *h = w->arg;
	uint8_t *room = linebuf_room(&h->in, READ_CHUNK);
	const uint8_t *line;
	size_t len;
	ssize_t r;
	enum line_result lr;

	(void)events;
	if (!room)
		return;
	r = io_read(STDIN_FILENO, room, READ_CHUNK);
	if (r < 0 && errno == EAGAIN)
		return;
	if (r > 0)
		linebuf_commit(&h->in, (size_t)r);
	else
		h->in.eof = true;
	while ((lr = linebuf_next(&h->in, &line, &len)) != LINE_NONE)
		if (lr == LINE_OK)
			obey(h, line, len);
		else
			log_msg("an order longer than %d bytes: ignored",
			        HOSTPROTO_LINE_MAX);
	if (r <= 0) {
		loop_watch(&h->loop, &h->w_in, 0);
		h->ending = true;
	}
}

/* Kill every child of ours that is no node's process (what a dead node
   left, re-parented to us), with its group; return how many. */
static unsigned kill_strays(struct hostd *h)
{
	unsigned cap = h->pids.used + STRAYS_MAX, n, killed = 0;
	pid_t *kids = malloc(cap * sizeof(*kids));

	h->strays_due = false;
	if (!kids)
		return 0;
	n = proc_children(getpid(), kids, cap);
	for (unsigned i = 0; i < n; i++) {
		if (pidmap_get(&h->pids, kids[i]))
			continue;
		if (getpgid(kids[i]) == kids[i])
			kill(-kids[i], SIGKILL);
		kill(kids[i], SIGKILL);
		killed++;
	}
	free(kids);
	return killed;
}

/* Report node groups seen empty, and forget them. */
/* Report n's group empty, and forget it, if it is. */
static void check_group(struct hostd *h, struct hosted *n)
{
	if (n->running || !n->pgid || child_group_alive(n->pgid))
		return;
	n->pgid = 0;
	h->lingering--;
	report_node(h, HOST_EMPTY, n->index);
}

/* Every CHECK_MS: report the groups of reaped nodes seen empty (a
   member dying elsewhere tells us nothing). */
static void check_groups(struct hostd *h)
{
	if (h->lingering == 0 || clock_ns() < h->check_ns)
		return;
	h->check_ns = clock_ns() + MS_NS(CHECK_MS);
	for (unsigned i = 0; h->lingering > 0 && i < h->top; i++)
		if (h->nodes[i])
			check_group(h, h->nodes[i]);
}

/* n's process was reaped with status st: relay its last words, report
   its end, and kill what it left outside its group. */
static void node_ended(struct hostd *h, struct hosted *n, int st)
{
	for (int k = 0;
	     k < REAP_READS && n->out_fd >= 0 && read_output(h, n) > 0; k++)
		;
	if (buf_used(&n->text) > 0) {
		relay_line(h, n, buf_head(&n->text), buf_used(&n->text));
		buf_consume(&n->text, buf_used(&n->text));
	}
	loop_close_watched(&h->loop, &n->w_out, &n->out_fd);
	loop_close_watched(&h->loop, &n->w_ready, &n->ready_fd);
	n->running = false;
	h->lingering++;
	report(h,
	       &(struct hostmsg){.type = HOST_EXIT,
	                         .index = n->index,
	                         .signo = WIFSIGNALED(st) ? WTERMSIG(st) : 0,
	                         .code = WIFEXITED(st) ? WEXITSTATUS(st) : 0});
	/* What it left: looked for once this round, whatever else ends. */
	h->strays_due = true;
}

static void reap(struct hostd *h)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct hosted *n = pidmap_get(&h->pids, pid);
		if (n) {
			pidmap_del(&h->pids, pid);
			node_ended(h, n, st);
			check_group(h,
			            n); /* mostly empty now, with its leader */
		}
	}
}

static void on_signal(struct watcher *w, uint32_t events)
{
	struct hostd *h = w->arg;
	struct signalfd_siginfo si;

	(void)events;
	while (io_read(w->fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGCHLD) {
			reap(h);
		} else if (!h->ending) {
			/* Said first: the nodes' ends that follow are the
			   host's, not theirs (a reboot, an admin's kill). */
			char why[64];
			snprintf(why, sizeof(why), "stopping: signal %d (%s)",
			         (int)si.ssi_signo,
			         strsignal((int)si.ssi_signo));
			report(h, &(struct hostmsg){.type = HOST_ERROR,
			                            .text = why,
			                            .textlen = strlen(why)});
			h->ending = true;
		}
}

/* Send sig to every node that has a group or a process. */
static void signal_all(struct hostd *h, int sig)
{
	for (unsigned i = 0; i < h->top; i++) {
		struct hosted *n = h->nodes[i];
		if (n && (n->running || n->pgid))
			signal_node(n, sig);
	}
}

/* Return whether a node's process or group may still live. */
static bool any_alive(const struct hostd *h)
{
	return h->pids.used > 0 || h->lingering > 0;
}

/* Run the loop until nothing of the nodes is left, or the deadline. */
static void wait_nodes(struct hostd *h, uint64_t deadline_ns)
{
	while (any_alive(h) && clock_ns() < deadline_ns) {
		int ms = clock_ms_until(deadline_ns);
		loop_run_once(&h->loop, ms < CHECK_MS ? ms : CHECK_MS);
		check_groups(h);
	}
}

/* Stop every node in order, then whatever is left of anything. */
static void stop_all(struct hostd *h)
{
	uint64_t deadline = clock_ns() + MS_NS(KILL_WAIT_MS);

	signal_all(h, SIGTERM);
	signal_all(h, SIGCONT);
	wait_nodes(h, clock_ns() + MS_NS(HOSTD_GRACE_MS));
	signal_all(h, SIGKILL);
	wait_nodes(h, deadline);
	while (kill_strays(h) > 0 && clock_ns() < deadline) {
		loop_run_once(&h->loop, 10);
		reap(h);
	}
	/* The last reports, if anyone reads them, within a bound: a reader
	   that stalls does not keep us. */
	deadline = clock_ns() + MS_NS(KILL_WAIT_MS);
	while (buf_used(&h->out) > 0 && !h->out_gone && clock_ns() < deadline) {
		struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
		if (poll(&p, 1, clock_ms_until(deadline)) <= 0)
			break;
		flush_reports(h);
	}
}

/* Each node costs two descriptors while it starts, one after; an ssh
   session's soft limit is often 1024: raise it as far as we may (the
   hard limit), quietly. Each node that cannot start says why. */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t need = 2 * NODES_MAX + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need
	                  ? need
	                  : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* Everything before the first order: subreaper, signals, descriptors,
   the loop. Return 0 or -1 having said why. */
static int prepare(struct hostd *h)
{
	static const int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};
	ssize_t n;
	int sfd;

	h->in.max = HOSTPROTO_LINE_MAX;
	/* Its path, not /proc/self/exe: what ps shows of each node. */
	n = readlink("/proc/self/exe", h->self, sizeof(h->self) - 1);
	if (n < 0) {
		log_errno("host mode: /proc/self/exe");
		return -1;
	}
	h->self[n] = '\0';
	raise_nofile();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || loop_init(&h->loop) < 0 ||
	    (sfd = sigfd_open(sigs, 4)) < 0 ||
	    fd_set_nonblock(STDIN_FILENO, true) < 0 ||
	    fd_set_nonblock(STDOUT_FILENO, true) < 0 ||
	    setenv(ENV_READY_FD, "3", 1) < 0) {
		log_errno("host mode set-up");
		return -1;
	}
	h->w_signal = (struct watcher){.fd = sfd, .fn = on_signal, .arg = h};
	h->w_in =
	    (struct watcher){.fd = STDIN_FILENO, .fn = on_input, .arg = h};
	h->w_stdout =
	    (struct watcher){.fd = STDOUT_FILENO, .fn = on_stdout, .arg = h};
	if (loop_watch(&h->loop, &h->w_signal, EPOLLIN) < 0 ||
	    loop_watch(&h->loop, &h->w_in, EPOLLIN) < 0) {
		log_errno("host mode: epoll");
		return -1;
	}
	return 0;
}

static void release(struct hostd *h)
{
	for (unsigned i = 0; i < h->top; i++)
		if (h->nodes[i]) {
			buf_free(&h->nodes[i]->text);
			free(h->nodes[i]);
		}
	linebuf_free(&h->in);
	buf_free(&h->out);
	pidmap_free(&h->pids);
	close(h->w_signal.fd);
	loop_close(&h->loop);
}

int hostd_main(void)
{
	static struct hostd h; /* large: kept off the stack */

	if (isatty(STDIN_FILENO)) {
		log_msg("host mode takes its orders on standard input from "
		        "orchestrator ([cluster] launcher), not from a "
		        "terminal");
		return EXIT_USAGE;
	}
	if (prepare(&h) < 0)
		return EXIT_UNAVAILABLE;
	/* First the version, so a stranger is named by both sides. */
	report(&h, &(struct hostmsg){.type = HOST_HELLO,
	                             .version = HOSTPROTO_VERSION,
	                             .pid = (int)getpid()});
	while (!h.ending) {
		if (loop_run_once(&h.loop, h.lingering ? CHECK_MS : -1) < 0) {
			log_errno("epoll");
			break;
		}
		check_groups(&h);
		if (h.strays_due)
			kill_strays(&h);
	}
	stop_all(&h);
	release(&h);
	return h.status;
}
