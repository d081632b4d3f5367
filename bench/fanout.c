/* fanout.c - see fanout.h. */
#include "fanout.h"

#include <stdlib.h>

#include "clock.h"
#include "events.h"
#include "log.h"
#include "orch.h"
#include "stats.h"

struct fanout {
	struct orch o;
	char *lines; /* pipelined_for(n) lines of LINE_BYTES */
};

struct fanout *fanout_new(const struct bench *b, struct children *ch,
                          unsigned n)
{
	unsigned m = pipelined_for(n);
	struct fanout *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	orch_init(&f->o, b, ch, n);
	f->lines = malloc((size_t)m * LINE_BYTES);
	if (!f->lines) {
		free(f);
		return NULL;
	}
	for (unsigned i = 0; i < m; i++)
		orch_line(f->lines + (size_t)i * LINE_BYTES, "pipe", i + 1);
	return f;
}

void fanout_free(struct fanout *f)
{
	if (f) {
		free(f->lines);
		free(f);
	}
}

/* Run k lock-step rounds, each line written once the previous one is
   reported; store the p50 and p99 of the rounds in fig. Return 0 or -1. */
static int fanout_rounds(struct orch *o, unsigned k, double *fig)
{
	double ms[MAX_ROUNDS], wall[MAX_ROUNDS];
	char line[LINE_BYTES];

	for (unsigned i = 0; i < k; i++) {
		uint64_t t0 = clock_ns();
		const char *ev;

		orch_line(line, "round", o->seq + 1);
		if (orch_write(o, line, sizeof(line)) < 0)
			return -1;
		ev = orch_event(o);
		if (!ev ||
		    (ms[i] = event_broadcast_ms(ev, o->seq + 1, o->n)) < 0)
			return -1;
		wall[i] = clock_ms_since(t0);
		o->seq++;
	}
	fig[F_P50] = stats_percentile(ms, k, 50);
	fig[F_P99] = stats_percentile(ms, k, 99);
	fig[F_WALL50] = stats_percentile(wall, k, 50);
	return 0;
}

/* Check a pipelined line's event: acked by all, nothing else. */
static int check_acked(const struct orch *o, const char *ev, unsigned i,
                       void *arg)
{
	(void)i;
	(void)arg;
	return event_broadcast_ms(ev, o->seq + 1, o->n) < 0 ? -1 : 0;
}

/* Pipeline the first m lines and read their m events; store the acked
   deliveries per second in fig. Return 0 or -1. */
static int fanout_pipelined(struct fanout *f, unsigned m, double *fig)
{
	struct orch_span s;
	double secs;

	if (orch_pipeline(&f->o, f->lines, (size_t)m * LINE_BYTES, m,
	                  check_acked, NULL, &s) < 0)
		return -1;
	secs = (double)(s.t1 - s.t0) / 1e9;
	fig[F_RATE] = (double)m * f->o.n / secs;
	fig[F_RCPU] = (double)s.reader_cpu / 1e9 / secs;
	return 0;
}

/* Store the orchestrator's peak RSS and one node's RSS in fig; return 0
   or -1. */
static int fanout_memory(const struct orch *o, double *fig)
{
	long hwm = children_status_kb(o->ch->orch, "VmHWM"), rss = -1;
	pid_t node;

	if (children_of(o->ch->orch, &node, 1) == 1)
		rss = children_status_kb(node, "VmRSS");
	if (hwm < 0 || rss < 0) {
		log_msg("cannot read the %s's memory in /proc",
		        hwm < 0 ? "orchestrator" : "nodes");
		return -1;
	}
	fig[F_ORSS] = hwm / 1024.0;
	fig[F_NRSS] = rss / 1024.0;
	return 0;
}

int fanout_rep(struct fanout *f, double *fig)
{
	struct orch *o = &f->o;

	if (orch_start(o, o->b->conf, NULL, &fig[F_START], &fig[F_READY]) < 0 ||
	    fanout_rounds(o, rounds_for(o->n), fig) < 0 ||
	    fanout_pipelined(f, pipelined_for(o->n), fig) < 0 ||
	    fanout_memory(o, fig) < 0 ||
	    orch_stop(o, &fig[F_DOWN], &fig[F_SHUT]) < 0) {
		orch_fail(o, "fanout");
		return -1;
	}
	return 0;
}
