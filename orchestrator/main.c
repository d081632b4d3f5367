/*
 * orchestrator - start a fleet of nodes and broadcast to them.
 *
 * Theory of operation: the owners, and how data flows between them.
 * Each module owns a struct of its own state; each depends only on those
 * below it in this list (tests/include_order.py keeps it so):
 *
 *   main        the phases: start-up, console, teardown; signals
 *   client      the subcommands (attach, send, ...): a process of their
 *               own that starts no fleet, only talks to a detached one
 *   supervisor  restarts, reloads, scaling of the running fleet
 *   input       standard input (a pipe, a file, a terminal) into lines
 *   console     what a line means: a broadcast or a built-in command
 *   links       the connections: broadcasts out, acks in, BYE, reports
 *   fleet       the node processes: spawn, output, reap, process groups
 *   out         the one writer of reports, events, node output, errors
 *   node.h      the node record: one part per owner, each one writer
 *   settings    the command line and the configuration
 *   sink, loop, connector, term, outcome  mechanisms that know no node
 *
 * main.c alone holds them together (struct app). Data flows: start-up
 * (fleet spawns; readiness arrives through the loop; connector's threads
 * connect and hand sockets to links), then each round of the console:
 * input -> console -> links (broadcast) ... links (acks) -> out (reports)
 * -> sinks -> the user; fleet -> out for node output; supervisor acts on
 * fleet and links when nodes die or the file changes; everyone records
 * failures in outcome, which gives the exit status. Teardown last.
 *
 * Spawn: node i is started with posix_spawn in a process group of its
 * own, its output on a pipe read a line at a time, a readiness pipe as
 * its descriptor 3 and the run's random token in its environment.
 *
 * Readiness and signals: a node writes one byte on descriptor 3 once it
 * listens. Signals are blocked and read from a signalfd the loop
 * watches, so no work happens in a signal handler.
 *
 * Connect: a pool of pthreads connects to every node with exponential
 * backoff until [connect] timeout_ms, sends HELLO with the token and
 * waits for WELCOME. The last connection to finish signals a condition
 * variable; the main thread sleeps on it in short slices, turning the
 * loop between them so a dying node or a Ctrl-C is seen.
 *
 * Broadcast: each input line is queued to every connected node's socket
 * buffer and flushed without waiting on any one node. Acks are matched by
 * sequence number (inflight.h), checked for length and checksum, and
 * each broadcast is reported in order when every ack is in or its
 * deadline passes, so a stopped node delays only itself.
 *
 * Teardown: stop reading input, wait for broadcasts in flight (not after
 * a signal), send BYE, SIGTERM (and SIGCONT, for stopped nodes) to each
 * node's process group, alive leader or not, and to the strays (what
 * nodes left, re-parented to us as a child subreaper); wait [node]
 * stop_timeout_ms while reaping, SIGKILL the rest and say who needed it.
 * A second Ctrl-C cuts the wait short.
 *
 * Output: stdout and stderr are sinks (sink.h) the loop never blocks on:
 * a stalled reader costs node output (dropped, counted, said), never the
 * fleet, and past a bound it pauses input rather than losing reports.
 *
 * Why these mechanisms, together: own process groups keep a terminal's
 * Ctrl-C (sent to the whole foreground group) from killing nodes behind
 * our back, so teardown stays ordered and exits 130; and they let us
 * signal whatever a wrapper command started. Reaping on SIGCHLD through
 * the signalfd notices a crash at once, with its status, with no zombie
 * and no handler race. Nodes ask for SIGKILL at our death
 * (PR_SET_PDEATHSIG) and exit on EOF of their connection, so a SIGKILLed
 * orchestrator leaves nothing behind, even a stopped node.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "clock.h"
#include "connector.h"
#include "console.h"
#include "consoles.h"
#include "daemon.h"
#include "exitcode.h"
#include "fleet.h"
#include "fleetdir.h"
#include "format.h"
#include "input.h"
#include "io.h"
#include "links.h"
#include "log.h"
#include "loop.h"
#include "out.h"
#include "outcome.h"
#include "proc.h"
#include "service.h"
#include "settings.h"
#include "sigfd.h"
#include "supervisor.h"
#include "term.h"
#include "token.h"
#include "watch.h"

#define CONNECT_THREADS  16
#define KILL_WAIT_MS     2000
#define CONNECT_SLICE_MS 10 /* how long the pool wait sleeps between turns */
#define POLL_MS                                                                \
	20             /* how often teardown looks at what it cannot           \
	                  hear die */
#define STRAYS_MAX 256 /* strays handled at once */
#define STRAY_SCAN_MS                                                          \
	100                 /* how often teardown looks for strays while       \
	                       nodes live */
#define LIST_MAX         10 /* nodes named in one teardown message */
#define LOG_ROTATE_BYTES (8 << 20) /* a detached fleet's log moved aside */
#define LOG_CHECK_MS     100       /* how often its size is looked at */

enum phase { PHASE_STARTING, PHASE_RUNNING, PHASE_STOPPING };

struct app {
	struct settings settings;
	struct loop loop;
	struct out out;
	struct outcome outcome;
	struct fleet fleet;
	struct links links;
	struct console console;
	struct input input;
	struct supervisor supervisor;
	struct watch watch;
	struct consoles consoles; /* the control socket (SPEC §11) */
	struct daemon daemon;     /* --detach */
	char log_path[PATH_MAX];  /* a detached fleet's */
	uint64_t log_check_ns;    /* when its size is looked at next */
	struct watcher w_signal;
	uint8_t token[PROTO_TOKEN_LEN];
	enum phase phase;
	bool console_ran;            /* start-up succeeded and input was read */
	bool reload_pending;         /* SIGHUP: read the file again */
	bool reload_unconfirmed;     /* told RELOADING=1, not READY=1 yet */
	struct node *failed;         /* the node that broke start-up */
	pid_t signalled[STRAYS_MAX]; /* strays sent the teardown's signal */
	unsigned nsignalled;
	uint64_t t0_ns; /* start of the run */
};

/* A node was reaped: its connection goes; start-up fails, or the
   supervisor decides. */
static void on_node_exit(void *arg, struct node *nd)
{
	struct app *a = arg;

	links_node_gone(&a->links, nd);
	if (a->phase == PHASE_STARTING) {
		if (!a->failed)
			a->failed = nd;
	} else if (a->phase == PHASE_RUNNING) {
		supervisor_node_exit(&a->supervisor, nd);
	}
}

static void on_signal(struct watcher *w, uint32_t events)
{
	struct app *a = w->arg;
	struct signalfd_siginfo si;

	(void)events;
	while (io_read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD: fleet_reap(&a->fleet); break;
		case SIGINT:
		case SIGTERM:
			outcome_signal(
			    &a->outcome, (int)si.ssi_signo,
			    si.ssi_code == SI_KERNEL ? 0 : (int)si.ssi_pid,
			    (int)getppid(), clock_ns());
			break;
		case SIGHUP: a->reload_pending = true; break; /* once running */
		}
	}
}

/* Take signals through a signalfd the loop watches; return 0 or -1. */
static int setup_signals(struct app *a)
{
	static const int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};
	int fd = sigfd_open(sigs, 4);

	if (fd < 0)
		return -1;
	a->w_signal = (struct watcher){.fd = fd, .fn = on_signal, .arg = a};
	return loop_watch(&a->loop, &a->w_signal, EPOLLIN);
}

/* Whether start-up must stop waiting: a node died, or a signal. */
static bool start_broken(const struct app *a)
{
	return a->failed || a->outcome.stop == STOP_SIGNAL;
}

/* Spawn every node and wait until each listens. Return 0 or an exit
   status. */
static int spawn_all(struct app *a, uint64_t deadline)
{
	struct fleet *f = &a->fleet;
	char err[512];
	unsigned bad;

	char name[128];

	if (fleet_spawn_all(f, &bad, err, sizeof(err)) < 0) {
		format_node_name(f->nodes[bad], name, sizeof(name));
		log_msg("%s could not start: %s", name, err);
		return EXIT_UNAVAILABLE;
	}
	while (f->nready < f->n && !start_broken(a) && clock_ns() < deadline) {
		out_progress(&a->out, "started", f->nready, f->n);
		out_flush(&a->out); /* what nodes say while they start */
		loop_run_once(&a->loop, clock_ms_until(deadline));
	}
	if (start_broken(a))
		return 0;
	/* The hosts, not their nodes, are what did not answer. */
	if (fleet_say_silent_hosts(f, a->settings.cfg.connect_timeout_ms))
		return EXIT_UNAVAILABLE;
	for (unsigned i = 0; i < f->n; i++)
		if (f->nodes[i]->state != NODE_READY) {
			format_node_name(f->nodes[i], name, sizeof(name));
			log_msg("%s did not become ready within %u ms "
			        "([connect] timeout_ms)",
			        name, a->settings.cfg.connect_timeout_ms);
			return EXIT_UNAVAILABLE;
		}
	return 0;
}

/* Resolve each node's address into a connect job; return 0, or -1 with
   a message in err. */
static int make_jobs(struct app *a, struct connect_job *jobs, char *err,
                     size_t errlen)
{
	for (unsigned i = 0; i < a->fleet.n; i++) {
		jobs[i].index = i;
		if (links_node_addr(&a->links, a->fleet.nodes[i], &jobs[i].addr,
		                    err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Hand the pool's connections to links; report those that failed. */
static int adopt_connections(struct app *a, struct connect_job *jobs)
{
	int status = 0;

	for (unsigned i = 0; i < a->fleet.n; i++) {
		struct node *nd = a->fleet.nodes[i];
		int fd = jobs[i].fd;
		/* A node that died meanwhile is not revived by its socket. */
		if (fd >= 0 && (start_broken(a) || nd->state != NODE_READY)) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0 && links_attach(&a->links, nd, fd) == 0)
			continue;
		if (fd >= 0)
			log_errno("node %u: adopting its connection", i);
		else if (!start_broken(a) || jobs[i].refused)
			out_node(&a->out, nd,
			         "could not be connected within %u ms: %s",
			         a->settings.cfg.connect_timeout_ms,
			         jobs[i].err);
		status = EXIT_UNAVAILABLE;
	}
	return status;
}

/* Connect to every node from the pool. Return 0 or an exit status. */
static int connect_all(struct app *a, uint64_t deadline)
{
	const struct config *cfg = &a->settings.cfg;
	struct connect_job *jobs = calloc(a->fleet.n, sizeof(*jobs));
	struct connector c;
	unsigned up = 0;
	int status = EXIT_UNAVAILABLE;
	char err[256];

	if (!jobs) {
		log_errno("connect jobs");
		return status;
	}
	if (links_resolve_hosts(&a->links, err, sizeof(err)) < 0 ||
	    make_jobs(a, jobs, err, sizeof(err)) < 0) {
		log_msg("%s", err);
		goto out;
	}
	if (connector_start(&c, jobs, a->fleet.n, a->token, deadline,
	                    cfg->retry_initial_ms, cfg->retry_max_ms,
	                    CONNECT_THREADS, -1) < 0) {
		log_errno("connect threads");
		goto out;
	}
	while (!connector_wait(&c, clock_ns() + MS_NS(CONNECT_SLICE_MS), &up) &&
	       !start_broken(a)) {
		out_progress(&a->out, "connected", up, a->fleet.n);
		out_flush(&a->out);
		loop_run_once(&a->loop, 0);
	}
	connector_finish(&c);
	status = adopt_connections(a, jobs);
out:
	free(jobs);
	return status;
}

/* Start the fleet: spawn, readiness, connections. Return 0 when every
   node is connected, else the exit status start-up ended with. */
static int start_fleet(struct app *a)
{
	uint64_t deadline =
	    a->t0_ns + MS_NS(a->settings.cfg.connect_timeout_ms);
	int status;

	if (fleet_add(&a->fleet, a->settings.cfg.num_clients) < 0) {
		log_errno("nodes");
		return EXIT_UNAVAILABLE;
	}
	status = spawn_all(a, deadline);
	if (status == 0 && !start_broken(a))
		status = connect_all(a, deadline);
	out_progress_done(&a->out);
	if (a->failed) {
		out_last_words(&a->out, a->failed, true);
		return EXIT_UNAVAILABLE;
	}
	if (a->outcome.stop == STOP_SIGNAL)
		return outcome_signal_status(&a->outcome);
	if (status == 0)
		out_ready(&a->out, a->fleet.n, a->fleet.n,
		          clock_ms_since(a->t0_ns));
	return status;
}

/* Return the nearest of timeouts a and b (ms, -1 for none). */
static int nearest(int a, int b)
{
	if (a < 0)
		return b;
	return b < 0 || a < b ? a : b;
}

/* Whether the console is finished: a stop was asked for and nothing it
   waits for is in flight (or the stop was a signal or an error). */
static bool console_done(const struct app *a)
{
	enum stop_reason s = a->outcome.stop;

	return s != STOP_NONE &&
	       (s == STOP_SIGNAL || s == STOP_ERROR || links_idle(&a->links));
}

/* Whether a reload is due now: a /reload line (it was read before any
   end of input that follows it), unless a signal or an error stops the
   run; or a SIGHUP, while no stop is under way. */
static bool reload_due(struct app *a)
{
	bool line = console_take_reload(&a->console);
	enum stop_reason stop = a->outcome.stop;

	if (stop == STOP_SIGNAL || stop == STOP_ERROR)
		return false;
	return line || (a->reload_pending && stop == STOP_NONE);
}

/* Watch the configuration file for saved edits (SPEC §11) as the
   configuration in force says (a reload may change it), unless told not
   to, or it is no file (a pipe is read once). Not being able to is said,
   and the fleet runs on. */
static void sync_watch(struct app *a)
{
	const char *path = a->settings.cli.config_path;
	bool want = a->settings.cfg.watch && !a->settings.cli.no_watch;
	struct stat st;
	char err[PATH_MAX + 128];

	if (!want || watch_on(&a->watch)) {
		if (!want)
			watch_stop(&a->watch);
		return;
	}
	if (stat(path, &st) == 0 ? !S_ISREG(st.st_mode) : errno != ENOENT)
		return;
	if (watch_start(&a->watch, &a->loop, path, err, sizeof(err)) < 0)
		log_msg("%s; edits of %s are not applied by themselves", err,
		        path);
}

static void keep_log_bounded(struct app *a);

/* Apply the file again (supervisor_reload()), told to a service
   manager around it: ready again once it is read, which a change of
   size under way puts off (confirm_reload()). */
static void reload(struct app *a, bool edited)
{
	service_reloading();
	supervisor_reload(&a->supervisor, edited);
	a->reload_unconfirmed = true;
}

/* A reload told to the service manager is done: say so. */
static void confirm_reload(struct app *a)
{
	if (!a->reload_unconfirmed || a->supervisor.reload_deferred)
		return;
	a->reload_unconfirmed = false;
	service_reloaded(a->settings.cfg.num_clients,
	                 a->supervisor.reload_failed);
}

/* Run the console until it is done. */
static void run_console(struct app *a)
{
	a->phase = PHASE_RUNNING;
	fleet_started(&a->fleet);
	a->console_ran = true;
	sync_watch(a);
	consoles_serve(&a->consoles, &a->loop, &a->console, &a->links,
	               &a->fleet, &a->out, &a->outcome);
	/* A daemon's consoles come through its socket; its stdin is
	   /dev/null, whose end is no reason to stop. */
	if (!a->settings.cli.detach && !a->settings.cli.service &&
	    input_start(&a->input, &a->loop, &a->console, &a->links,
	                &a->outcome, &a->settings.cfg, &a->out) < 0) {
		log_errno("standard input");
		outcome_stop(&a->outcome, STOP_ERROR);
	}
	while (!console_done(a)) {
		links_report_done(&a->links);
		input_tick(&a->input);
		consoles_tick(&a->consoles);
		keep_log_bounded(a);
		/* A /reload read before end of input is done, in order; a
		   SIGHUP only while the console runs. */
		if (reload_due(a)) {
			a->reload_pending = false;
			reload(a, false);
			sync_watch(a);
			input_tick(
			    &a->input); /* the lines that waited for it */
		}
		if (watch_due(&a->watch, clock_ns())) {
			reload(a, true);
			sync_watch(a);
		}
		supervisor_tick(&a->supervisor);
		confirm_reload(a);
		if (console_done(a))
			break;
		/* The prompt goes back below this round's output, and
		   both are written before the loop waits. */
		term_show();
		out_flush(&a->out);
		if (out_stdout_gone(&a->out) &&
		    !outcome_stopping(&a->outcome)) {
			log_msg("standard output: its reader went away; "
			        "stopping");
			outcome_stop(&a->outcome, STOP_ERROR);
			continue;
		}
		if (loop_run_once(
		        &a->loop,
		        nearest(nearest(links_timeout(&a->links),
		                        input_timeout(&a->input)),
		                nearest(supervisor_timeout(&a->supervisor),
		                        watch_timeout(&a->watch)))) < 0) {
			log_errno("epoll");
			outcome_stop(&a->outcome, STOP_ERROR);
		}
	}
	input_stop(&a->input);
	watch_stop(&a->watch);
	links_report_all(&a->links);
}

/* Say which nodes outlived SIGKILL by KILL_WAIT_MS. */
static void say_left_behind(struct app *a)
{
	unsigned named = 0;

	for (unsigned i = 0; i < a->fleet.nalloc; i++)
		if (fleet_node_heard(&a->fleet, a->fleet.nodes[i]) &&
		    named++ < LIST_MAX)
			out_node(
			    &a->out, a->fleet.nodes[i],
			    "did not exit %u ms after SIGKILL; left behind",
			    KILL_WAIT_MS);
	if (named > LIST_MAX)
		out_text(&a->out, "... and %u more nodes left behind",
		         named - LIST_MAX);
}

/* Signal the strays (processes nodes started that were re-parented to
   us, even from a session of their own) that have not had sig yet, each
   with its group when it leads one; with why, say so for each. Return
   how many strays there are. */
static unsigned signal_strays(struct app *a, int sig, const char *why)
{
	pid_t p[STRAYS_MAX];
	unsigned n = fleet_strays(&a->fleet, p, STRAYS_MAX);

	for (unsigned i = 0; i < n; i++) {
		bool done = false;
		for (unsigned k = 0; k < a->nsignalled && !done; k++)
			done = a->signalled[k] == p[i];
		if (done)
			continue;
		if (why) {
			char name[64];
			proc_name(p[i], name, sizeof(name));
			out_text(&a->out, "process %d (%s), left by a node, %s",
			         (int)p[i], name, why);
		}
		if (getpgid(p[i]) != p[i] || kill(-p[i], sig) < 0)
			kill(p[i], sig);
		if (sig != SIGCONT && a->nsignalled < STRAYS_MAX)
			a->signalled[a->nsignalled++] = p[i];
	}
	return n;
}

/* Wait until nothing of the fleet is left (nodes, their groups, strays)
   or the deadline, or, with interrupts >= 0, a new Ctrl-C; strays that
   appear meanwhile get sig too. */
static void wait_gone(struct app *a, uint64_t deadline, int interrupts, int sig)
{
	uint64_t next_scan = clock_ns() + MS_NS(STRAY_SCAN_MS);

	while (clock_ns() < deadline &&
	       (interrupts < 0 || a->outcome.interrupts == interrupts)) {
		int ms = clock_ms_until(deadline);
		unsigned alive = fleet_alive(&a->fleet);
		/* Strays are looked for (a scan of /proc) once the nodes
		   are gone, and meanwhile now and then for those that were
		   there from the start. */
		if (alive == 0 || clock_ns() >= next_scan) {
			next_scan = clock_ns() + MS_NS(STRAY_SCAN_MS);
			alive += signal_strays(a, sig, NULL);
		}
		if (alive == 0)
			return;
		/* Group members and strays that are not our children die
		   unheard: look again every POLL_MS. */
		out_flush(&a->out);
		loop_run_once(&a->loop, ms < POLL_MS ? ms : POLL_MS);
	}
}

/* Say which nodes needed SIGKILL (their leader, or what they left in
   their group), naming at most LIST_MAX; grace_ms is how long SIGTERM
   had. */
static void say_killed(struct app *a, unsigned grace_ms)
{
	unsigned named = 0, more = 0;

	for (unsigned i = 0; i < a->fleet.nalloc; i++) {
		struct node *nd = a->fleet.nodes[i];
		if (!fleet_node_heard(&a->fleet, nd))
			continue;
		if (named++ >= LIST_MAX)
			more++;
		else
			out_sigkill(&a->out, nd, grace_ms);
	}
	if (more)
		out_text(&a->out, "... and %u more nodes sent SIGKILL", more);
}

/* Stop every node: BYE, SIGTERM, grace, SIGKILL, reap; the same for the
   process group of each node, whether or not its leader lives, and for
   every stray (SPEC §5, §12). */
static void teardown(struct app *a)
{
	unsigned grace_ms = a->settings.cfg.stop_timeout_ms;
	uint64_t t0 = clock_ns(), deadline = t0 + MS_NS(grace_ms);
	char why[96];

	a->phase = PHASE_STOPPING;
	service_stopping(grace_ms + KILL_WAIT_MS);
	input_stop(&a->input);
	supervisor_stop(&a->supervisor);
	links_bye_all(&a->links);
	fleet_stopping(&a->fleet);
	fleet_signal(&a->fleet, SIGTERM);
	fleet_signal(&a->fleet, SIGCONT); /* a stopped node must run to
	                                     handle it */
	wait_gone(a, deadline, a->outcome.interrupts, SIGTERM);
	if (fleet_alive(&a->fleet) == 0 && signal_strays(a, SIGTERM, NULL) == 0)
		return;
	grace_ms = (unsigned)clock_ms_since(t0);
	say_killed(a, grace_ms);
	fleet_signal(&a->fleet, SIGKILL);
	snprintf(why, sizeof(why),
	         "still ran %u ms after SIGTERM; sending "
	         "SIGKILL",
	         grace_ms);
	a->nsignalled = 0;
	signal_strays(a, SIGKILL, why);
	/* SIGKILL cannot be refused, but a process in uninterruptible
	   sleep takes its time: wait a bounded while, then say so. */
	wait_gone(a, clock_ns() + MS_NS(KILL_WAIT_MS), -1, SIGKILL);
	say_left_behind(a);
}

/* Return whether path is a directory we may create files in; errno
   says why not. */
static bool writable_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return false;
	}
	return access(path, W_OK | X_OK) == 0;
}

/* Parse the command line and configuration; exit on help or errors. */
static bool interrupted(void *arg);

/* Every fleet has a control socket (SPEC §11): bound before anything of
   the fleet exists, so a name in use is refused at once (69). A
   foreground fleet runs on without one when the place for it cannot be
   used; a detached one cannot: nothing could reach it. With --detach,
   fork now: the nodes are to be the daemon's children. */
static void listen_and_detach(struct app *a)
{
	const struct cli *c = &a->settings.cli;
	char err[512];

	if (consoles_listen(&a->consoles, c->name, err, sizeof(err)) < 0) {
		log_msg("%s", err);
		out_flush(&a->out); /* said before we go */
		if (c->detach || c->service || strstr(err, "runs already"))
			exit(EXIT_UNAVAILABLE);
	}
	if (c->detach && daemon_detach(&a->daemon, c->name) < 0) {
		log_errno("--detach");
		out_flush(&a->out);
		exit(EXIT_UNAVAILABLE);
	}
}

/* Move a log over LOG_ROTATE_BYTES aside (one old log is kept). */
static void rotate_log(const char *path)
{
	char old[PATH_MAX + 4];
	struct stat st;

	if (stat(path, &st) == 0 && st.st_size > LOG_ROTATE_BYTES) {
		snprintf(old, sizeof(old), "%s.1", path);
		rename(path, old);
	}
}

/* The fleet is ready and detaches (SPEC §11): its output moves to its
   log, and the starting terminal is told. Return 0, or -1 having said
   why. */
static int go_daemon(struct app *a)
{
	char err[PATH_MAX + 64];
	int fd;

	if (fleetdir_log(a->settings.cli.name, a->log_path, sizeof(a->log_path),
	                 err, sizeof(err)) < 0) {
		log_msg("%s", err);
		return -1;
	}
	rotate_log(a->log_path);
	fd = open(a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_errno("%s", a->log_path);
		return -1;
	}
	out_close(&a->out, true, a->w_signal.fd, interrupted, a);
	if (daemon_ready(&a->daemon, fd) < 0 ||
	    out_init(&a->out, false, false, false) < 0) {
		close(fd);
		return -1; /* nowhere left to say it */
	}
	close(fd);
	a->out.stamp = true;
	out_watch(&a->out, &a->loop);
	log_msg("fleet '%s' detached: pid %d, %u nodes, socket %s",
	        a->settings.cli.name, (int)getpid(), a->fleet.n,
	        a->consoles.path);
	return 0;
}

/* A detached fleet's log past LOG_ROTATE_BYTES is moved aside (one old
   log kept) and a new one begun: the log is bounded at twice that.
   Looked at every LOG_CHECK_MS. */
static void keep_log_bounded(struct app *a)
{
	struct stat st;
	out_tap_fn tap = a->out.tap;
	void *tap_arg = a->out.tap_arg;
	int fd;

	if (!a->settings.cli.detach || clock_ns() < a->log_check_ns)
		return;
	a->log_check_ns = clock_ns() + MS_NS(LOG_CHECK_MS);
	if (fstat(STDOUT_FILENO, &st) < 0 || st.st_size <= LOG_ROTATE_BYTES)
		return;
	rotate_log(a->log_path);
	fd = open(a->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return; /* the old one goes on */
	out_close(&a->out, true, a->w_signal.fd, interrupted, a);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	if (out_init(&a->out, false, false, false) == 0) {
		a->out.stamp = true;
		out_watch(&a->out, &a->loop);
		out_tap(&a->out, tap, tap_arg);
	}
}

static void configure(struct app *a, int argc, char **argv)
{
	struct settings *s = &a->settings;
	char err[1024];
	bool missing;

	if (cli_parse(&s->cli, argc, argv, err, sizeof(err)) < 0) {
		log_msg("%s", err);
		exit(EXIT_USAGE);
	}
	if (s->cli.help) {
		fputs(cli_usage, stdout);
		exit(EXIT_OK);
	}
	if (s->cli.version) {
		printf("orchestrator (fanout) %s\n", FANOUT_VERSION);
		exit(EXIT_OK);
	}
	/* A subcommand talks to a running fleet: nothing of ours is set
	   up, not even the configuration read. */
	if (s->cli.command != CLI_RUN)
		exit(client_run(&s->cli));
	service_init(s->cli.service);
	if (s->cli.log_dir && !writable_dir(s->cli.log_dir)) {
		log_errno("--log-dir %s: not a directory we can write to",
		          s->cli.log_dir);
		exit(EXIT_USAGE);
	}
	int rc = settings_read(&s->cli, &s->cfg, &missing, err, sizeof(err));

	if (missing) /* said first: an override's error may follow */
		log_msg("%s not found; using built-in defaults",
		        s->cli.config_path);
	if (rc < 0) {
		log_msg("%s", err);
		exit(EXIT_CONFIG);
	}
	if (out_init(&a->out, s->cli.json, s->cli.lines, s->cli.quiet) < 0) {
		log_errno("output");
		exit(EXIT_UNAVAILABLE);
	}
	listen_and_detach(a);
}

/* Everything start-up needs before the first node, the owners wired
   together. Return 0, or the exit status after saying what failed. */
static int prepare(struct app *a)
{
	const struct config *cfg = &a->settings.cfg;
	char err[512];

	/* Links first: teardown uses it whatever fails after. Then, as a
	   child subreaper, whatever a node starts and leaves, even in a
	   session of its own, is re-parented to us: reaped here, and
	   stopped with the fleet (SPEC §12). */
	if (links_init(&a->links, &a->loop, &a->fleet, cfg, &a->out,
	               &a->outcome) < 0 ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 || loop_init(&a->loop) < 0 ||
	    setup_signals(a) < 0) {
		log_errno("setup");
		return EXIT_UNAVAILABLE;
	}
	out_watch(&a->out, &a->loop);
	if (links_setup(&a->links, err, sizeof(err)) < 0) {
		log_msg("[node] handler_command: %s", err);
		return EXIT_CONFIG;
	}
	if (fleet_raise_nofile(cfg->num_clients, err, sizeof(err)) < 0) {
		log_msg("%s", err);
		return EXIT_UNAVAILABLE;
	}
	if (token_generate(a->token) < 0) {
		log_errno("getrandom");
		return EXIT_UNAVAILABLE;
	}
	if (fleet_init(&a->fleet, &a->loop, &a->out, cfg,
	               a->settings.cli.log_dir, a->token, on_node_exit, a, err,
	               sizeof(err)) < 0) {
		log_msg("%s", err);
		return EXIT_UNAVAILABLE;
	}
	console_init(&a->console, &a->links, &a->fleet, &a->out, &a->outcome,
	             cfg);
	supervisor_init(&a->supervisor, &a->loop, &a->fleet, &a->links, &a->out,
	                &a->outcome, &a->settings, a->token);
	/* Watched from now on: an edit saved while the fleet starts (ssh
	   takes its time) is applied once it runs, not missed. */
	sync_watch(a);
	return 0;
}

/* out_close()'s question while it waits for slow readers at exit: was
   it a SIGINT or SIGTERM that woke it? Other signals are taken and let
   pass (a child's exit is reaped). */
static bool interrupted(void *arg)
{
	struct app *a = arg;
	struct signalfd_siginfo si;

	while (io_read(a->w_signal.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			return true;
		if (si.ssi_signo == SIGCHLD)
			fleet_reap(&a->fleet);
	}
	return false;
}

/* Release everything, in the reverse order of prepare(). */
static void release(struct app *a)
{
	input_free(&a->input);
	links_free(&a->links);
	fleet_free(&a->fleet);
	if (a->w_signal.fd >= 0)
		close(a->w_signal.fd);
	loop_close(&a->loop);
	explicit_bzero(a->token, sizeof(a->token));
}

int main(int argc, char **argv)
{
	static struct app a; /* large: kept off the stack */
	const char *reason = "error";
	uint64_t t_stop;
	int status;

	if (proc_fix_stdio() < 0)
		return EXIT_UNAVAILABLE; /* no /dev/null: nowhere to say it */
	/* A reader that goes away is an EPIPE to handle, not a death; a
	   background job that reads its terminal gets EIO, not a stop
	   that a pending SIGTERM could not end (input.h). */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	a.t0_ns = clock_ns();
	a.w_signal.fd = -1;
	a.loop.epfd = -1;
	watch_init(&a.watch);
	log_init("orchestrator");
	configure(&a, argc, argv);
	status = prepare(&a);
	if (status == 0) {
		service_starting(a.settings.cfg.connect_timeout_ms);
		status = start_fleet(&a);
	}
	if (status == 0 && a.settings.cli.detach && go_daemon(&a) < 0)
		status = EXIT_UNAVAILABLE;
	if (status == 0)
		service_ready(a.fleet.n);
	if (status == 0) {
		run_console(&a);
		status = outcome_status(&a.outcome, &reason);
	} else if (a.outcome.stop == STOP_SIGNAL) {
		reason = "signal";
	}
	t_stop = clock_ns();
	teardown(&a);
	out_shutdown(&a.out, a.console_ran, a.outcome.sent, a.outcome.clean,
	             a.outcome.replies, reason, status, clock_ms_since(t_stop));
	consoles_finish(&a.consoles, status);
	out_close(&a.out, a.outcome.stop != STOP_SIGNAL, a.w_signal.fd,
	          interrupted, &a);
	release(&a);
	return status;
}
