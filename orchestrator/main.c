/*
 * orchestrator - start a fleet of nodes and broadcast to them.
 *
 * Theory of operation.
 *
 * Spawn: node i is started with posix_spawn in a process group of its
 * own, its output on a pipe we read a line at a time, a readiness pipe as
 * its descriptor 3 and the run's random token in its environment.
 *
 * Readiness: a node writes one byte on descriptor 3 once it listens. One
 * epoll loop (loop.c) waits for those bytes, the nodes' output, and
 * signals, which are blocked and read from a signalfd, so no work happens
 * in a signal handler.
 *
 * Connect: a pool of pthreads (connector.c) connects to every node with
 * exponential backoff until [connect] timeout_ms, sends HELLO with the
 * token and waits for WELCOME. The last connection to finish signals a
 * condition variable; the main thread sleeps on it in short slices,
 * turning the loop between them so a dying node or a Ctrl-C is seen.
 *
 * Broadcast: each stdin line is queued to every connected node's socket
 * buffer and flushed without waiting on any one node (console.c). Acks
 * are matched by sequence number (inflight.c), checked for length and
 * checksum, and each broadcast is reported in order when every ack is in
 * or its deadline passes, so a stopped node delays only itself.
 *
 * Supervise: nodes that die are restarted (restart = on-failure), and a
 * reload resizes the fleet, all from the loop (supervise.c): new nodes
 * are connected by a pool whose eventfd wakes the loop.
 *
 * Teardown: stop reading input, wait for broadcasts in flight (not after
 * a signal), send BYE, SIGTERM (and SIGCONT, for stopped nodes) to each
 * node's process group, wait [node] stop_timeout_ms while reaping, SIGKILL
 * the rest. A second Ctrl-C cuts the wait short.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "connector.h"
#include "console.h"
#include "fleet.h"
#include "io.h"
#include "log.h"
#include "orch.h"
#include "reload.h"
#include "report.h"
#include "sigfd.h"
#include "supervise.h"
#include "term.h"

#define EXIT_USAGE        64
#define CONNECT_THREADS   16
#define KILL_WAIT_MS      2000
#define CONNECT_SLICE_MS  10
#define PROGRESS_MIN      100 /* nodes worth a live start-up count */
#define PROGRESS_EVERY_MS 50  /* how long the pool wait sleeps between turns */

static double ms_since(uint64_t t0)
{
	return (double)(clock_ns() - t0) / 1e6;
}

static void on_node_exit(struct orch *o, struct node *nd)
{
	if (o->phase == PHASE_STARTING) {
		if (!o->failed)
			o->failed = nd;
	} else if (o->phase != PHASE_STOPPING) {
		supervise_node_exit(o, nd);
	}
}

static void on_signal(struct watcher *w, uint32_t events)
{
	struct orch *o = w->arg;
	struct signalfd_siginfo si;

	(void)events;
	while (io_read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD: fleet_reap(o, on_node_exit); break;
		case SIGINT:
		case SIGTERM:
			o->interrupts++;
			if (o->stop != STOP_SIGNAL) {
				o->stop = STOP_SIGNAL;
				o->stop_signal = (int)si.ssi_signo;
			}
			break;
		case SIGHUP:
			o->reload_pending = true; /* once the console runs */
			break;
		}
	}
}

/* Take signals through a signalfd the loop watches. */
static int setup_signals(struct orch *o)
{
	static const int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};
	int fd = sigfd_open(sigs, 4);

	if (fd < 0)
		return -1;
	o->w_signal = (struct watcher){.fd = fd, .fn = on_signal, .arg = o};
	return loop_watch(&o->loop, &o->w_signal, EPOLLIN);
}

/* On a terminal, a live count while a large fleet starts; the ready
   line (or an error) replaces it. */
static void progress(struct orch *o, const char *what, unsigned k)
{
	uint64_t now = clock_ns();

	if (o->n < PROGRESS_MIN || o->cli.quiet || !isatty(fileno(o->human)) ||
	    now - o->progress_ns < MS_NS(PROGRESS_EVERY_MS))
		return;
	o->progress_ns = now;
	fprintf(o->human, "\r%s %u/%u\033[K", what, k, o->n);
	fflush(o->human);
}

/* Erase the progress line, if one was drawn. */
static void progress_done(struct orch *o)
{
	if (o->progress_ns == 0)
		return;
	fputs("\r\033[K", o->human);
	fflush(o->human);
	o->progress_ns = 0;
}

/* Whether start-up must stop waiting: a node died, or a signal. */
static bool start_broken(const struct orch *o)
{
	return o->failed || o->stop == STOP_SIGNAL;
}

/* Spawn every node and wait until each listens. Return 0 or an exit
   status. */
static int spawn_all(struct orch *o, uint64_t deadline)
{
	char err[512];
	unsigned bad;

	if (fleet_spawn_all(o, &bad, err, sizeof(err)) < 0) {
		char name[128];
		report_node_name(o->nodes[bad], name, sizeof(name));
		log_msg("%s could not start: %s", name, err);
		return EXIT_UNAVAILABLE;
	}
	while (o->nready < o->n && !start_broken(o) && clock_ns() < deadline) {
		progress(o, "started", o->nready);
		loop_run_once(&o->loop, clock_ms_until(deadline));
	}
	if (start_broken(o))
		return 0;
	for (unsigned i = 0; i < o->n; i++)
		if (o->nodes[i]->state != NODE_READY) {
			char name[128];
			report_node_name(o->nodes[i], name, sizeof(name));
			log_msg("%s did not become ready within %u ms "
			        "([connect] timeout_ms)",
			        name, o->cfg.connect_timeout_ms);
			return EXIT_UNAVAILABLE;
		}
	return 0;
}

/* Resolve each node's address into a connect job. */
static int make_jobs(struct orch *o, struct connect_job *jobs)
{
	char err[256];

	for (unsigned i = 0; i < o->n; i++) {
		jobs[i].index = i;
		if (fleet_node_addr(o, o->nodes[i], &jobs[i].addr, err,
		                    sizeof(err)) < 0) {
			log_msg("%s", err);
			return -1;
		}
	}
	return 0;
}

/* Hand the pool's connections to the console; report those that failed. */
static int adopt_connections(struct orch *o, struct connect_job *jobs)
{
	int status = 0;

	for (unsigned i = 0; i < o->n; i++) {
		struct node *nd = o->nodes[i];
		int fd = jobs[i].fd;
		/* A node that died meanwhile is not revived by its socket. */
		if (fd >= 0 && (start_broken(o) || nd->state != NODE_READY)) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0 && console_attach(o, nd, fd) == 0)
			continue;
		if (fd >= 0)
			log_errno("node %u: adopting its connection", i);
		else if (!start_broken(o) || jobs[i].refused)
			report_node(o, nd,
			            "could not be connected within %u ms: "
			            "%s",
			            o->cfg.connect_timeout_ms, jobs[i].err);
		status = EXIT_UNAVAILABLE;
	}
	return status;
}

/* Connect to every node from the pool. Return 0 or an exit status. */
static int connect_all(struct orch *o, uint64_t deadline)
{
	struct connect_job *jobs = calloc(o->n, sizeof(*jobs));
	struct connector c;
	unsigned up = 0;
	int status = EXIT_UNAVAILABLE;

	if (!jobs || make_jobs(o, jobs) < 0)
		goto out;
	if (connector_start(&c, jobs, o->n, o->token, deadline,
	                    o->cfg.retry_initial_ms, o->cfg.retry_max_ms,
	                    CONNECT_THREADS, -1) < 0) {
		log_errno("connect threads");
		goto out;
	}
	while (!connector_wait(&c, clock_ns() + MS_NS(CONNECT_SLICE_MS), &up) &&
	       !start_broken(o)) {
		progress(o, "connected", up);
		loop_run_once(&o->loop, 0);
	}
	connector_finish(&c);
	status = adopt_connections(o, jobs);
out:
	free(jobs);
	return status;
}

/* Start the fleet: spawn, readiness, connections. Return 0 when every
   node is connected, else the exit status start-up ended with. */
static int start_fleet(struct orch *o)
{
	uint64_t deadline = o->t0_ns + MS_NS(o->cfg.connect_timeout_ms);
	int status;

	if (fleet_add(o, o->cfg.num_clients) < 0) {
		log_errno("nodes");
		return EXIT_UNAVAILABLE;
	}
	status = spawn_all(o, deadline);
	if (status == 0 && !start_broken(o))
		status = connect_all(o, deadline);
	progress_done(o);
	if (o->failed) {
		report_last_words(o, o->failed, true);
		return EXIT_UNAVAILABLE;
	}
	if (o->stop == STOP_SIGNAL)
		return o->stop_signal == SIGINT ? EXIT_SIGINT : EXIT_SIGTERM;
	if (status == 0)
		report_ready(o, o->n, ms_since(o->t0_ns));
	return status;
}

/* Return the loop timeout: the nearest of the console's and the
   supervisor's deadlines. */
static int loop_timeout(const struct orch *o)
{
	int a = console_timeout(o), b = supervise_timeout(o);

	if (a < 0)
		return b;
	return b < 0 || a < b ? a : b;
}

/* Run the console until it is done. */
static void run_console(struct orch *o)
{
	o->phase = PHASE_RUNNING;
	o->console_ran = true;
	if (console_start(o) < 0) {
		log_errno("standard input");
		o->stop = STOP_ERROR;
	}
	term_start(o);
	while (!console_done(o)) {
		console_tick(o);
		if (o->reload_pending && o->stop == STOP_NONE) {
			o->reload_pending = false;
			reload(o);
		}
		supervise_tick(o);
		if (console_done(o))
			break;
		report_flush(o);
		term_show();
		if (loop_run_once(&o->loop, loop_timeout(o)) < 0) {
			log_errno("epoll");
			o->stop = STOP_ERROR;
		}
	}
	term_stop();
	console_flush_reports(o);
}

/* Stop every node: BYE, SIGTERM, grace, SIGKILL, reap. */
static void teardown(struct orch *o)
{
	uint64_t deadline = clock_ns() + MS_NS(o->cfg.stop_timeout_ms);
	int interrupts = o->interrupts;

	o->phase = PHASE_STOPPING;
	loop_watch(&o->loop, &o->w_stdin, 0); /* input is over */
	supervise_stop(o);
	console_bye(o);
	fleet_signal(o, SIGTERM);
	fleet_signal(o, SIGCONT); /* a stopped node must run to handle it */
	while (fleet_alive(o) > 0 && clock_ns() < deadline &&
	       o->interrupts == interrupts)
		loop_run_once(&o->loop, clock_ms_until(deadline));
	if (fleet_signal(o, SIGKILL) == 0)
		return;
	/* SIGKILL cannot be refused, but a process in uninterruptible
	   sleep takes its time: wait a bounded while, then say so. */
	deadline = clock_ns() + MS_NS(KILL_WAIT_MS);
	while (fleet_alive(o) > 0 && clock_ns() < deadline)
		loop_run_once(&o->loop, clock_ms_until(deadline));
	for (unsigned i = 0; i < o->nalloc; i++)
		if (o->nodes[i]->running)
			report_node(o, o->nodes[i],
			            "did not exit %u ms after "
			            "SIGKILL; left behind",
			            KILL_WAIT_MS);
}

/* The exit status and reason of a run that got past start-up. */
static int final_status(const struct orch *o, const char **reason)
{
	static const char *const reasons[] = {"eof", "eof", "exit", "signal",
	                                      "error"};

	*reason = reasons[o->stop];
	if (o->stop == STOP_SIGNAL)
		return o->stop_signal == SIGINT ? EXIT_SIGINT : EXIT_SIGTERM;
	return o->incomplete || o->stop == STOP_ERROR ? EXIT_INCOMPLETE
	                                              : EXIT_OK;
}

/* Parse the command line and configuration; exit on help or errors. */
static void configure(struct orch *o, int argc, char **argv)
{
	char err[1024];

	if (cli_parse(&o->cli, argc, argv, err, sizeof(err)) < 0) {
		log_msg("%s", err);
		exit(EXIT_USAGE);
	}
	if (o->cli.help) {
		fputs(cli_usage, stdout);
		exit(EXIT_OK);
	}
	if (o->cli.version) {
		printf("orchestrator (fanout) %s\n", FANOUT_VERSION);
		exit(EXIT_OK);
	}
	if (settings_read(&o->cli, &o->cfg, true, err, sizeof(err)) < 0) {
		log_msg("%s", err);
		exit(EXIT_CONFIG);
	}
	o->human = o->cli.json ? stderr : stdout;
	/* Colour for a person at a terminal, never into a file or pipe,
	   and never against NO_COLOR (no-color.org). */
	o->color = isatty(fileno(o->human)) && isatty(STDERR_FILENO) &&
	           !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
}

/* Everything start-up needs before the first node. Return 0 or -1. */
static int prepare(struct orch *o)
{
	char err[512];

	if (loop_init(&o->loop) < 0 || setup_signals(o) < 0 ||
	    console_init(o) < 0) {
		log_errno("setup");
		return -1;
	}
	if (fleet_raise_nofile(o->cfg.num_clients) < 0)
		return -1;
	if (token_generate(o->token) < 0) {
		log_errno("getrandom");
		return -1;
	}
	if (fleet_init(o, err, sizeof(err)) < 0) {
		log_msg("%s", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct orch o = {.t0_ns = clock_ns(), .w_signal.fd = -1};
	const char *reason = "error";
	int status;

	log_init("orchestrator");
	configure(&o, argc, argv);
	status = prepare(&o) < 0 ? EXIT_UNAVAILABLE : start_fleet(&o);
	if (status == 0) {
		run_console(&o);
		status = final_status(&o, &reason);
	} else if (o.stop == STOP_SIGNAL) {
		reason = "signal";
	}
	uint64_t t_stop = clock_ns();
	teardown(&o);
	report_shutdown(&o, reason, status, ms_since(t_stop));
	console_free(&o);
	fleet_free(&o);
	if (o.w_signal.fd >= 0)
		close(o.w_signal.fd);
	loop_close(&o.loop);
	return status;
}
