/* report.c - see report.h. */
#include "report.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <time.h>

#include "tools.h"

/* ---- the fanout section ------------------------------------------------ */

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

void report_header(const struct bench *b)
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

void report_row(unsigned n, const double *m)
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

/* Open a JSON report: {"section":...(when not NULL),"date":...,
   "kernel":...,"cpus":...,"reps":...,"port":..., and then key":[ or
   key":{ as key says (e.g. "results\":[). */
static void json_open(const struct bench *b, const char *section,
                      const char *key)
{
	struct run_info ri;

	run_info(&ri, true);
	putchar('{');
	if (section)
		printf("\"section\":\"%s\",", section);
	printf("\"date\":\"%s\",\"kernel\":\"%s\",\"cpus\":%d,\"reps\":%u,"
	       "\"port\":%d,\"%s",
	       ri.date, ri.u.release, ri.cpus, b->reps, b->port, key);
}

void report_json(const struct bench *b, double med[][NFIG])
{
	json_open(b, NULL, "results\":[");
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

void report_rep(unsigned n, unsigned r, const double *v)
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

/* ---- the handlers section ---------------------------------------------- */

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

void report_hheader(const struct bench *b)
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

void report_hrow(unsigned n, const double *m)
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

void report_goals(const struct bench *b, double med[][NHFIG])
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

void report_hjson(const struct bench *b, double med[][NHFIG])
{
	bool first = true;

	json_open(b, "handlers", "skipped\":{");
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

void report_hrep(unsigned n, unsigned r, const double *v)
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

/* ---- the detached section ---------------------------------------------- */

void report_dheader(const struct bench *b)
{
	struct run_info ri;

	run_info(&ri, false);
	printf("fanout detached bench, %s, Linux %s, %d CPUs, %u reps, "
	       "medians, fork to reap; send = `orchestrator send NAME x` to "
	       "a running detached fleet, plain = `orchestrator` fed x "
	       "(start, broadcast, exit)\n",
	       ri.date, ri.u.release, ri.cpus, b->reps);
	printf("%5s  %8s %8s  %6s\n", "N", "send ms", "plain ms", "plain/");
	printf("%5s  %8s %8s  %6s\n", "", "", "", "send");
	fflush(stdout);
}

void report_drow(unsigned n, const double *m)
{
	printf("%5u ", n);
	print_fig(m[D_SEND], 8, 2);
	print_fig(m[D_PLAIN], 8, 2);
	printf(" ");
	print_fig(ratio(m[D_PLAIN], m[D_SEND]), 6, 1);
	printf("\n");
	fflush(stdout);
}

void report_dgoals(const struct bench *b, double med[][NDFIG])
{
	for (unsigned s = 0; s < b->nsizes; s++)
		if (b->sizes[s] == 100) {
			printf("goal at N=100: ");
			print_goal("plain/send",
			           ratio(med[s][D_PLAIN], med[s][D_SEND]), 10,
			           true);
			return;
		}
}

void report_djson(const struct bench *b, double med[][NDFIG])
{
	json_open(b, "detached", "results\":[");
	for (unsigned s = 0; s < b->nsizes; s++) {
		const double *m = med[s];

		printf("%s{\"n\":%u,", s ? "," : "", b->sizes[s]);
		json_num("send_ms", m[D_SEND], true);
		json_num("plain_ms", m[D_PLAIN], true);
		printf("\"ratio\":{");
		json_num("plain_over_send", ratio(m[D_PLAIN], m[D_SEND]),
		         false);
		printf("}}");
	}
	printf("]}\n");
}

void report_drep(unsigned n, unsigned r, const double *v)
{
	fprintf(stderr, "bench: N=%u rep %u: send %.2f ms, plain %.2f ms\n", n,
	        r + 1, v[D_SEND], v[D_PLAIN]);
}
