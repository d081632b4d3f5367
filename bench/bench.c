/*
 * bench - how fast fanout is, next to what the machine allows.
 *
 * For each fleet size N the bench runs two things R times each, one after
 * the other within each repetition so that any drift of the machine hits
 * both alike, and prints the medians over the repetitions.
 *
 * fanout: the real orchestrator, `orchestrator -c FILE -n N -p BASE --json
 * -q`, with a generated configuration (generous connect and ack timeouts)
 * and a temporary working directory, driven through pipes on its standard
 * input and output; its standard error goes to a log shown on failure.
 *   - start-up: wall time from fork to reading the "ready" event;
 *   - lock-step round: K lines of 32 bytes, each written only once the
 *     previous one's "broadcast" event is read; a round is that event's
 *     "ms", the orchestrator's own time from sending to the last ack. p50
 *     and p99 are taken over the K rounds of one repetition;
 *   - pipelined: M lines written at once by a thread while the main thread
 *     reads the M events; acked deliveries per second are M * N over the
 *     time from the first write to the last event;
 *   - memory: the orchestrator's VmHWM just before its input is closed,
 *     and the VmRSS of one of its nodes;
 *   - teardown: wall time from closing its input to reaping it (the
 *     "shutdown" event's own "ms" goes into the JSON too).
 * Every broadcast event must carry the next sequence number, 32 bytes and
 * acked == expected == N, so the acks the orchestrator checks (sequence,
 * length, checksum) are all in; anything else fails the bench.
 *
 * floor: the same work with no protocol and no exec. N forked children
 * each listen on 127.0.0.1:BASE+i, report readiness with a byte on a
 * shared pipe, accept one connection and, for every whole 32-byte message
 * one read returned, send back a 16-byte ack, all of that read's acks in
 * one write. The bench connects to them all (TCP_NODELAY) and measures
 * over epoll: start-up (first fork to all connected), lock-step rounds (32
 * bytes to every socket, until every socket has returned its 16 bytes),
 * pipelined (M messages per socket in 64 KiB writes, interleaved with
 * reading the acks, non-blocking) and teardown (close all, reap all).
 *
 * K is 200 for N <= 100 and 50 above; M is 100000 / N (rounded up), at
 * least 100, so at least 100k deliveries. Ratios compare fanout with the
 * floor of the same run as a cost: 1.00 is the floor, 2.00 twice its time
 * (for throughput, the floor's rate over fanout's).
 *
 * handlers (--handlers, instead of the above; sizes 10, 100, 1000 unless
 * given): what a node's work costs (SPEC §9, §10), next to the tools
 * people use for the same job. Within each repetition, in this order:
 *   - exec round: `orchestrator --handler exec --json -q`, a fleet
 *     started once, then K' lock-step rounds of the line `true`, each
 *     written once the previous broadcast event is read. A round is the
 *     event's "reply_ms", the orchestrator's time from sending to the
 *     last reply: every node forks `/bin/sh -c true` and reports its
 *     end, so it is N forks and execs of sh on the machine's CPUs. The
 *     event must carry replied == N, no_reply empty, and groups that are
 *     all exit 0, no signal, no time-out, no restart, nothing dropped,
 *     empty output. Medians over the rounds, of "reply_ms", of "ms" (the
 *     acks, as in the rounds above) and of the wall time write to event;
 *   - shell round: the same with `--handler shell`: one long-lived sh
 *     per node runs each command, so a round execs nothing; `true` is a
 *     builtin of sh, and what is left is the protocol, the line through
 *     each node's shell and the end of the command read back;
 *   - pipe pipelined: `--handler pipe` with `[node] handler_command =
 *     cat`, one line sent and its echoes awaited first (a node starts its
 *     co-process on its first message: at N=1000 those starts would be
 *     most of the figure), then M lines written at once by a thread as in
 *     the pipelined run above; replies per second are M * N over the
 *     time from the first of those writes to the last event. Each event must be
 * replied by all N with one clean group whose output is the line sent: cat's
 * echo;
 *   - pdsh and clush, when on PATH (the bench installs nothing and says
 *     which it skipped): `pdsh -R exec -f N -w n[0-(N-1)] true` and the
 *     same with clush, which run `true` once per named host on this
 *     machine, N at once at most: the fork and exec of each, as exec's
 *     round, plus the tool's own start (clush: Python's). Wall time from
 *     fork to reap, exit status 0 checked.
 * K' is 100 for N <= 100 and 20 above; M as above. The ratios pdsh/exec
 * and pdsh/shell say how many exec or shell rounds fit in one pdsh run:
 * the orchestrator pays its start-up once per fleet, pdsh once per
 * command. The goals of issue 12 at N=100 (exec round <= pdsh/4, shell
 * round <= pdsh/40, pipe >= 200,000 replies/s) are printed under the
 * table. Handler runs use their own configuration (handlers.ini: the
 * same generous deadlines, handler_timeout_ms 30000, cat).
 *
 * detached (--detached, instead of the above; size 100 unless given):
 * what a line costs sent to a fleet that runs (issue 13), next to a fleet
 * started for it. For each size a fleet is started once, `orchestrator -c
 * FILE --detach --name bench-PID -n N -p BASE`, checked to exit 0 naming
 * its daemon (a child of ours from then on); then, within each
 * repetition, in this order, each timed from fork to reap:
 *   - send: `orchestrator send bench-PID x`: connecting to the fleet's
 *     control socket, the broadcast, its report, the exit. Exit status
 *     0 checked, and its output must report the repetition's broadcast
 *     ("#R acked N/N");
 *   - plain: `orchestrator -c FILE -n N -p BASE+N` (ports beside the
 *     fleet's, which runs on, idle), its standard input a pipe holding
 *     the line x then EOF: start-up, the broadcast, teardown. Exit
 *     status 0 and "#1 acked N/N" checked.
 * Then `orchestrator stop bench-PID` must exit 0 (the fleet's status)
 * having reported every broadcast fully acked, the daemon and its
 * nodes must be gone (reaped here) and its socket removed. plain/send
 * is how many sends fit in one plain run; the goal of issue 13 at
 * N=100, plain/send >= 10, is printed under the table. The fleet's
 * socket and log are kept in the temporary directory (XDG_RUNTIME_DIR,
 * XDG_STATE_HOME).
 *
 * Every wait has a deadline (TIMEOUT_MS without progress). On any failure
 * every child is killed and reaped, a detached fleet's daemon and nodes
 * included, and the bench exits 1; if the bench itself dies, its children
 * follow (PR_SET_PDEATHSIG), as nodes do, except a detached daemon, which
 * only the bench's SIGINT, SIGTERM and SIGHUP handler kills.
 *
 * Layout: orch.c starts, drives and stops the orchestrator, and events.c
 * reads and checks what it says; fanout.c measures it without handlers,
 * handlers.c with them; tools.c times commands from fork to reap, pdsh
 * and clush (which it finds) and the orchestrator's own for detached.c,
 * the detached section; floor.c runs the floor; children.c keeps track of
 * every child, spawns, kills and reaps them; stats.c takes percentiles
 * and medians; report.c prints the tables or JSON; bench.h holds what
 * they share. This file: the command line, the set-up, and the loop over
 * fleet sizes.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "bench.h"
#include "children.h"
#include "detached.h"
#include "fanout.h"
#include "floor.h"
#include "handlers.h"
#include "io.h"
#include "log.h"
#include "parse.h"
#include "proc.h"
#include "report.h"
#include "stats.h"
#include "tools.h"

/* ---- set-up ------------------------------------------------------------ */

/* The usage, for --help and for a wrong option. */
static const char usage_text[] =
    "usage: bench [--handlers | --detached] [--json] [--reps R]\n"
    "             [--sizes N,N,...] [--port BASE] [--orchestrator PATH]\n"
    "             [--verbose]\n"
    "\n"
    "Measure fanout (start-up, lock-step rounds, pipelined throughput,\n"
    "teardown, memory) next to a bare floor of plain sockets, and print\n"
    "the medians over R repetitions.\n"
    "\n"
    "  --handlers           instead, the handlers: exec and shell rounds\n"
    "                       of `true`, pipelined replies of a pipe handler\n"
    "                       (cat), next to pdsh and clush -R exec when on\n"
    "                       PATH (default sizes 10,100,1000)\n"
    "  --detached           instead, `orchestrator send NAME x` to a\n"
    "                       running detached fleet next to a plain\n"
    "                       `orchestrator` fed the line x (start,\n"
    "                       broadcast, exit), fork to reap; ports BASE\n"
    "                       to BASE+2N-1 (default size 100)\n"
    "  --json               one JSON object instead of a table\n"
    "  --reps R             repetitions of each figure (default 5)\n"
    "  --sizes LIST         fleet sizes (default 1,10,100,1000)\n"
    "  --port BASE          node i listens on BASE+i (default 20000)\n"
    "  --orchestrator PATH  default: ../orchestrator from this program\n"
    "  --verbose            each repetition's figures on stderr\n";

/* Parse a comma-separated list of fleet sizes into b; return 0 or -1. */
static int parse_sizes(struct bench *b, const char *s)
{
	char copy[256], *save, *tok;

	if (strlen(s) >= sizeof(copy))
		return -1;
	strcpy(copy, s);
	b->nsizes = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (b->nsizes == MAX_SIZES ||
		    parse_uint(tok, 1, MAX_N, &b->sizes[b->nsizes]) < 0)
			return -1;
		b->nsizes++;
	}
	return b->nsizes > 0 ? 0 : -1;
}

/* Return the largest fleet size of b. */
static unsigned max_size(const struct bench *b)
{
	unsigned maxn = 0;

	for (unsigned i = 0; i < b->nsizes; i++)
		maxn = b->sizes[i] > maxn ? b->sizes[i] : maxn;
	return maxn;
}

/* Parse the command line into b; exits on --help or an error. */
static void parse_args(struct bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"handlers", no_argument, NULL, 'H'},
	    {"detached", no_argument, NULL, 'D'},
	    {"json", no_argument, NULL, 'j'},
	    {"reps", required_argument, NULL, 'r'},
	    {"sizes", required_argument, NULL, 's'},
	    {"port", required_argument, NULL, 'p'},
	    {"orchestrator", required_argument, NULL, 'o'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *orch = NULL;
	unsigned port = DEFAULT_PORT, maxn;
	bool sized = false;
	int c;

	b->reps = 5;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H': b->handlers = true; break;
		case 'D': b->detached = true; break;
		case 'j': b->json = true; break;
		case 'v': b->verbose = true; break;
		case 'o': orch = optarg; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'r':
			if (parse_uint(optarg, 1, MAX_REPS, &b->reps) == 0)
				break;
			log_msg("--reps: '%s' is not a number in 1..%d", optarg,
			        MAX_REPS);
			exit(2);
		case 's':
			sized = true;
			if (parse_sizes(b, optarg) == 0)
				break;
			log_msg("--sizes: '%s' is not a list of up to %d sizes "
			        "in 1..%d",
			        optarg, MAX_SIZES, MAX_N);
			exit(2);
		case 'p':
			if (parse_uint(optarg, 1, 65535, &port) == 0)
				break;
			log_msg("--port: '%s' is not a port", optarg);
			exit(2);
		default: fputs(usage_text, stderr); exit(2);
		}
	}
	if (optind < argc) {
		log_msg("unexpected argument '%s'", argv[optind]);
		exit(2);
	}
	if (b->handlers && b->detached) {
		log_msg("--handlers and --detached: one section at a time");
		exit(2);
	}
	if (!sized)
		parse_sizes(b, b->handlers   ? "10,100,1000"
		               : b->detached ? "100"
		                             : "1,10,100,1000");
	/* The detached fleet and the plain runs beside it: two ranges. */
	maxn = max_size(b) * (b->detached ? 2 : 1);
	if (port + maxn - 1 > 65535) {
		log_msg("ports %u..%u do not fit below 65536", port,
		        port + maxn - 1);
		exit(2);
	}
	b->port = (int)port;
	if (orch) {
		if (!realpath(orch, b->orch)) {
			log_errno("%s", orch);
			exit(2);
		}
	}
}

/* Find the orchestrator beside our own directory (build/bench/bench ->
   build/orchestrator) unless given; return 0 or -1 with a message. */
static int find_orchestrator(struct bench *b)
{
	char err[PATH_MAX + 64];

	if (b->orch[0])
		return 0;
	if (proc_sibling_path("../orchestrator", b->orch, sizeof(b->orch), err,
	                      sizeof(err)) < 0) {
		log_msg("%s (use --orchestrator PATH)", err);
		return -1;
	}
	return 0;
}

/* Write text into a new file at path; return 0 or -1 with a message. */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || io_write_all(fd, text, strlen(text)) < 0) {
		log_errno("%s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Make the temporary directory and its configurations; return 0 or -1. */
static int make_dir(struct bench *b)
{
	static const char conf[] = "# written by bench: generous deadlines\n"
	                           "[connect]\ntimeout_ms = 30000\n"
	                           "[broadcast]\nack_timeout_ms = 10000\n";
	/* cat: a line in, the same line out, as fast as a co-process goes. */
	static const char hconf[] = "# written by bench: generous deadlines\n"
	                            "[connect]\ntimeout_ms = 30000\n"
	                            "[broadcast]\nack_timeout_ms = 10000\n"
	                            "[node]\nhandler_command = cat\n"
	                            "handler_timeout_ms = 30000\n";

	snprintf(b->dir, sizeof(b->dir), "/tmp/fanout-bench.XXXXXX");
	if (!mkdtemp(b->dir)) {
		log_errno("mkdtemp");
		return -1;
	}
	snprintf(b->conf, sizeof(b->conf), "%s/bench.ini", b->dir);
	snprintf(b->hconf, sizeof(b->hconf), "%s/handlers.ini", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/orchestrator.log", b->dir);
	snprintf(b->sockdir, sizeof(b->sockdir), "%s/fanout", b->dir);
	snprintf(b->fleet, sizeof(b->fleet), "bench-%d", (int)getpid());
	snprintf(b->dsock, sizeof(b->dsock), "%s/fanout/%s.sock", b->dir,
	         b->fleet);
	snprintf(b->dlog, sizeof(b->dlog), "%s/fanout/%s.log", b->dir,
	         b->fleet);
	/* The locks that hold fleets' names (they stay, by design). */
	snprintf(b->dlock, sizeof(b->dlock), "%s/fanout/%s.lock", b->dir,
	         b->fleet);
	snprintf(b->plock, sizeof(b->plock), "%s/fanout/default.lock", b->dir);
	return write_file(b->conf, conf) < 0 || write_file(b->hconf, hconf) < 0
	           ? -1
	           : 0;
}

/* Remove the temporary directory; async-signal-safe (on_signal()). */
static void remove_dir(const struct bench *b)
{
	unlink(b->conf);
	unlink(b->hconf);
	unlink(b->log);
	/* A detached fleet's, killed: its socket; and always its log. */
	unlink(b->dsock);
	unlink(b->dlog);
	unlink(b->dlock);
	unlink(b->plock);
	rmdir(b->sockdir); /* the fleets' control sockets' (SPEC §11) */
	rmdir(b->dir);
}

/* What on_signal() cleans up. A handler takes no argument, so what it
   needs must be global: main() points it at its own state before it
   installs the handler, and only the handler reads it. */
static struct {
	const struct bench *b;
	const struct children *ch;
} on_signal_sees;

/* On SIGINT, SIGTERM or SIGHUP: kill the children (nodes follow the
   orchestrator by their parent-death signal), remove the temporary
   directory, and die of the signal. Async-signal-safe calls only. */
static void on_signal(int sig)
{
	children_kill_now(on_signal_sees.ch);
	remove_dir(on_signal_sees.b);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Raise RLIMIT_NOFILE for n nodes: three descriptors per node for the
   orchestrator (which raises its own too) if the hard limit allows, else
   the n sockets and a few more that the bench needs itself. Return 0, or
   -1 with a message naming the limit when even that cannot be met. */
static int raise_nofile(unsigned n)
{
	unsigned long want = (unsigned long)n * 3 + 64, need = n + 64ul;
	char err[256];

	if (proc_raise_nofile(want, err, sizeof(err)) == 0 ||
	    proc_raise_nofile(need, err, sizeof(err)) == 0)
		return 0;
	log_msg("%u nodes: %s", n, err);
	return -1;
}

/* ---- main -------------------------------------------------------------- */

/* Return the median of column f of the reps rows of width figures in v. */
static double median(const double *v, unsigned reps, unsigned width, unsigned f)
{
	double col[MAX_REPS];

	for (unsigned r = 0; r < reps; r++)
		col[r] = v[r * width + f];
	return stats_median(col, reps);
}

/* Measure fleet size n, reps times, into the medians m; return 0 or -1
   with a message. */
static int bench_size(const struct bench *b, struct children *ch, unsigned n,
                      double *m)
{
	double *v = calloc((size_t)b->reps * NFIG, sizeof(*v));
	struct fanout *fo = fanout_new(b, ch, n);
	struct floor_run *fl = floor_new(b, ch, n);
	int rc = -1;

	if (!v || !fo || !fl) {
		log_msg("out of memory");
		goto out;
	}
	for (unsigned r = 0; r < b->reps; r++) {
		double *row = v + (size_t)r * NFIG;

		if (fanout_rep(fo, row) < 0 || floor_rep(fl, row) < 0)
			goto out;
		if (b->verbose)
			report_rep(n, r, row);
	}
	for (int k = 0; k < NFIG; k++)
		m[k] = median(v, b->reps, NFIG, k);
	rc = 0;
out:
	free(v);
	fanout_free(fo);
	floor_free(fl);
	return rc;
}

/* Measure the handlers for fleet size n, reps times, into the medians
   m; return 0 or -1 with a message. */
static int bench_hsize(const struct bench *b, struct children *ch, unsigned n,
                       double *m)
{
	double *v = calloc((size_t)b->reps * NHFIG, sizeof(*v));
	struct handlers *h = handlers_new(b, ch, n);
	int rc = -1;

	if (!v || !h) {
		log_msg("out of memory");
		goto out;
	}
	for (unsigned r = 0; r < b->reps; r++) {
		double *row = v + (size_t)r * NHFIG;

		if (handlers_rep(h, row) < 0)
			goto out;
		if (b->verbose)
			report_hrep(n, r, row);
	}
	for (int k = 0; k < NHFIG; k++)
		m[k] = median(v, b->reps, NHFIG, k);
	rc = 0;
out:
	free(v);
	handlers_free(h);
	return rc;
}

/* Measure the detached section for fleet size n, reps times, into the
   medians m: the fleet started, the repetitions, the fleet stopped.
   Return 0 or -1 with a message. */
static int bench_dsize(const struct bench *b, struct children *ch, unsigned n,
                       double *m)
{
	double v[MAX_REPS * NDFIG];
	struct detached d;

	detached_init(&d, b, ch, n);
	if (detached_start(&d) < 0)
		return -1;
	for (unsigned r = 0; r < b->reps; r++) {
		double *row = v + (size_t)r * NDFIG;

		if (detached_rep(&d, row) < 0)
			return -1;
		if (b->verbose)
			report_drep(n, r, row);
	}
	if (detached_stop(&d) < 0)
		return -1;
	for (int k = 0; k < NDFIG; k++)
		m[k] = median(v, b->reps, NDFIG, k);
	return 0;
}

/* The fanout section: every size, its table row or the JSON at the end;
   return 0 or -1. */
static int run_fanout(const struct bench *b, struct children *ch)
{
	double med[MAX_SIZES][NFIG];
	int rc = 0;

	if (!b->json)
		report_header(b);
	for (unsigned s = 0; s < b->nsizes && rc == 0; s++) {
		rc = bench_size(b, ch, b->sizes[s], med[s]);
		if (rc == 0 && !b->json)
			report_row(b->sizes[s], med[s]);
	}
	if (rc == 0 && b->json)
		report_json(b, med);
	return rc;
}

/* The handlers section, likewise; return 0 or -1. */
static int run_handlers(const struct bench *b, struct children *ch)
{
	double med[MAX_SIZES][NHFIG];
	int rc = 0;

	if (!b->json)
		report_hheader(b);
	for (unsigned s = 0; s < b->nsizes && rc == 0; s++) {
		rc = bench_hsize(b, ch, b->sizes[s], med[s]);
		if (rc == 0 && !b->json)
			report_hrow(b->sizes[s], med[s]);
	}
	if (rc == 0 && b->json)
		report_hjson(b, med);
	else if (rc == 0)
		report_goals(b, med);
	return rc;
}

/* The detached section, likewise; return 0 or -1. */
static int run_detached(const struct bench *b, struct children *ch)
{
	double med[MAX_SIZES][NDFIG];
	int rc = 0;

	if (!b->json)
		report_dheader(b);
	for (unsigned s = 0; s < b->nsizes && rc == 0; s++) {
		rc = bench_dsize(b, ch, b->sizes[s], med[s]);
		if (rc == 0 && !b->json)
			report_drow(b->sizes[s], med[s]);
	}
	if (rc == 0 && b->json)
		report_djson(b, med);
	else if (rc == 0)
		report_dgoals(b, med);
	return rc;
}

int main(int argc, char **argv)
{
	/* Static: on_signal() may see them until the process is gone. */
	static struct bench b;
	static struct children ch;
	sigset_t chld;
	int rc;

	log_init("bench");
	parse_args(&b, argc, argv);
	if (find_orchestrator(&b) < 0 || raise_nofile(max_size(&b)) < 0)
		return 1;
	if (b.handlers)
		tools_find(&b);
	/* Children are reaped with sigtimedwait, nodes orphaned by a killed
	   orchestrator too; a closed pipe is an error to report, not a
	   signal to die of. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &b.oldmask);
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		log_errno("prctl");
		return 1;
	}
	/* Its fleets' control sockets and logs (SPEC §11) in its own
	   directory: a fleet the user runs keeps its name, and no log is
	   left in the user's home. */
	if (make_dir(&b) < 0 || setenv("XDG_RUNTIME_DIR", b.dir, 1) < 0 ||
	    setenv("XDG_STATE_HOME", b.dir, 1) < 0)
		return 1;
	on_signal_sees.b = &b;
	on_signal_sees.ch = &ch;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	rc = b.handlers   ? run_handlers(&b, &ch)
	     : b.detached ? run_detached(&b, &ch)
	                  : run_fanout(&b, &ch);
	children_kill_all(&ch);
	remove_dir(&b);
	return rc < 0 ? 1 : 0;
}
