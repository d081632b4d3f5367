/* supervise.c - see supervise.h. */
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "connector.h"
#include "console.h"
#include "fleet.h"
#include "log.h"
#include "report.h"

#define BATCH_THREADS 16

/* One connect pool at work for nodes started while running. */
struct batch {
	struct batch *next;
	struct orch *o;
	struct connector c;
	struct connect_job *jobs;
	unsigned *generation; /* of each job's node when the job began */
	unsigned njobs;
	struct watcher w; /* the pool's eventfd */
};

/* Whether a process ended in failure (a signal or a non-zero status). */
static bool failed(int status)
{
	return WIFSIGNALED(status) ||
	       (WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

/* Free retired nodes at the end of the array once they are reaped. */
static void drop_retired(struct orch *o)
{
	while (o->nalloc > o->n && !o->nodes[o->nalloc - 1]->running)
		fleet_drop_last(o);
}

static void schedule_restart(struct orch *o, struct node *nd)
{
	uint64_t now = clock_ns();
	unsigned delay;

	if (now - nd->window_ns > MS_NS(RESTART_WINDOW_MS)) {
		nd->window_ns = now;
		nd->restarts = 0;
	}
	if (nd->restarts >= RESTART_MAX) {
		report_node(o, nd,
		            "failed %u times within %u s; not "
		            "restarting it again",
		            RESTART_MAX + 1, RESTART_WINDOW_MS / 1000);
		return;
	}
	delay = RESTART_DELAY_MS << nd->restarts;
	nd->restarts++;
	nd->restart_ns = now + MS_NS(delay);
	o->timers_armed = true;
	report_node(o, nd,
	            "restarting in %u ms (restart %u of at most %u "
	            "within %u s)",
	            delay, nd->restarts, RESTART_MAX, RESTART_WINDOW_MS / 1000);
}

void supervise_node_exit(struct orch *o, struct node *nd)
{
	if (nd->state == NODE_STOPPING) {
		/* Freed by supervise_tick(): the loop may still hold events
		   for its watchers in the round that brought this exit. */
		fleet_set_state(nd, NODE_DOWN);
		nd->stop_ns = 0;
		return;
	}
	o->incomplete = true;
	report_node_exit(o, nd);
	if (o->cfg.restart == RESTART_ON_FAILURE && failed(nd->wait_status))
		schedule_restart(o, nd);
}

/* Start nd's process again; on failure it stays down, said so. */
static void restart(struct orch *o, struct node *nd)
{
	char err[512];

	nd->restart_ns = 0;
	nd->total_restarts++;
	if (fleet_spawn(o, nd, err, sizeof(err)) < 0) {
		report_node(o, nd, "could not be restarted: %s", err);
		schedule_restart(o, nd); /* a later try, within the limit */
	}
}

/* Adopt or drop the result of one job of a finished batch. */
static void adopt(struct orch *o, struct batch *b, unsigned k)
{
	struct connect_job *j = &b->jobs[k];
	struct node *nd = j->index < o->nalloc ? o->nodes[j->index] : NULL;
	/* The job's own start of the node, or a later start that the job's
	   retries reached (its WELCOME names the new pid): either way this
	   is the node now, and it serves only the first connection. */
	bool current = nd && nd->running && nd->state == NODE_CONNECTING &&
	               (nd->generation == b->generation[k] ||
	                (j->fd >= 0 && j->pid == nd->pid));

	if (j->fd >= 0 && current) {
		if (console_attach(o, nd, j->fd) == 0) {
			/* Newcomers of a reload are summed up by its scale
			   report; a comeback is news of its own. */
			if (nd->total_restarts)
				report_node(o, nd, "connected after a restart");
			return;
		}
		/* console_attach() closed it. */
	} else if (j->fd >= 0) {
		close(j->fd); /* the node it reached is gone or replaced */
	}
	if (current) {
		/* Started but unreachable: stop it; on-failure brings it
		   back if it is allowed to come back. */
		report_node(o, nd, "could not be connected within %u ms: %s",
		            o->cfg.connect_timeout_ms, j->err);
		fleet_set_state(nd, NODE_LOST);
		fleet_signal_node(nd, SIGKILL);
	}
}

static void free_batch(struct orch *o, struct batch *b)
{
	struct batch **p = &o->batches;

	while (*p != b)
		p = &(*p)->next;
	*p = b->next;
	loop_watch(&o->loop, &b->w, 0);
	close(b->w.fd);
	free(b->jobs);
	free(b->generation);
	free(b);
}

static void on_batch_done(struct watcher *w, uint32_t events)
{
	struct batch *b = w->arg;
	struct orch *o = b->o;
	uint64_t count;

	(void)events;
	if (read(w->fd, &count, sizeof(count)) < 0 && errno == EAGAIN)
		return;
	connector_finish(&b->c); /* every job is done: joins at once */
	for (unsigned k = 0; k < b->njobs; k++)
		adopt(o, b, k);
	free_batch(o, b);
}

/* Allocate a batch for n jobs with its eventfd watched; NULL on error. */
static struct batch *new_batch(struct orch *o, unsigned n)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->o = o;
	b->jobs = calloc(n, sizeof(*b->jobs));
	b->generation = calloc(n, sizeof(*b->generation));
	b->w = (struct watcher){.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
	                        .fn = on_batch_done,
	                        .arg = b};
	if (!b->jobs || !b->generation || b->w.fd < 0 ||
	    loop_watch(&o->loop, &b->w, EPOLLIN) < 0) {
		if (b->w.fd >= 0)
			close(b->w.fd);
		free(b->jobs);
		free(b->generation);
		free(b);
		return NULL;
	}
	b->next = o->batches;
	o->batches = b;
	return b;
}

/* Connect every node that became ready since the last round. */
static void connect_ready(struct orch *o)
{
	unsigned n = o->nready;
	struct batch *b;
	char err[256];

	if (n == 0)
		return;
	b = new_batch(o, n);
	if (!b) {
		log_errno("connecting new nodes");
		return;
	}
	for (unsigned i = 0; i < o->n; i++) {
		struct node *nd = o->nodes[i];
		if (nd->state != NODE_READY)
			continue;
		b->jobs[b->njobs] = (struct connect_job){.index = i};
		if (fleet_node_addr(o, nd, &b->jobs[b->njobs].addr, err,
		                    sizeof(err)) < 0) {
			/* Not retried each round: the node is given up. */
			report_node(o, nd, "cannot be reached: %s", err);
			fleet_set_state(nd, NODE_LOST);
			fleet_signal_node(nd, SIGKILL);
			continue;
		}
		fleet_set_state(nd, NODE_CONNECTING);
		b->generation[b->njobs++] = nd->generation;
	}
	if (b->njobs == 0) {
		free_batch(o, b);
		return;
	}
	if (connector_start(&b->c, b->jobs, b->njobs, o->token,
	                    clock_ns() + MS_NS(o->cfg.connect_timeout_ms),
	                    o->cfg.retry_initial_ms, o->cfg.retry_max_ms,
	                    BATCH_THREADS, b->w.fd) < 0) {
		log_errno("connect threads");
		connector_finish(&b->c);
		for (unsigned k = 0; k < b->njobs; k++)
			fleet_set_state(o->nodes[b->jobs[k].index], NODE_READY);
		free_batch(o, b);
	}
}

/* Report a reload's change of size once it has settled. */
static void check_scale(struct orch *o)
{
	unsigned connected = 0, settled = 0;

	if (!o->scale.active || o->nalloc > o->n)
		return;
	for (unsigned i = 0; i < o->n; i++) {
		const struct node *nd = o->nodes[i];
		connected += nd->state == NODE_CONNECTED;
		settled += nd->state == NODE_CONNECTED ||
		           (nd->state == NODE_DOWN && !nd->restart_ns);
	}
	if (settled < o->n)
		return;
	o->scale.active = false;
	report_scale(o, o->scale.from, o->scale.to, connected,
	             (double)(clock_ns() - o->scale.t0_ns) / 1e6);
}

/* Fire the restarts and SIGKILLs that are due; keep timers_armed true
   only while some remain, so an idle fleet costs no scan. */
static void fire_timers(struct orch *o)
{
	uint64_t now = clock_ns();
	bool armed = false;

	for (unsigned i = 0; i < o->nalloc; i++) {
		struct node *nd = o->nodes[i];
		if (nd->restart_ns && nd->restart_ns <= now)
			restart(o, nd);
		if (nd->stop_ns && nd->stop_ns <= now) {
			nd->stop_ns = 0;
			fleet_signal_node(nd, SIGKILL);
		}
		armed |= nd->restart_ns || nd->stop_ns;
	}
	o->timers_armed = armed;
}

void supervise_tick(struct orch *o)
{
	if (o->timers_armed)
		fire_timers(o);
	drop_retired(o);
	connect_ready(o);
	check_scale(o);
}

int supervise_timeout(const struct orch *o)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; o->timers_armed && i < o->nalloc; i++) {
		const struct node *nd = o->nodes[i];
		if (nd->restart_ns && nd->restart_ns < next)
			next = nd->restart_ns;
		if (nd->stop_ns && nd->stop_ns < next)
			next = nd->stop_ns;
	}
	return next == UINT64_MAX ? -1 : clock_ms_until(next);
}

/* Stop node nd, surplus after a reload: BYE, SIGTERM, grace. */
static void retire(struct orch *o, struct node *nd)
{
	nd->restart_ns = 0;
	if (!nd->running) {
		fleet_set_state(nd, NODE_DOWN);
		return;
	}
	if (nd->state == NODE_CONNECTED)
		console_bye_node(o, nd);
	fleet_set_state(nd, NODE_STOPPING);
	fleet_signal_node(nd, SIGTERM);
	fleet_signal_node(nd, SIGCONT);
	nd->stop_ns = clock_ns() + MS_NS(o->cfg.stop_timeout_ms);
	o->timers_armed = true;
}

int supervise_scale(struct orch *o, unsigned n)
{
	unsigned from = o->n;
	char err[512];

	if (o->scale.active || o->nalloc > o->n) {
		log_msg("reload: the last change of size is still under way; "
		        "try again when it is done");
		return -1;
	}
	if (n == from)
		return 0;
	if (n > from && (fleet_raise_nofile(n) < 0 || fleet_add(o, n) < 0)) {
		log_errno("reload: %u nodes", n);
		return -1;
	}
	o->scale.active = true;
	o->scale.from = from;
	o->scale.to = n;
	o->scale.t0_ns = clock_ns();
	if (n < from) {
		o->n = n;
		for (unsigned i = n; i < o->nalloc; i++)
			retire(o, o->nodes[i]);
		drop_retired(o);
		return 0;
	}
	for (unsigned i = from; i < n; i++)
		if (fleet_spawn(o, o->nodes[i], err, sizeof(err)) < 0) {
			report_node(o, o->nodes[i], "could not start: %s", err);
			o->incomplete = true;
		}
	return 0;
}

void supervise_stop(struct orch *o)
{
	while (o->batches) {
		struct batch *b = o->batches;
		connector_finish(&b->c);
		for (unsigned k = 0; k < b->njobs; k++)
			if (b->jobs[k].fd >= 0)
				close(b->jobs[k].fd);
		free_batch(o, b);
	}
}
