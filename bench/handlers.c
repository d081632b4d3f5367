/* handlers.c - see handlers.h. */
#include "handlers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "events.h"
#include "log.h"
#include "orch.h"
#include "stats.h"
#include "tools.h"

#define ROUND_CMD "true" /* a round's command: the least work there is */

struct handlers {
	struct orch o;
	char *lines; /* pipelined_for(n) lines of LINE_BYTES, for cat */
};

struct handlers *handlers_new(const struct bench *b, struct children *ch,
                              unsigned n)
{
	unsigned m = pipelined_for(n);
	struct handlers *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	orch_init(&h->o, b, ch, n);
	h->lines = malloc((size_t)m * LINE_BYTES);
	if (!h->lines) {
		free(h);
		return NULL;
	}
	for (unsigned i = 0; i < m; i++)
		orch_line(h->lines + (size_t)i * LINE_BYTES, "cat", i + 1);
	return h;
}

void handlers_free(struct handlers *h)
{
	if (h) {
		free(h->lines);
		free(h);
	}
}

/* Start a fleet whose nodes run handler; return 0 or -1. */
static int start(struct orch *o, const char *handler)
{
	const char *args[] = {"--handler", handler, NULL};
	double wall, ready;

	return orch_start(o, o->b->hconf, args, &wall, &ready);
}

/* Stop the fleet; return 0 or -1. */
static int stop(struct orch *o)
{
	double down, shut;

	return orch_stop(o, &down, &shut);
}

/* Run k lock-step rounds of the line ROUND_CMD, each written once the
   previous one is reported, every node replying a clean, empty exit 0.
   Store the medians of the rounds' reply time, ack time and wall time
   in fig[0..3). Return 0 or -1. */
static int rounds(struct orch *o, unsigned k, double *fig)
{
	static const char line[] = ROUND_CMD "\n";
	double reply[MAX_ROUNDS], ack[MAX_ROUNDS], wall[MAX_ROUNDS];

	for (unsigned i = 0; i < k; i++) {
		uint64_t t0 = clock_ns();
		const char *ev;

		if (orch_write(o, line, sizeof(line) - 1) < 0)
			return -1;
		ev = orch_event(o);
		if (!ev)
			return -1;
		reply[i] = event_replied_ms(
		    ev, o->seq + 1, sizeof(ROUND_CMD) - 1, o->n, "", &ack[i]);
		if (reply[i] < 0)
			return -1;
		wall[i] = clock_ms_since(t0);
		o->seq++;
	}
	fig[0] = stats_median(reply, k);
	fig[1] = stats_median(ack, k);
	fig[2] = stats_median(wall, k);
	return 0;
}

/* A fleet with handler, its lock-step rounds into fig[0..3), stopped;
   return 0 or -1. */
static int handler_rounds(struct orch *o, const char *handler, double *fig)
{
	if (start(o, handler) < 0 ||
	    rounds(o, handler_rounds_for(o->n), fig) < 0 || stop(o) < 0) {
		orch_fail(o, handler);
		return -1;
	}
	return 0;
}

/* Check the event of the i-th pipelined line: every node's cat replied
   that line, without its newline. */
static int check_echo(const struct orch *o, const char *ev, unsigned i,
                      void *arg)
{
	const char *lines = arg;
	char want[MSG_BYTES + 1];
	double ack;

	memcpy(want, lines + (size_t)i * LINE_BYTES, MSG_BYTES);
	want[MSG_BYTES] = '\0';
	if (event_replied_ms(ev, o->seq + 1, MSG_BYTES, o->n, want, &ack) < 0)
		return -1;
	return 0;
}

/* Send one line and check its echo from every node: a node starts its
   co-process on its first message, and that start is not what the
   pipelined figure measures. Return 0 or -1. */
static int warm_up(struct orch *o)
{
	char line[LINE_BYTES], want[MSG_BYTES + 1];
	const char *ev;
	double ack;

	orch_line(line, "warm", 0);
	memcpy(want, line, MSG_BYTES);
	want[MSG_BYTES] = '\0';
	if (orch_write(o, line, sizeof(line)) < 0)
		return -1;
	ev = orch_event(o);
	if (!ev ||
	    event_replied_ms(ev, o->seq + 1, MSG_BYTES, o->n, want, &ack) < 0)
		return -1;
	o->seq++;
	return 0;
}

/* A fleet whose nodes each run cat, warmed up, then m lines pipelined
   through it: the replies per second and the reader's CPU into fig.
   Return 0 or -1. */
static int pipe_pipelined(struct handlers *h, unsigned m, double *fig)
{
	struct orch *o = &h->o;
	struct orch_span s;
	double secs;

	if (start(o, "pipe") < 0 || warm_up(o) < 0 ||
	    orch_pipeline(o, h->lines, (size_t)m * LINE_BYTES, m, check_echo,
	                  h->lines, &s) < 0 ||
	    stop(o) < 0) {
		orch_fail(o, "pipe handler");
		return -1;
	}
	secs = (double)(s.t1 - s.t0) / 1e9;
	fig[H_PIPE_RATE] = (double)m * o->n / secs;
	fig[H_PIPE_RCPU] = (double)s.reader_cpu / 1e9 / secs;
	return 0;
}

/* Time each tool found for n hosts into fig (NAN when not found);
   return 0 or -1. */
static int tools(const struct orch *o, double *fig)
{
	static const enum hfig col[NTOOLS] = {
	    [T_PDSH] = H_PDSH, [T_CLUSH] = H_CLUSH};

	for (int t = 0; t < NTOOLS; t++) {
		fig[col[t]] = NAN;
		if (o->b->tool[t][0] &&
		    tool_time(o->b, o->ch, t, o->n, &fig[col[t]]) < 0)
			return -1;
	}
	return 0;
}

int handlers_rep(struct handlers *h, double *fig)
{
	struct orch *o = &h->o;

	if (handler_rounds(o, "exec", &fig[H_EXEC]) < 0 ||
	    handler_rounds(o, "shell", &fig[H_SHELL]) < 0 ||
	    pipe_pipelined(h, pipelined_for(o->n), fig) < 0)
		return -1;
	return tools(o, fig);
}
