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
 * Every wait has a deadline (TIMEOUT_MS without progress). On any failure
 * every child is killed and reaped, and the bench exits 1; if the bench
 * itself dies, its children follow (PR_SET_PDEATHSIG), as nodes do.
 *
 * Layout: fanout.c runs the orchestrator, and events.c reads and checks
 * what it says; floor.c runs the floor; children.c keeps track of every
 * child, kills and reaps them; stats.c takes percentiles and medians;
 * bench.h holds what they share. This file: the command line, the
 * set-up, the loop over fleet sizes and the table or JSON printed.
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
#include "io.h"
#include "log.h"
#include "parse.h"
#include "proc.h"
#include "stats.h"

/* ---- set-up ------------------------------------------------------------ */

/* The usage, for --help and for a wrong option. */
static const char usage_text[] =
    "usage: bench [--json] [--reps R] [--sizes N,N,...] [--port BASE]\n"
    "             [--orchestrator PATH] [--verbose]\n"
    "\n"
    "Measure fanout (start-up, lock-step rounds, pipelined throughput,\n"
    "teardown, memory) next to a bare floor of plain sockets, and print\n"
    "the medians over R repetitions.\n"
    "\n"
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
	int c;

	b->reps = 5;
	parse_sizes(b, "1,10,100,1000");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
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

/* Make the temporary directory and its configuration; return 0 or -1. */
static int make_dir(struct bench *b)
{
	static const char conf[] = "# written by bench: generous deadlines\n"
	                           "[connect]\ntimeout_ms = 30000\n"
	                           "[broadcast]\nack_timeout_ms = 10000\n";
	int fd;

	snprintf(b->dir, sizeof(b->dir), "/tmp/fanout-bench.XXXXXX");
	if (!mkdtemp(b->dir)) {
		log_errno("mkdtemp");
		return -1;
	}
	snprintf(b->conf, sizeof(b->conf), "%s/bench.ini", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/orchestrator.log", b->dir);
	fd = open(b->conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || io_write_all(fd, conf, sizeof(conf) - 1) < 0) {
		log_errno("%s", b->conf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Remove the temporary directory; async-signal-safe (on_signal()). */
static void remove_dir(const struct bench *b)
{
	unlink(b->conf);
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

/* Return the median of column f of the reps rows in v. */
static double median(const double *v, unsigned reps, enum fig f)
{
	double col[MAX_REPS];

	for (unsigned r = 0; r < reps; r++)
		col[r] = v[r * NFIG + f];
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
		m[k] = median(v, b->reps, k);
	rc = 0;
out:
	free(v);
	fanout_free(fo);
	floor_free(fl);
	return rc;
}

int main(int argc, char **argv)
{
	/* Static: on_signal() may see them until the process is gone. */
	static struct bench b;
	static struct children ch;
	double med[MAX_SIZES][NFIG];
	sigset_t chld;
	int rc = 0;

	log_init("bench");
	parse_args(&b, argc, argv);
	if (find_orchestrator(&b) < 0 || raise_nofile(max_size(&b)) < 0)
		return 1;
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
	if (!b.json)
		print_header(&b);
	for (unsigned s = 0; s < b.nsizes && rc == 0; s++) {
		rc = bench_size(&b, &ch, b.sizes[s], med[s]);
		if (rc == 0 && !b.json)
			print_row(b.sizes[s], med[s]);
	}
	if (rc == 0 && b.json)
		print_json(&b, med);
	children_kill_all(&ch);
	remove_dir(&b);
	return rc < 0 ? 1 : 0;
}
