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
 *     cat`, M lines written at once by a thread as in the pipelined run
 *     above; replies per second are M * N over the time from the first
 *     write to the last event. Each event must be replied by all N with
 *     one clean group whose output is the line sent: cat's echo;
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
 * Every wait has a deadline (TIMEOUT_MS without progress). On any failure
 * every child is killed and reaped, and the bench exits 1; if the bench
 * itself dies, its children follow (PR_SET_PDEATHSIG), as nodes do.
 *
 * Layout: orch.c starts, drives and stops the orchestrator, and events.c
 * reads and checks what it says; fanout.c measures it without handlers,
 * handlers.c with them; tools.c finds and times pdsh and clush; floor.c
 * runs the floor; children.c keeps track of every child, spawns, kills
 * and reaps them; stats.c takes percentiles and medians; bench.h holds
 * what they share. This file: the command line, the set-up, the loop
 * over fleet sizes and the tables or JSON printed.
 */
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "children.h"
#include "fanout.h"
#include "floor.h"
#include "handlers.h"
#include "io.h"
#include "log.h"
#include "parse.h"
#include "proc.h"
#include "stats.h"
#include "tools.h"

/* ---- set-up ------------------------------------------------------------ */

/* The usage, for --help and for a wrong option. */
static const char usage_text[] =
    "usage: bench [--handlers] [--json] [--reps R] [--sizes N,N,...]\n"
    "             [--port BASE] [--orchestrator PATH] [--verbose]\n"
    "\n"
    "Measure fanout (start-up, lock-step rounds, pipelined throughput,\n"
    "teardown, memory) next to a bare floor of plain sockets, and print\n"
    "the medians over R repetitions.\n"
    "\n"
    "  --handlers           instead, the handlers: exec and shell rounds\n"
    "                       of `true`, pipelined replies of a pipe handler\n"
    "                       (cat), next to pdsh and clush -R exec when on\n"
    "                       PATH (default sizes 10,100,1000)\n"
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
	if (!sized)
		parse_sizes(b, b->handlers ? "10,100,1000" : "1,10,100,1000");
	maxn = max_size(b);
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

/* ---- output ------------------------------------------------------------ */

/* The JSON key of each figure. */
static const char *const fig_key[NFIG] = {
    [F_START] = "startup_ms",          [F_READY] = "ready_event_ms",
    [F_P50] = "round_p50_ms",          [F_P99] = "round_p99_ms",
    [F_WALL50] = "round_wall_p50_ms",  [F_RATE] = "pipelined_acks_per_s",
    [F_RCPU] = "pipelined_reader_cpu", [F_DOWN] = "teardown_ms",
    [F_SHUT] = "shutdown_event_ms",    [F_ORSS] = "orchestrator_peak_rss_mib",
    [F_NRSS] = "node_rss_mib",         [L_START] = "startup_ms",
    [L_P50] = "round_p50_ms",          [L_P99] = "round_p99_ms",
    [L_RATE] = "pipelined_acks_per_s", [L_DOWN] = "teardown_ms",
};

/* Return the median of column f of the reps rows of width figures in v. */
static double median(const double *v, unsigned reps, unsigned width, unsigned f)
{
	double col[MAX_REPS];

	for (unsigned r = 0; r < reps; r++)
		col[r] = v[r * width + f];
	return stats_median(col, reps);
}

/* Return a / b, or NAN when b is not positive. */
static double ratio(double a, double b)
{
	return b > 0 ? a / b : NAN;
}

/* What a report says of the run: when (ISO 8601 for JSON, or for a
   person), which kernel, how many CPUs this process may use. */
struct run_info {
	char date[64];
	struct utsname u;
	int cpus;
};

/* Fill ri for now, the date in ISO 8601 if iso, else for a person. */
static void run_info(struct run_info *ri, bool iso)
{
	time_t now = time(NULL);
	cpu_set_t cpus;

	if (iso)
		strftime(ri->date, sizeof(ri->date), "%Y-%m-%dT%H:%M:%S%z",
		         localtime(&now));
	else
		strftime(ri->date, sizeof(ri->date), "%Y-%m-%d %H:%M %Z",
		         localtime(&now));
	uname(&ri->u);
	sched_getaffinity(0, sizeof(cpus), &cpus);
	ri->cpus = CPU_COUNT(&cpus);
}

/* Print the header of the table. */
static void print_header(const struct bench *b)
{
	struct run_info ri;

	run_info(&ri, false);
	printf("fanout bench, %s, Linux %s, %d CPUs, %u reps, medians; "
	       "x = fanout cost / floor cost (Macks/s: floor / fanout)\n",
	       ri.date, ri.u.release, ri.cpus, b->reps);
	printf("%5s  %-21s  %-21s  %-15s  %-19s  %-13s  %s\n", "",
	       "start-up ms", "round p50 ms", "round p99 ms",
	       "pipelined Macks/s", "teardown ms", "RSS MiB");
	printf("%5s  %7s %7s %5s  %7s %7s %5s  %7s %7s  %6s %6s %5s  %6s %6s"
	       "  %5s %5s\n",
	       "N", "fanout", "floor", "x", "fanout", "floor", "x", "fanout",
	       "floor", "fanout", "floor", "x", "fanout", "floor", "orch",
	       "node");
	fflush(stdout);
}

/* Print one row of the table from the medians m. */
static void print_row(unsigned n, const double *m)
{
	printf("%5u  %7.1f %7.1f %5.1f  %7.3f %7.3f %5.2f  %7.3f %7.3f  "
	       "%6.2f %6.2f %5.1f  %6.1f %6.1f  %5.1f %5.1f\n",
	       n, m[F_START], m[L_START], ratio(m[F_START], m[L_START]),
	       m[F_P50], m[L_P50], ratio(m[F_P50], m[L_P50]), m[F_P99],
	       m[L_P99], m[F_RATE] / 1e6, m[L_RATE] / 1e6,
	       ratio(m[L_RATE], m[F_RATE]), m[F_DOWN], m[L_DOWN], m[F_ORSS],
	       m[F_NRSS]);
	fflush(stdout);
}

/* Print a JSON field, its number with four significant digits (whole
   above 1000) or null when v is not finite. */
static void json_num(const char *key, double v, bool comma)
{
	if (isfinite(v) && fabs(v) >= 1000)
		printf("\"%s\":%.0f%s", key, v, comma ? "," : "");
	else if (isfinite(v))
		printf("\"%s\":%.4g%s", key, v, comma ? "," : "");
	else
		printf("\"%s\":null%s", key, comma ? "," : "");
}

/* Print the figures from..to-1 of m as one JSON object. */
static void json_figs(const double *m, enum fig from, enum fig to)
{
	putchar('{');
	for (int f = (int)from; f < (int)to; f++)
		json_num(fig_key[f], m[f], f + 1 < (int)to);
	putchar('}');
}

/* Print every size's medians as one JSON object. */
static void print_json(const struct bench *b, double med[][NFIG])
{
	struct run_info ri;

	run_info(&ri, true);
	printf("{\"date\":\"%s\",\"kernel\":\"%s\",\"cpus\":%d,\"reps\":%u,"
	       "\"port\":%d,\"results\":[",
	       ri.date, ri.u.release, ri.cpus, b->reps, b->port);
	for (unsigned s = 0; s < b->nsizes; s++) {
		const double *m = med[s];
		unsigned n = b->sizes[s];

		printf("%s{\"n\":%u,\"rounds\":%u,\"pipelined\":%u,"
		       "\"fanout\":",
		       s ? "," : "", n, rounds_for(n), pipelined_for(n));
		json_figs(m, F_START, L_START);
		printf(",\"floor\":");
		json_figs(m, L_START, NFIG);
		printf(",\"ratio\":{");
		json_num("startup", ratio(m[F_START], m[L_START]), true);
		json_num("round_p50", ratio(m[F_P50], m[L_P50]), true);
		json_num("round_p99", ratio(m[F_P99], m[L_P99]), true);
		json_num("pipelined", ratio(m[L_RATE], m[F_RATE]), true);
		json_num("teardown", ratio(m[F_DOWN], m[L_DOWN]), false);
		printf("}}");
	}
	printf("]}\n");
}

/* Print one repetition's figures on stderr. */
static void print_rep(unsigned n, unsigned r, const double *v)
{
	fprintf(stderr,
	        "bench: N=%u rep %u: start-up %.1f|%.1f ms, "
	        "round p50 %.3f|%.3f p99 %.3f|%.3f ms, "
	        "%.2f|%.2f Macks/s (reader %.0f%% CPU), "
	        "teardown %.1f|%.1f ms, RSS %.1f|%.1f MiB\n",
	        n, r + 1, v[F_START], v[L_START], v[F_P50], v[L_P50], v[F_P99],
	        v[L_P99], v[F_RATE] / 1e6, v[L_RATE] / 1e6, v[F_RCPU] * 100,
	        v[F_DOWN], v[L_DOWN], v[F_ORSS], v[F_NRSS]);
}

/* ---- the handlers section's output ------------------------------------ */

/* Print v as a column of width characters, prec decimals, after a blank;
   "-" when it is not finite (a tool skipped). */
static void print_fig(double v, int width, int prec)
{
	if (isfinite(v))
		printf(" %*.*f", width, prec, v);
	else
		printf(" %*s", width, "-");
}

/* Print which tools are skipped, and why. */
static void print_skipped(const struct bench *b)
{
	for (int t = 0; t < NTOOLS; t++)
		if (!b->tool[t][0])
			printf("%s: skipped, not found on PATH (the bench "
			       "installs nothing)\n",
			       tool_name[t]);
}

/* Print the header of the handlers table. */
static void print_hheader(const struct bench *b)
{
	struct run_info ri;

	run_info(&ri, false);
	printf("fanout handlers bench, %s, Linux %s, %d CPUs, %u reps, "
	       "medians; a round of `true`: reply = send to last reply, ack "
	       "= send to last ack, wall = write to event\n",
	       ri.date, ri.u.release, ri.cpus, b->reps);
	print_skipped(b);
	printf("%5s  %-20s  %-20s  %10s  %8s %8s  %6s %6s\n", "",
	       "exec round ms", "shell round ms", "pipe (cat)", "pdsh", "clush",
	       "pdsh/", "pdsh/");
	printf("%5s  %6s %6s %6s  %6s %6s %6s  %10s  %8s %8s  %6s %6s\n", "N",
	       "reply", "ack", "wall", "reply", "ack", "wall", "replies/s",
	       "ms", "ms", "exec", "shell");
	fflush(stdout);
}

/* Print one row of the handlers table from the medians m. */
static void print_hrow(unsigned n, const double *m)
{
	printf("%5u ", n);
	for (int f = H_EXEC; f <= H_SHELL_WALL; f++)
		print_fig(m[f], 6, 2);
	printf(" ");
	print_fig(m[H_PIPE_RATE], 10, 0);
	printf(" ");
	print_fig(m[H_PDSH], 8, 1);
	print_fig(m[H_CLUSH], 8, 1);
	printf(" ");
	print_fig(ratio(m[H_PDSH], m[H_EXEC]), 6, 1);
	print_fig(ratio(m[H_PDSH], m[H_SHELL]), 6, 1);
	printf("\n");
	fflush(stdout);
}

/* Print whether v, a figure of the goals, is at least want. */
static void print_goal(const char *what, double v, double want, bool last)
{
	printf("%s %.4g (want >= %g): %s%s", what, v, want,
	       !isfinite(v) ? "unknown"
	       : v >= want  ? "met"
	                    : "NOT met",
	       last ? "\n" : "; ");
}

/* Print how the figures at N=100, if measured, compare with the goals
   of issue 12. */
static void print_goals(const struct bench *b, double med[][NHFIG])
{
	for (unsigned s = 0; s < b->nsizes; s++) {
		const double *m = med[s];

		if (b->sizes[s] != 100)
			continue;
		printf("goals at N=100: ");
		print_goal("pdsh/exec", ratio(m[H_PDSH], m[H_EXEC]), 4, false);
		print_goal("pdsh/shell", ratio(m[H_PDSH], m[H_SHELL]), 40,
		           false);
		print_goal("pipe replies/s", m[H_PIPE_RATE], 200000, true);
		return;
	}
}

/* Print the round figures of a handler, from f on, as "name":{...}. */
static void json_round(const char *name, const double *m, enum hfig f)
{
	printf("\"%s\":{", name);
	json_num("round_ms", m[f], true);
	json_num("ack_ms", m[f + 1], true);
	json_num("round_wall_ms", m[f + 2], false);
	printf("},");
}

/* Print one size's medians m as a JSON object. */
static void json_hsize(unsigned n, const double *m)
{
	printf("{\"n\":%u,\"rounds\":%u,\"pipelined\":%u,", n,
	       handler_rounds_for(n), pipelined_for(n));
	json_round("exec", m, H_EXEC);
	json_round("shell", m, H_SHELL);
	printf("\"pipe\":{");
	json_num("replies_per_s", m[H_PIPE_RATE], true);
	json_num("reader_cpu", m[H_PIPE_RCPU], false);
	printf("},");
	json_num("pdsh_ms", m[H_PDSH], true);
	json_num("clush_ms", m[H_CLUSH], true);
	printf("\"ratio\":{");
	json_num("pdsh_over_exec", ratio(m[H_PDSH], m[H_EXEC]), true);
	json_num("pdsh_over_shell", ratio(m[H_PDSH], m[H_SHELL]), true);
	json_num("clush_over_exec", ratio(m[H_CLUSH], m[H_EXEC]), true);
	json_num("clush_over_shell", ratio(m[H_CLUSH], m[H_SHELL]), false);
	printf("}}");
}

/* Print every size's medians of the handlers section as one JSON
   object; a tool skipped is null, and named in "skipped". */
static void print_hjson(const struct bench *b, double med[][NHFIG])
{
	struct run_info ri;
	bool first = true;

	run_info(&ri, true);
	printf("{\"section\":\"handlers\",\"date\":\"%s\",\"kernel\":\"%s\","
	       "\"cpus\":%d,\"reps\":%u,\"port\":%d,\"skipped\":{",
	       ri.date, ri.u.release, ri.cpus, b->reps, b->port);
	for (int t = 0; t < NTOOLS; t++)
		if (!b->tool[t][0]) {
			printf("%s\"%s\":\"not on PATH\"", first ? "" : ",",
			       tool_name[t]);
			first = false;
		}
	printf("},\"results\":[");
	for (unsigned s = 0; s < b->nsizes; s++) {
		printf("%s", s ? "," : "");
		json_hsize(b->sizes[s], med[s]);
	}
	printf("]}\n");
}

/* Print one repetition's handler figures on stderr. */
static void print_hrep(unsigned n, unsigned r, const double *v)
{
	fprintf(stderr,
	        "bench: N=%u rep %u: exec round %.2f (ack %.2f, wall %.2f) "
	        "ms, shell round %.2f (ack %.2f, wall %.2f) ms, pipe %.0f "
	        "replies/s (reader %.0f%% CPU), pdsh %.1f ms, clush %.1f "
	        "ms\n",
	        n, r + 1, v[H_EXEC], v[H_EXEC_ACK], v[H_EXEC_WALL], v[H_SHELL],
	        v[H_SHELL_ACK], v[H_SHELL_WALL], v[H_PIPE_RATE],
	        v[H_PIPE_RCPU] * 100, v[H_PDSH], v[H_CLUSH]);
}

/* ---- main -------------------------------------------------------------- */

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
			print_rep(n, r, row);
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
			print_hrep(n, r, row);
	}
	for (int k = 0; k < NHFIG; k++)
		m[k] = median(v, b->reps, NHFIG, k);
	rc = 0;
out:
	free(v);
	handlers_free(h);
	return rc;
}

/* The fanout section: every size, its table row or the JSON at the end;
   return 0 or -1. */
static int run_fanout(const struct bench *b, struct children *ch)
{
	double med[MAX_SIZES][NFIG];
	int rc = 0;

	if (!b->json)
		print_header(b);
	for (unsigned s = 0; s < b->nsizes && rc == 0; s++) {
		rc = bench_size(b, ch, b->sizes[s], med[s]);
		if (rc == 0 && !b->json)
			print_row(b->sizes[s], med[s]);
	}
	if (rc == 0 && b->json)
		print_json(b, med);
	return rc;
}

/* The handlers section, likewise; return 0 or -1. */
static int run_handlers(const struct bench *b, struct children *ch)
{
	double med[MAX_SIZES][NHFIG];
	int rc = 0;

	if (!b->json)
		print_hheader(b);
	for (unsigned s = 0; s < b->nsizes && rc == 0; s++) {
		rc = bench_hsize(b, ch, b->sizes[s], med[s]);
		if (rc == 0 && !b->json)
			print_hrow(b->sizes[s], med[s]);
	}
	if (rc == 0 && b->json)
		print_hjson(b, med);
	else if (rc == 0)
		print_goals(b, med);
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
	if (make_dir(&b) < 0)
		return 1;
	on_signal_sees.b = &b;
	on_signal_sees.ch = &ch;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	rc = b.handlers ? run_handlers(&b, &ch) : run_fanout(&b, &ch);
	children_kill_all(&ch);
	remove_dir(&b);
	return rc < 0 ? 1 : 0;
}
