/* supervisor.c - see supervisor.h. */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backoff.h"
#include "clock.h"
#include "connector.h"
#include "log.h"

#define BATCH_THREADS 16
#define GROUP_POLL_MS 100 /* how often reaped nodes' groups are looked at */
#define KILL_WAIT_MS                                                           \
	2000 /* a group that outlives SIGKILL this long is                     \
	        given up */

/* One connect pool at work for nodes started while running. */
struct batch {
	struct batch *next;
	struct supervisor *s;
	struct connector c;
	struct connect_job *jobs;
	unsigned *generation; /* of each job's node when the job began */
	unsigned njobs;
	struct watcher w; /* the pool's eventfd */
};

void supervisor_init(struct supervisor *s, struct loop *loop,
                     struct fleet *fleet, struct links *links, struct out *out,
                     struct outcome *outcome, struct settings *settings,
                     const uint8_t token[PROTO_TOKEN_LEN])
{
	*s = (struct supervisor){.loop = loop,
	                         .fleet = fleet,
	                         .links = links,
	                         .out = out,
	                         .outcome = outcome,
	                         .settings = settings,
	                         .token = token};
}

/* Free retired nodes at the end of the array once they are reaped. */
static void drop_retired(struct supervisor *s)
{
	struct fleet *f = s->fleet;

	while (f->nalloc > f->n &&
	       !fleet_node_alive(f, f->nodes[f->nalloc - 1]))
		fleet_drop_last(f);
}

static void schedule_restart(struct supervisor *s, struct node *nd)
{
	uint64_t now = clock_ns();
	int delay = backoff_next(&nd->up.backoff, now);

	if (delay < 0) {
		out_node(s->out, nd,
		         "failed %u times within %u s; not "
		         "restarting it again",
		         BACKOFF_MAX + 1, BACKOFF_WINDOW_MS / 1000);
		return;
	}
	nd->up.restart_ns = now + MS_NS(delay);
	s->timers_armed = true;
	out_node(s->out, nd,
	         "restarting in %d ms (restart %u of at most %u "
	         "within %u s)",
	         delay, nd->up.backoff.restarts, BACKOFF_MAX,
	         BACKOFF_WINDOW_MS / 1000);
}

/* Send SIGTERM (and SIGCONT, for a stopped one) to nd's process group,
   noting when for out_sigkill(); return whether any of it lives. */
static bool terminate(struct supervisor *s, struct node *nd)
{
	if (!fleet_signal_node(s->fleet, nd, SIGTERM))
		return false;
	fleet_signal_node(s->fleet, nd, SIGCONT);
	nd->up.termed_ns = clock_ns();
	return true;
}

/* nd outlived SIGTERM (a stopping node, or what a dead one left in its
   group): say so, and send SIGKILL. */
static void kill_outliver(struct supervisor *s, struct node *nd)
{
	uint64_t since = nd->up.termed_ns ? clock_ns() - nd->up.termed_ns : 0;

	out_sigkill(s->out, nd, (unsigned)(since / 1000000));
	fleet_signal_node(s->fleet, nd, SIGKILL);
}

/* The leader of nd's group is gone: whatever it started there gets
   SIGTERM now and SIGKILL at stop_timeout_ms (or when nd starts again,
   if sooner), so a dead node leaves nothing running (SPEC §12). */
static void clear_group(struct supervisor *s, struct node *nd)
{
	if (!terminate(s, nd)) {
		nd->up.stop_ns = 0;
		return;
	}
	if (!nd->up.stop_ns)
		nd->up.stop_ns =
		    clock_ns() + MS_NS(s->settings->cfg.stop_timeout_ms);
	s->timers_armed = true;
}

void supervisor_node_exit(struct supervisor *s, struct node *nd)
{
	if (nd->state == NODE_STOPPING) {
		/* A retired node: freed by supervisor_tick() once its group
		   is empty, after this round's broadcast reports, which may
		   still name it. */
		fleet_set_state(s->fleet, nd, NODE_DOWN);
		clear_group(s, nd);
		return;
	}
	outcome_fail(s->outcome);
	out_node_exit(s->out, nd);
	clear_group(s, nd);
	/* What its handlers ran (a scan of /proc: only when they may have). */
	if (s->links->commands)
		fleet_kill_session(nd);
	if (nd->proc.lost_host) {
		/* Not its failure: it starts again with its host, when that
		   is launched again (with a backoff of its own), however
		   often the host is lost. */
		if (s->settings->cfg.restart == RESTART_ON_FAILURE) {
			uint64_t at = fleet_host_retry_ns(s->fleet, nd);
			nd->up.restart_ns = at > clock_ns() ? at : clock_ns();
			s->timers_armed = true;
		}
		return;
	}
	if (backoff_wanted(s->settings->cfg.restart, nd->proc.wait_status))
		schedule_restart(s, nd);
}

/* Start nd's process again, its old group cleared first; on failure it
   stays down, said so. */
static void restart(struct supervisor *s, struct node *nd)
{
	char err[512];

	if (fleet_node_alive(s->fleet, nd))
		kill_outliver(s, nd);
	nd->up.stop_ns = nd->up.forget_ns = nd->up.term_ns = 0;
	nd->up.termed_ns = 0;
	nd->up.restart_ns = 0;
	nd->up.total_restarts++;
	if (fleet_spawn(s->fleet, nd, err, sizeof(err)) < 0) {
		out_node(s->out, nd, "could not be restarted: %s", err);
		schedule_restart(s, nd); /* a later try, within the limit */
	}
}

/* Adopt or drop the result of one job of a finished batch. */
static void adopt(struct supervisor *s, struct batch *b, unsigned k)
{
	struct fleet *f = s->fleet;
	struct connect_job *j = &b->jobs[k];
	struct node *nd = j->index < f->nalloc ? f->nodes[j->index] : NULL;
	/* The job's own start of the node, or a later start that the job's
	   retries reached (its WELCOME names the new pid): either way this
	   is the node now, and it serves only the first connection. */
	bool current = nd && nd->proc.running && nd->state == NODE_CONNECTING &&
	               (nd->proc.generation == b->generation[k] ||
	                (j->fd >= 0 && j->pid == nd->proc.pid));

	if (j->fd >= 0 && current) {
		if (links_attach(s->links, nd, j->fd) == 0) {
			/* Newcomers of a reload are summed up by its scale
			   report; a comeback is news of its own. */
			if (nd->up.total_restarts)
				out_node(s->out, nd,
				         "connected after a restart");
			return;
		}
		/* links_attach() closed it. */
	} else if (j->fd >= 0) {
		close(j->fd); /* the node it reached is gone or replaced */
	}
	if (current) {
		/* Started but unreachable: stop it; on-failure brings it
		   back if it is allowed to come back. */
		out_node(s->out, nd, "could not be connected within %u ms: %s",
		         s->settings->cfg.connect_timeout_ms, j->err);
		fleet_set_state(f, nd, NODE_LOST);
		fleet_signal_node(f, nd, SIGKILL);
	}
}

static void free_batch(struct supervisor *s, struct batch *b)
{
	struct batch **p = &s->batches;

	while (*p != b)
		p = &(*p)->next;
	*p = b->next;
	loop_watch(s->loop, &b->w, 0);
	close(b->w.fd);
	free(b->jobs);
	free(b->generation);
	free(b);
}

static void on_batch_done(struct watcher *w, uint32_t events)
{
	struct batch *b = w->arg;
	struct supervisor *s = b->s;
	uint64_t count;

	(void)events;
	if (read(w->fd, &count, sizeof(count)) < 0 && errno == EAGAIN)
		return;
	connector_finish(&b->c); /* every job is done: joins at once */
	for (unsigned k = 0; k < b->njobs; k++)
		adopt(s, b, k);
	free_batch(s, b);
}

/* Allocate a batch for n jobs with its eventfd watched; NULL on error. */
static struct batch *new_batch(struct supervisor *s, unsigned n)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->s = s;
	b->jobs = calloc(n, sizeof(*b->jobs));
	b->generation = calloc(n, sizeof(*b->generation));
	b->w = (struct watcher){.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
	                        .fn = on_batch_done,
	                        .arg = b};
	if (!b->jobs || !b->generation || b->w.fd < 0 ||
	    loop_watch(s->loop, &b->w, EPOLLIN) < 0) {
		if (b->w.fd >= 0)
			close(b->w.fd);
		free(b->jobs);
		free(b->generation);
		free(b);
		return NULL;
	}
	b->next = s->batches;
	s->batches = b;
	return b;
}

/* Start a pool on b's jobs; on failure put its nodes back to ready. */
static void start_batch(struct supervisor *s, struct batch *b)
{
	const struct config *cfg = &s->settings->cfg;

	if (connector_start(&b->c, b->jobs, b->njobs, s->token,
	                    clock_ns() + MS_NS(cfg->connect_timeout_ms),
	                    cfg->retry_initial_ms, cfg->retry_max_ms,
	                    BATCH_THREADS, b->w.fd) == 0)
		return;
	log_errno("connect threads");
	connector_finish(&b->c);
	for (unsigned k = 0; k < b->njobs; k++)
		fleet_set_state(s->fleet, s->fleet->nodes[b->jobs[k].index],
		                NODE_READY);
	free_batch(s, b);
}

/* Connect every node that became ready since the last round. */
static void connect_ready(struct supervisor *s)
{
	struct fleet *f = s->fleet;
	struct batch *b;
	char err[256];

	if (f->nready == 0)
		return;
	b = new_batch(s, f->nready);
	if (!b) {
		log_errno("connecting new nodes");
		return;
	}
	for (unsigned i = 0; i < f->n; i++) {
		struct node *nd = f->nodes[i];
		if (nd->state != NODE_READY)
			continue;
		b->jobs[b->njobs] = (struct connect_job){.index = i};
		if (links_node_addr(s->links, nd, &b->jobs[b->njobs].addr, err,
		                    sizeof(err)) < 0) {
			/* Not retried each round: the node is given up. */
			out_node(s->out, nd, "cannot be reached: %s", err);
			fleet_set_state(f, nd, NODE_LOST);
			fleet_signal_node(f, nd, SIGKILL);
			continue;
		}
		fleet_set_state(f, nd, NODE_CONNECTING);
		b->generation[b->njobs++] = nd->proc.generation;
	}
	if (b->njobs == 0)
		free_batch(s, b);
	else
		start_batch(s, b);
}

/* Report a reload's change of size once it has settled. */
static void check_scale(struct supervisor *s)
{
	const struct fleet *f = s->fleet;
	unsigned connected = 0, settled = 0;

	if (!s->scale.active || f->nalloc > f->n)
		return;
	for (unsigned i = 0; i < f->n; i++) {
		const struct node *nd = f->nodes[i];
		connected += nd->state == NODE_CONNECTED;
		/* A node waiting for its host, lost, does not hold the
		   change up: the host may be gone for long. */
		settled += nd->state == NODE_CONNECTED ||
		           (nd->state == NODE_DOWN && !nd->up.restart_ns) ||
		           fleet_node_waits_host(nd);
	}
	if (settled < f->n)
		return;
	s->scale.active = false;
	out_scale(s->out, s->scale.from, s->scale.to, connected,
	          clock_ms_since(s->scale.t0_ns));
}

/* Fire the restarts and SIGKILLs that are due; keep timers_armed true
   only while some remain, so an idle fleet costs no scan. */
static void fire_timers(struct supervisor *s)
{
	struct fleet *f = s->fleet;
	uint64_t now = clock_ns();
	bool armed = false;

	for (unsigned i = 0; i < f->nalloc; i++) {
		struct node *nd = f->nodes[i];
		if (nd->up.restart_ns && nd->up.restart_ns <= now)
			restart(s, nd);
		if (nd->up.term_ns && nd->up.term_ns <= now) {
			nd->up.term_ns = 0;
			terminate(s, nd);
		}
		if (nd->up.stop_ns && nd->up.stop_ns <= now) {
			nd->up.stop_ns = 0;
			if (fleet_node_alive(f, nd)) {
				kill_outliver(s, nd);
				nd->up.forget_ns = now + MS_NS(KILL_WAIT_MS);
			}
		}
		if (nd->up.forget_ns && nd->up.forget_ns <= now) {
			nd->up.forget_ns = 0;
			if (fleet_node_alive(f, nd) && !nd->proc.running) {
				out_node(s->out, nd,
				         "left processes in its group that did "
				         "not exit %u ms after SIGKILL; no "
				         "longer watched",
				         KILL_WAIT_MS);
				fleet_forget_group(f, nd);
			}
		}
		armed |=
		    nd->up.restart_ns || nd->up.stop_ns || nd->up.forget_ns;
	}
	s->timers_armed = armed;
}

/* Whether a change of size is under way (until its scale is said and
   its surplus nodes are gone). */
static bool scaling(const struct supervisor *s)
{
	return s->scale.active || s->fleet->nalloc > s->fleet->n;
}

void supervisor_tick(struct supervisor *s)
{
	int hosts_ms;

	fleet_check_groups(s->fleet);
	if (s->timers_armed)
		fire_timers(s);
	drop_retired(s);
	connect_ready(s);
	check_scale(s);
	if (s->reload_deferred && !scaling(s) &&
	    !outcome_stopping(s->outcome)) {
		s->reload_deferred = false;
		supervisor_reload(s, s->deferred_edit);
		s->deferred_edit = false;
	}
	/* Last: a launcher started by this round's restarts is timed. */
	hosts_ms = fleet_tick(s->fleet);
	s->hosts_ns = hosts_ms < 0 ? 0 : clock_ns() + MS_NS(hosts_ms);
}

int supervisor_timeout(const struct supervisor *s)
{
	const struct fleet *f = s->fleet;
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; s->timers_armed && i < f->nalloc; i++) {
		const struct node *nd = f->nodes[i];
		if (nd->up.restart_ns && nd->up.restart_ns < next)
			next = nd->up.restart_ns;
		if (nd->up.stop_ns && nd->up.stop_ns < next)
			next = nd->up.stop_ns;
		if (nd->up.forget_ns && nd->up.forget_ns < next)
			next = nd->up.forget_ns;
		if (nd->up.term_ns && nd->up.term_ns < next)
			next = nd->up.term_ns;
	}
	if (s->hosts_ns && s->hosts_ns < next)
		next = s->hosts_ns;
	/* Groups emptied unheard are looked at often (fleet.h). */
	if (f->lingering > 0 && next > clock_ns() + MS_NS(GROUP_POLL_MS))
		next = clock_ns() + MS_NS(GROUP_POLL_MS);
	return next == UINT64_MAX ? -1 : clock_ms_until(next);
}

/* Stop node nd, surplus after a reload: BYE, SIGTERM, grace. */
static void retire(struct supervisor *s, struct node *nd)
{
	nd->up.restart_ns = 0;
	if (!nd->proc.running) {
		fleet_set_state(s->fleet, nd, NODE_DOWN);
		clear_group(s, nd);
		return;
	}
	uint64_t now = clock_ns(),
	         grace = MS_NS(s->settings->cfg.stop_timeout_ms);
	bool connected = nd->state == NODE_CONNECTED;

	fleet_set_state(s->fleet, nd, NODE_STOPPING);
	if (connected) {
		/* BYE first: the node acks what it was sent before it, then
		   leaves; SIGTERM only if it has not at half the grace. */
		links_bye_node(s->links, nd);
		nd->up.term_ns = now + grace / 2;
		fleet_signal_node(s->fleet, nd, SIGCONT); /* if stopped */
	} else {
		terminate(s, nd);
	}
	nd->up.stop_ns = now + grace;
	s->timers_armed = true;
}

/* Resize the running fleet to n nodes. Return 0, or -1 with a message
   in err when it cannot be done now. */
static int scale(struct supervisor *s, unsigned n, char *err, size_t errlen)
{
	struct fleet *f = s->fleet;
	unsigned from = f->n;
	char why[512];

	if (s->scale.active || f->nalloc > f->n) {
		snprintf(err, errlen,
		         "the last change of size is still under "
		         "way; try again when it is done");
		return -1;
	}
	if (n == from)
		return 0;
	if (n > from && fleet_raise_nofile(n, err, errlen) < 0)
		return -1;
	if (n > from && fleet_add(f, n) < 0) {
		snprintf(err, errlen, "%u nodes: %s", n, strerror(errno));
		return -1;
	}
	s->scale.active = true;
	s->scale.from = from;
	s->scale.to = n;
	s->scale.t0_ns = clock_ns();
	if (n < from) {
		f->n = n;
		for (unsigned i = n; i < f->nalloc; i++)
			retire(s, f->nodes[i]);
		drop_retired(s);
		return 0;
	}
	for (unsigned i = from; i < n; i++)
		if (fleet_spawn(f, f->nodes[i], why, sizeof(why)) < 0) {
			out_node(s->out, f->nodes[i], "could not start: %s",
			         why);
			outcome_fail(s->outcome);
		}
	return 0;
}

/* Say which keys the file changed that must wait for the next start. */
static void say_kept(const struct config *now, unsigned kept)
{
	if (kept & KEPT_BASE_PORT)
		log_msg("reload: base_port cannot change while nodes run; "
		        "keeping %u",
		        now->base_port);
	if (kept & KEPT_HOST)
		log_msg("reload: host cannot change while nodes run; keeping "
		        "%s",
		        now->host);
	if (kept & KEPT_HOSTS)
		log_msg("reload: hosts cannot change while nodes run; keeping "
		        "them");
	if (kept & KEPT_COMMAND)
		log_msg("reload: command cannot change while nodes run; "
		        "keeping the one they started with");
	if (kept & KEPT_LAUNCHER)
		log_msg("reload: launcher cannot change while nodes run; "
		        "keeping the one they started with");
}

void supervisor_reload(struct supervisor *s, bool edited)
{
	struct settings *st = s->settings;
	struct reload_plan plan;
	struct config c;
	char err[1024];

	if (scaling(s)) {
		/* The file is read once this change is done: an edit made
		   meanwhile is not lost. */
		log_msg("reload: the last change of size is still under way; "
		        "reading the file again when it is done");
		s->reload_deferred = true;
		s->deferred_edit |= edited;
		return;
	}
	s->reload_failed = true; /* until the file proves usable */
	if (settings_reread(&st->cli, &c, err, sizeof(err)) < 0) {
		log_msg("reload: %s; keeping the running configuration", err);
		return;
	}
	if (settings_merge(&st->cfg, &c, &plan) < 0) {
		say_kept(&st->cfg, plan.kept);
		log_msg("reload: %u nodes from port %u do not fit below 65536; "
		        "keeping the running configuration",
		        plan.nodes, c.base_port);
		return;
	}
	s->reload_failed = false;
	say_kept(&st->cfg, plan.kept);
	st->cfg = c;
	if (edited && plan.nodes != s->fleet->n)
		out_text(s->out, "%s changed: %u -> %u nodes",
		         st->cli.config_path, s->fleet->n, plan.nodes);
	else if (edited)
		out_text(s->out, "%s changed; still %u nodes%s%s%s",
		         st->cli.config_path, plan.nodes,
		         st->cli.num_clients ? " (-n " : "",
		         st->cli.num_clients ? st->cli.num_clients : "",
		         st->cli.num_clients ? " overrides num_clients)" : "");
	else
		log_msg("reload: %s read; %u nodes wanted, %u running",
		        st->cli.config_path, plan.nodes, s->fleet->n);
	if (links_setup(s->links, err, sizeof(err)) < 0)
		log_msg("reload: [node] handler_command: %s", err);
	if (scale(s, plan.nodes, err, sizeof(err)) < 0)
		log_msg("reload: %s", err);
	else
		st->cfg.num_clients = plan.nodes;
}

void supervisor_stop(struct supervisor *s)
{
	if (s->reload_deferred)
		log_msg("reload: not done: the fleet stopped before the last "
		        "change of size was over");
	s->reload_deferred = false;
	while (s->batches) {
		struct batch *b = s->batches;
		connector_finish(&b->c);
		for (unsigned k = 0; k < b->njobs; k++)
			if (b->jobs[k].fd >= 0)
				close(b->jobs[k].fd);
		free_batch(s, b);
	}
}
