/* fleet.c - see fleet.h. */
#include "fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "format.h"
#include "io.h"
#include "log.h"
#include "node_env.h"
#include "nodeset.h"
#include "proc.h"
#include "template.h"

#define READY_FD         3 /* where a node finds its readiness pipe */
#define OUTPUT_LINE_MAX  4096
#define REAP_READS       16   /* reads of a reaped node's pipe, at most */
#define SPAWN_THREAD_MIN 32   /* nodes worth a second spawning thread */
#define SESSION_MAX      1024 /* a dead node's session, cleared at once */

/* Return a copy of environ with the node_env.h variables set, their
   strings kept in f->env_vars. */
static char **node_environment(struct fleet *f)
{
	size_t k;
	char hex[TOKEN_HEX_LEN + 1], **env = proc_child_environ(2, &k);

	if (!env)
		return NULL;
	token_to_hex(f->token, hex);
	snprintf(f->env_vars[0], sizeof(f->env_vars[0]), ENV_TOKEN "=%s", hex);
	snprintf(f->env_vars[1], sizeof(f->env_vars[1]), ENV_READY_FD "=%d",
	         READY_FD);
	env[k++] = f->env_vars[0];
	env[k++] = f->env_vars[1];
	explicit_bzero(hex, sizeof(hex));
	env[k] = NULL;
	return env;
}

static int far_init(struct fleet *f, char *err, size_t errlen);

int fleet_init(struct fleet *f, struct loop *loop, struct out *out,
               const struct config *cfg, const char *log_dir,
               const uint8_t token[PROTO_TOKEN_LEN],
               void (*on_exit)(void *arg, struct node *nd), void *arg,
               char *err, size_t errlen)
{
	char why[PATH_MAX + 64];

	f->on_exit = on_exit;
	f->exit_arg = arg;
	f->loop = loop;
	f->out = out;
	f->cfg = cfg;
	f->log_dir = log_dir;
	f->token = token;
	f->ninherited =
	    proc_children(getpid(), f->inherited, FLEET_INHERITED_MAX);
	if (!cfg->command[0] &&
	    proc_sibling_path("node", f->node_path, sizeof(f->node_path), why,
	                      sizeof(why)) < 0) {
		snprintf(err, errlen,
		         "%s (node is installed beside "
		         "orchestrator)",
		         why);
		return -1;
	}
	if (template_parse(&f->command, cfg->command, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "[node] command: %s", why);
		return -1;
	}
	f->node_env = node_environment(f);
	if (!f->node_env) {
		snprintf(err, errlen, "environment: out of memory");
		return -1;
	}
	return cfg->launcher[0] ? far_init(f, err, errlen) : 0;
}

int fleet_add(struct fleet *f, unsigned n)
{
	struct node **nodes = realloc(f->nodes, n * sizeof(*nodes));

	if (!nodes)
		return -1;
	f->nodes = nodes;
	for (; f->nalloc < n; f->nalloc++) {
		struct node *nd = calloc(1, sizeof(*nd));
		if (!nd)
			return -1;
		nd->index = f->nalloc;
		nd->port = f->cfg->base_port + f->nalloc;
		nd->host = config_node_host(f->cfg, f->nalloc);
		nd->proc.ready_fd = nd->proc.out_fd = nd->link.sock = -1;
		nd->state = NODE_DOWN;
		f->nodes[f->nalloc] = nd;
	}
	f->n = n;
	return 0;
}

void fleet_drop_last(struct fleet *f)
{
	struct node *nd = f->nodes[--f->nalloc];

	if (!nd->proc.running && nd->proc.pgid != 0)
		f->lingering--;
	buf_free(&nd->link.in);
	buf_free(&nd->link.out);
	buf_free(&nd->proc.text);
	free(nd);
	if (f->n > f->nalloc)
		f->n = f->nalloc;
}

/* Build the argv of the built-in node command (no template, so a blank
   in the install path is harmless) into words and argv. */
static void default_argv(const struct fleet *f, const struct node *nd,
                         char *words, char **argv)
{
	char *port = words, *index = words + 16;

	snprintf(port, 16, "%u", nd->port);
	snprintf(index, 16, "%u", nd->index);
	argv[0] = (char *)f->node_path;
	argv[1] = "--host";
	argv[2] = (char *)nd->host;
	argv[3] = "--port";
	argv[4] = port;
	argv[5] = "--index";
	argv[6] = index;
	argv[7] = NULL;
}

/* Build argv for nd into words (storage) and argv; return argc, or -1
   when the expanded [node] command does not fit. */
static int build_argv(const struct fleet *f, const struct node *nd, char *words,
                      size_t wordslen, char **argv)
{
	struct template_vars v = {nd->host, nd->port, nd->index};

	if (!f->cfg->command[0]) {
		default_argv(f, nd, words, argv);
		return 7;
	}
	return template_expand(&f->command, &v, words, wordslen, argv);
}

/* Append a line of nd's output to DIR/node-I.log (--log-dir). */
static void log_line(struct fleet *f, const struct node *nd, const char *text,
                     size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/node-%u.log", f->log_dir, nd->index);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		out_node_output(f->out, nd->index, text, len); /* not lost */
		return;
	}
	if (io_write_all(fd, text, len) < 0 || io_write_all(fd, "\n", 1) < 0)
		log_errno("%s", path);
	close(fd);
}

/* Return where to cut the n bytes at p so that a UTF-8 character whose
   last bytes have not come yet is not split: before its first byte, or
   n when the text ends whole (or is not UTF-8 there). */
static size_t utf8_cut(const uint8_t *p, size_t n)
{
	size_t j = n - 1, len;

	while (j > 0 && n - j < 4 && (p[j] & 0xc0) == 0x80)
		j--;
	len = p[j] >= 0xf0 ? 4 : p[j] >= 0xe0 ? 3 : p[j] >= 0xc0 ? 2 : 1;
	return j > 0 && j + len > n ? j : n;
}

/* Remember text (len bytes, escaped) as nd's last line. */
static void keep_last_line(struct node *nd, const char *text, size_t len)
{
	char *last = nd->proc.last_lines[nd->proc.nlines++ % NODE_LAST_LINES];
	size_t keep = len < NODE_LAST_LINE - 1
	                  ? len
	                  : utf8_cut((const uint8_t *)text, NODE_LAST_LINE - 1);

	memcpy(last, text, keep);
	last[keep] = '\0';
}

/* The node's output: show or log whole lines, remember the last few. A
   CR before the newline is not part of the line (SPEC §8: what ssh
   relays from a remote terminal's end ends "\r\n"). */
static void on_line(struct fleet *f, struct node *nd, const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len == strlen(READY_LINE) && !memcmp(s, READY_LINE, len)) {
		/* Readiness from a node with no descriptor 3 (ssh). */
		if (nd->state == NODE_STARTING)
			fleet_set_state(f, nd, NODE_READY);
		return;
	}
	struct buf b = {0};
	const char *text;

	format_escape(&b, s, len);
	text = buf_used(&b) ? (const char *)buf_head(&b) : "";
	keep_last_line(nd, text, buf_used(&b));
	if (f->log_dir)
		log_line(f, nd, text, buf_used(&b));
	else
		out_node_output(f->out, nd->index, text, buf_used(&b));
	buf_free(&b);
}

/* Read what the node printed; return 1 after reading some, 0 when nothing
   is there now, -1 at EOF or on an error. */
static int read_output(struct fleet *f, struct node *nd)
{
	struct buf *t = &nd->proc.text;
	ssize_t r;
	uint8_t *nl;

	if (buf_reserve(t, OUTPUT_LINE_MAX) < 0)
		return -1;
	r = io_read(nd->proc.out_fd, buf_tail(t), OUTPUT_LINE_MAX);
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r > 0)
		buf_commit(t, (size_t)r);
	while ((nl = memchr(buf_head(t), '\n', buf_used(t)))) {
		on_line(f, nd, (char *)buf_head(t), (size_t)(nl - buf_head(t)));
		buf_consume(t, (size_t)(nl - buf_head(t)) + 1);
	}
	/* An endless line is shown in pieces rather than held forever,
	   cut between characters, not inside one. */
	if (buf_used(t) >= OUTPUT_LINE_MAX) {
		size_t cut = utf8_cut(buf_head(t), buf_used(t));
		on_line(f, nd, (char *)buf_head(t), cut);
		buf_consume(t, cut);
	}
	if (r <= 0 && buf_used(t) > 0) {
		on_line(f, nd, (char *)buf_head(t), buf_used(t));
		buf_consume(t, buf_used(t));
	}
	return r <= 0 ? -1 : 1;
}

static void on_output(struct watcher *w, uint32_t events)
{
	struct fleet *f = w->arg;
	struct node *nd = node_of(w, proc.w_out);

	(void)events;
	if (read_output(f, nd) < 0)
		loop_close_watched(f->loop, &nd->proc.w_out, &nd->proc.out_fd);
}

/* The readiness pipe: a byte means listening. EOF without one means the
   node is dying (the reaper will tell) or does not notify (a custom
   command): then the connect retry finds out. */
static void on_ready(struct watcher *w, uint32_t events)
{
	struct fleet *f = w->arg;
	struct node *nd = node_of(w, proc.w_ready);
	char c;

	(void)events;
	if (io_read(nd->proc.ready_fd, &c, 1) < 0 && errno == EAGAIN)
		return;
	if (nd->state == NODE_STARTING)
		fleet_set_state(f, nd, NODE_READY);
	loop_close_watched(f->loop, &nd->proc.w_ready, &nd->proc.ready_fd);
}

/* Register nd's pipes with the loop; return 0 or -1. */
static int watch_pipes(struct fleet *f, struct node *nd)
{
	struct proc *p = &nd->proc;

	p->w_ready =
	    (struct watcher){.fd = p->ready_fd, .fn = on_ready, .arg = f};
	p->w_out = (struct watcher){.fd = p->out_fd, .fn = on_output, .arg = f};
	if (fd_set_nonblock(p->ready_fd, true) < 0 ||
	    fd_set_nonblock(p->out_fd, true) < 0 ||
	    loop_watch(f->loop, &p->w_ready, EPOLLIN) < 0 ||
	    loop_watch(f->loop, &p->w_out, EPOLLIN) < 0)
		return -1;
	return 0;
}

/* Start nd's process: pipes, argv, posix_spawn. Touches only nd's
   process part and reads f, so two threads may start different nodes at
   once. On success its pid, ready_fd and out_fd are set; return 0, or -1
   with a message in err. */
static int start_process(const struct fleet *f, struct node *nd, char *err,
                         size_t errlen)
{
	char words[8192], *argv[TEMPLATE_MAX_WORDS + 1];
	int ready[2] = {-1, -1}, out[2] = {-1, -1}, in[2] = {-1, -1}, rc;
	/* A custom command may start the node far away (ssh): the token
	   goes on its standard input, never on its command line. */
	bool token_on_stdin = f->cfg->command[0] != '\0';
	pid_t pid;

	if (build_argv(f, nd, words, sizeof(words), argv) <= 0) {
		snprintf(err, errlen,
		         "[node] command: too many or too long words");
		return -1;
	}
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    (token_on_stdin && pipe2(in, O_CLOEXEC) < 0)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	/* Nothing we inherited reaches a node (nor what it runs); a
	   session of its own (so a group of its own, and no controlling
	   terminal: nothing a node runs can write to the console behind our
	   back, nor get the terminal's signals). */
	rc = proc_spawn(&pid, argv, (int[]){in[0], out[1], out[1], ready[1]},
	                READY_FD + 1, POSIX_SPAWN_SETSID, f->node_env);
	if (rc != 0) {
		snprintf(err, errlen, "cannot run '%s': %s", argv[0],
		         strerror(rc));
		goto fail;
	}
	close(ready[1]);
	close(out[1]);
	if (token_on_stdin) {
		/* One short line into an empty pipe: it cannot block. */
		char line[TOKEN_HEX_LEN + 2];
		token_to_hex(f->token, line);
		line[TOKEN_HEX_LEN] = '\n';
		(void)!io_write_all(in[1], line, sizeof(line) - 1);
		close(in[0]);
		close(in[1]);
		explicit_bzero(line, sizeof(line));
	}
	nd->proc.pid = pid;
	nd->proc.ready_fd = ready[0];
	nd->proc.out_fd = out[0];
	/* What the last start printed is not this start's. */
	buf_consume(&nd->proc.text, buf_used(&nd->proc.text));
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (in[i] >= 0)
			close(in[i]);
	}
	return -1;
}

/* A new process got pid, so no process group of that id lives: a
   reaped node still holding it as its group id holds a stale one. */
static void forget_group_id(struct fleet *f, pid_t pid)
{
	for (unsigned i = 0; f->lingering > 0 && i < f->nalloc; i++) {
		struct proc *p = &f->nodes[i]->proc;
		if (!p->running && p->pgid == pid) {
			p->pgid = 0;
			f->lingering--;
		}
	}
}

/* Take a started process into the fleet: map its pid, watch its pipes.
   Return 0, or -1 with a message in err (the process is then killed,
   or left to the reaper when only watching failed). */
static int adopt_process(struct fleet *f, struct node *nd, char *err,
                         size_t errlen)
{
	struct proc *p = &nd->proc;

	if (pidmap_put(&f->pids, p->pid, nd) < 0) {
		/* Unmapped it would never be reaped: stop it now. */
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		close(p->ready_fd);
		close(p->out_fd);
		p->ready_fd = p->out_fd = -1;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (p->pgid != 0) { /* the last start's group: cleared by now */
		p->pgid = 0;
		f->lingering--;
	}
	forget_group_id(f, p->pid);
	p->running = true;
	p->pgid = p->pid; /* POSIX_SPAWN_SETSID: a group of its own */
	p->generation = ++f->spawns;
	p->nlines = 0;
	/* A custom command may wrap node in something that does not pass
	   descriptor 3 on (ssh, a script): its readiness is found out by
	   connecting, with retry. */
	fleet_set_state(f, nd, f->cfg->command[0] ? NODE_READY : NODE_STARTING);
	if (watch_pipes(f, nd) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Far nodes (SPEC §8): what their hosts report, and orders. */

/* The host far node nd lives on. */
static unsigned host_of(const struct fleet *f, const struct node *nd)
{
	return nd->index % f->hosts.n;
}

/* The node a report names, if the fleet has it. */
static struct node *reported(struct fleet *f, unsigned index)
{
	return index < f->nalloc && f->nodes[index]->proc.far ? f->nodes[index]
	                                                      : NULL;
}

/* Once the fleet stops, a host with nothing of its nodes left is told
   so: its daemon and its launcher end. */
static void close_if_done(struct fleet *f, unsigned h)
{
	if (!f->stopping)
		return;
	for (unsigned i = h; i < f->nalloc; i += f->hosts.n)
		if (fleet_node_alive(f, f->nodes[i]))
			return;
	hosts_close(&f->hosts, h);
}

/* nd's process ended with status (reaped here or reported by its
   host): mark it down unless it was stopping, and tell. */
static void node_ended(struct fleet *f, struct node *nd, int status)
{
	nd->proc.wait_status = status;
	nd->proc.running = false;
	if (nd->state != NODE_STOPPING)
		fleet_set_state(f, nd, NODE_DOWN);
	f->on_exit(f->exit_arg, nd);
}

static void far_started(void *arg, unsigned index, pid_t pid)
{
	struct node *nd = reported(arg, index);

	if (nd && nd->proc.running)
		nd->proc.pid = pid;
}

static void far_ready(void *arg, unsigned index)
{
	struct node *nd = reported(arg, index);

	if (nd && nd->proc.running && nd->state == NODE_STARTING)
		fleet_set_state(arg, nd, NODE_READY);
}

static void far_output(void *arg, unsigned index, const char *text, size_t len)
{
	struct node *nd = reported(arg, index);

	if (nd)
		on_line(arg, nd, text, len);
}

static void far_exited(void *arg, unsigned index, int status)
{
	struct fleet *f = arg;
	struct node *nd = reported(f, index);

	if (!nd || !nd->proc.running)
		return;
	/* Its host daemon said it stops (a signal there, an error): the
	   node's end, clean or not, is the host's loss. */
	if (hosts_failing(&f->hosts, host_of(f, nd)))
		nd->proc.lost_host = true;
	node_ended(f, nd, status);
}

static void far_empty(void *arg, unsigned index)
{
	struct fleet *f = arg;
	struct node *nd = reported(f, index);

	if (!nd || nd->proc.running)
		return;
	nd->proc.far_group = false;
	close_if_done(f, host_of(f, nd));
}

/* A line a launcher printed: shown under its host's name. */
static void far_said(void *arg, unsigned h, const char *text, size_t len)
{
	struct fleet *f = arg;
	struct buf b = {0};

	format_escape(&b, text, len);
	out_host_output(f->out, f->host_names[h],
	                buf_used(&b) ? (const char *)buf_head(&b) : "",
	                buf_used(&b));
	buf_free(&b);
}

/* Say once that host h was lost, why, which nodes went with it
   (lost[0..n-1]) and when it is launched again; on standard error, as
   start-up may end with it. */
static void say_lost(struct fleet *f, unsigned h, const char *why,
                     const unsigned *lost, unsigned n)
{
	struct buf set = {0};
	char again[64] = "";

	if (n == 0) {
		log_msg("host %s: %s", f->host_names[h], why);
		return;
	}
	nodeset_format(&set, lost, n);
	if (f->cfg->restart == RESTART_ON_FAILURE && f->started && !f->stopping)
		snprintf(again, sizeof(again), "; launched again in %d ms",
		         clock_ms_until(hosts_retry_ns(&f->hosts, h)));
	log_msg("host %s: %s; lost with it: %.*s (%u)%s", f->host_names[h], why,
	        (int)buf_used(&set), (const char *)buf_head(&set), n, again);
	buf_free(&set);
}

/* Host h's launcher ended: unless it was told to, say why, once; every
   node there not reported gone is gone with it. */
static void far_lost(void *arg, unsigned h, int status, const char *why)
{
	struct fleet *f = arg;
	char line[CONFIG_HOST_MAX + 32];
	/* The node set is for the message; without memory, none is named. */
	unsigned *lost = calloc(f->nalloc / f->hosts.n + 1, sizeof(*lost)),
	         n = 0;

	snprintf(line, sizeof(line), "lost with host %s", f->host_names[h]);
	for (unsigned i = h; i < f->nalloc; i += f->hosts.n) {
		struct node *nd = f->nodes[i];
		if (nd->proc.far_queued)
			continue; /* not sent to that launcher: waits for the
			             next */
		nd->proc.far_group = false;
		if (!nd->proc.running)
			continue;
		if (lost)
			lost[n++] = i;
		keep_last_line(nd, line, strlen(line));
		nd->proc.lost_host = true;
	}
	if (why[0])
		say_lost(f, h, why, lost, n);
	for (unsigned i = h; i < f->nalloc; i += f->hosts.n)
		if (f->nodes[i]->proc.running && f->nodes[i]->proc.lost_host &&
		    !f->nodes[i]->proc.far_queued)
			node_ended(f, f->nodes[i], status);
	free(lost);
}

/* The starts that waited for host h's next launch were sent with it,
   or dropped: then those nodes are gone, as lost with the host. */
static void far_launched(void *arg, unsigned h, bool sent, int status)
{
	struct fleet *f = arg;
	char line[CONFIG_HOST_MAX + 32];

	snprintf(line, sizeof(line), "lost with host %s", f->host_names[h]);
	for (unsigned i = h; i < f->nalloc; i += f->hosts.n) {
		struct node *nd = f->nodes[i];
		if (!nd->proc.far_queued)
			continue;
		nd->proc.far_queued = false;
		if (sent || !nd->proc.running)
			continue;
		nd->proc.far_group = false;
		nd->proc.lost_host = true;
		keep_last_line(nd, line, strlen(line));
		node_ended(f, nd, status);
	}
}

/* With a launcher: the hosts, named by the configuration. */
static int far_init(struct fleet *f, char *err, size_t errlen)
{
	static const struct hosts_events ev = {
	    far_started, far_ready, far_output, far_exited,
	    far_empty,   far_said,  far_lost,   far_launched};
	const struct config *c = f->cfg;
	unsigned n = c->nhosts ? c->nhosts : 1;

	for (unsigned i = 0; i < n; i++)
		f->host_names[i] = c->nhosts ? c->hosts[i] : c->host;
	f->far = true;
	return hosts_init(&f->hosts, f->loop, c->launcher, f->node_path,
	                  f->host_names, n, f->token, &ev, f, err, errlen);
}

/* Order far node nd started by its host. Return 0, or -1 with a message
   in err. */
static int far_spawn(struct fleet *f, struct node *nd, char *err, size_t errlen)
{
	struct proc *p = &nd->proc;
	int rc = hosts_start(&f->hosts, host_of(f, nd), nd->index, nd->port,
	                     nd->host, err, errlen);

	if (rc < 0)
		return -1;
	p->far = p->running = p->far_group = true;
	p->far_queued = rc == 1;
	p->lost_host = false;
	p->pid = 0; /* until its host says */
	p->generation = ++f->spawns;
	p->nlines = 0;
	buf_consume(&p->text, buf_used(&p->text));
	fleet_set_state(f, nd, NODE_STARTING);
	return 0;
}

int fleet_tick(struct fleet *f)
{
	if (!f->far || f->stopping)
		return -1;
	return hosts_tick(&f->hosts, f->cfg->connect_timeout_ms);
}

uint64_t fleet_host_retry_ns(const struct fleet *f, const struct node *nd)
{
	return f->far ? hosts_retry_ns(&f->hosts, host_of(f, nd)) : 0;
}

bool fleet_node_waits_host(const struct node *nd)
{
	return nd->proc.far &&
	       (nd->proc.running ? nd->proc.far_queued : nd->proc.lost_host);
}

void fleet_started(struct fleet *f)
{
	f->started = true;
}

void fleet_stopping(struct fleet *f)
{
	f->stopping = true;
	for (unsigned h = 0; f->far && h < f->hosts.n; h++) {
		/* What waits for a launch, or for a host not up: nothing
		   started there yet, nothing to wait for. */
		hosts_abandon(&f->hosts, h);
		if (hosts_up(&f->hosts, h))
			close_if_done(f, h);
	}
}

unsigned fleet_say_silent_hosts(const struct fleet *f, unsigned waited_ms)
{
	unsigned n = 0;

	for (unsigned h = 0; f->far && h < f->hosts.n; h++) {
		const char *last = hosts_last_word(&f->hosts, h);
		if (!hosts_running(&f->hosts, h) || hosts_up(&f->hosts, h))
			continue;
		log_msg("host %s did not answer within %u ms ([connect] "
		        "timeout_ms)%s%s",
		        f->host_names[h], waited_ms, last ? "; it said: " : "",
		        last ? last : "");
		n++;
	}
	return n;
}

int fleet_spawn(struct fleet *f, struct node *nd, char *err, size_t errlen)
{
	if (f->far)
		return far_spawn(f, nd, err, errlen);
	if (start_process(f, nd, err, errlen) < 0)
		return -1;
	return adopt_process(f, nd, err, errlen);
}

/* Work of one spawning thread: every other node from first. */
struct spawner {
	struct fleet *f;
	unsigned first, end;
	unsigned failed; /* index of the node that failed, or end */
	char err[512];
	bool *stop; /* shared: set by the first thread that fails */
};

static void spawn_range(struct spawner *s)
{
	s->failed = s->end;
	for (unsigned i = s->first; i < s->end; i += 2) {
		if (__atomic_load_n(s->stop, __ATOMIC_RELAXED))
			break;
		if (start_process(s->f, s->f->nodes[i], s->err,
		                  sizeof(s->err)) < 0) {
			s->failed = i;
			__atomic_store_n(s->stop, true, __ATOMIC_RELAXED);
			break;
		}
	}
}

/* The second spawning thread. The kernel sends a node its parent-death
   signal when the *thread* that forked it exits, so this thread must
   outlive its nodes: it reports its work done, then stays parked until
   fleet_free(). */
static void *spawner_main(void *arg)
{
	struct spawner *s = arg;
	struct park *pk = &s->f->park;

	spawn_range(s);
	pthread_mutex_lock(&pk->mu);
	pk->done = true;
	pthread_cond_broadcast(&pk->cv);
	while (!pk->quit)
		pthread_cond_wait(&pk->cv, &pk->mu);
	pthread_mutex_unlock(&pk->mu);
	return NULL;
}

/* Run spawner s on the parked thread; return false if it cannot start. */
static bool spawn_in_thread(struct fleet *f, struct spawner *s)
{
	struct park *pk = &f->park;

	if (pthread_mutex_init(&pk->mu, NULL) ||
	    pthread_cond_init(&pk->cv, NULL))
		return false;
	if (pthread_create(&pk->thread, NULL, spawner_main, s) != 0) {
		pthread_cond_destroy(&pk->cv);
		pthread_mutex_destroy(&pk->mu);
		return false;
	}
	pk->started = true;
	return true;
}

/* Wait until the parked thread has done its spawning. */
static void spawn_thread_wait(struct fleet *f)
{
	struct park *pk = &f->park;

	pthread_mutex_lock(&pk->mu);
	while (!pk->done)
		pthread_cond_wait(&pk->cv, &pk->mu);
	pthread_mutex_unlock(&pk->mu);
}

/* Let the parked thread go, once its nodes are gone. */
static void spawn_thread_end(struct fleet *f)
{
	struct park *pk = &f->park;

	if (!pk->started)
		return;
	pthread_mutex_lock(&pk->mu);
	pk->quit = true;
	pthread_cond_broadcast(&pk->cv);
	pthread_mutex_unlock(&pk->mu);
	pthread_join(pk->thread, NULL);
	pthread_cond_destroy(&pk->cv);
	pthread_mutex_destroy(&pk->mu);
	pk->started = false;
}

/* Adopt every started node into the fleet, in order; return 0, or -1
   with *failed and err for the first that could not be adopted. All are
   adopted even after a failure: teardown must find them. */
static int adopt_all(struct fleet *f, unsigned *failed, char *err,
                     size_t errlen)
{
	char ignored[512];
	int rc = 0;

	for (unsigned i = 0; i < f->n; i++) {
		struct node *nd = f->nodes[i];
		if (nd->proc.pid <= 0 || nd->proc.running)
			continue;
		if (adopt_process(f, nd, rc ? ignored : err,
		                  rc ? sizeof(ignored) : errlen) < 0 &&
		    rc == 0) {
			*failed = i;
			rc = -1;
		}
	}
	return rc;
}

int fleet_spawn_all(struct fleet *f, unsigned *failed, char *err, size_t errlen)
{
	bool stop = false;
	struct spawner s[2] = {{f, 0, f->n, 0, "", &stop},
	                       {f, 1, f->n, 0, "", &stop}};
	bool threaded;
	int rc;

	for (unsigned i = 0; f->far && i < f->n; i++)
		if (far_spawn(f, f->nodes[i], err, errlen) < 0) {
			*failed = i;
			return -1;
		}
	if (f->far)
		return 0;
	for (unsigned i = 0; i < f->n; i++)
		f->nodes[i]->proc.pid = 0;
	/* The calling thread waits while each child it spawns execs (vfork
	   semantics): a second thread keeps the other core busy meanwhile. */
	threaded = f->n >= SPAWN_THREAD_MIN && spawn_in_thread(f, &s[1]);
	spawn_range(&s[0]);
	if (threaded)
		spawn_thread_wait(f);
	else if (!stop)
		spawn_range(&s[1]);
	rc = adopt_all(f, failed, err, errlen);
	for (int k = 0; k < 2 && rc == 0; k++)
		if (s[k].failed < s[k].end) {
			*failed = s[k].failed;
			snprintf(err, errlen, "%s", s[k].err);
			rc = -1;
		}
	return rc;
}

int fleet_raise_nofile(unsigned nodes, char *err, size_t errlen)
{
	char why[256];

	/* Each node costs up to three descriptors while it starts. */
	if (proc_raise_nofile((unsigned long)nodes * 3 + 64, why,
	                      sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%u nodes %s or run fewer nodes", nodes, why);
	return -1;
}

void fleet_set_state(struct fleet *f, struct node *nd, enum node_state s)
{
	f->nready += (s == NODE_READY) - (nd->state == NODE_READY);
	nd->state = s;
}

/* Forget pid, if it was an inherited child. */
static void forget_inherited(struct fleet *f, pid_t pid)
{
	for (unsigned i = 0; i < f->ninherited; i++)
		if (f->inherited[i] == pid) {
			f->inherited[i] = f->inherited[--f->ninherited];
			return;
		}
}

/* Forget nd's process group once nothing of it lives. A group id stays
   reserved while any member exists, so kill(2) of a live group never
   reaches another. */
static void check_group(struct fleet *f, struct node *nd)
{
	struct proc *p = &nd->proc;

	if (p->pgid == 0 || p->running)
		return;
	if (kill(-p->pgid, 0) < 0 && errno == ESRCH) {
		p->pgid = 0;
		f->lingering--;
	}
}

void fleet_reap(struct fleet *f)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct node *nd = pidmap_get(&f->pids, pid);
		struct proc *p;
		if (!nd) {
			if (!f->far || !hosts_reaped(&f->hosts, pid, st))
				forget_inherited(f, pid); /* may come again */
			continue;
		}
		p = &nd->proc;
		/* The pipe holds the node's last words: read them, but
		   within a bound, as something it started may hold the pipe
		   and write on; a last line with no newline counts. */
		for (int k = 0;
		     k < REAP_READS && p->out_fd >= 0 && read_output(f, nd) > 0;
		     k++)
			;
		if (buf_used(&p->text) > 0) {
			on_line(f, nd, (char *)buf_head(&p->text),
			        buf_used(&p->text));
			buf_consume(&p->text, buf_used(&p->text));
		}
		loop_close_watched(f->loop, &p->w_out, &p->out_fd);
		loop_close_watched(f->loop, &p->w_ready, &p->ready_fd);
		f->lingering++; /* until check_group() finds it empty */
		pidmap_del(&f->pids, pid);
		node_ended(f, nd, st);
	}
	fleet_check_groups(f);
}

void fleet_check_groups(struct fleet *f)
{
	for (unsigned i = 0; f->lingering > 0 && i < f->nalloc; i++)
		check_group(f, f->nodes[i]);
}

void fleet_forget_group(struct fleet *f, struct node *nd)
{
	struct proc *p = &nd->proc;

	p->far_group = false;
	if (p->pgid == 0 || p->running)
		return;
	p->pgid = 0;
	f->lingering--;
}

bool fleet_node_alive(struct fleet *f, struct node *nd)
{
	if (nd->proc.far)
		return nd->proc.running || nd->proc.far_group;
	check_group(f, nd);
	return nd->proc.running || nd->proc.pgid != 0;
}

bool fleet_node_heard(struct fleet *f, struct node *nd)
{
	return fleet_node_alive(f, nd) && !(nd->proc.far && nd->proc.pid == 0);
}

bool fleet_signal_node(struct fleet *f, struct node *nd, int sig)
{
	struct proc *p = &nd->proc;

	if (!fleet_node_alive(f, nd))
		return false;
	if (p->far) {
		hosts_signal(&f->hosts, host_of(f, nd), nd->index, sig);
		return true;
	}
	/* The whole group: whatever a wrapper started too. */
	if (p->pgid == 0 || kill(-p->pgid, sig) < 0)
		if (p->running)
			kill(p->pid, sig);
	return true;
}

unsigned fleet_kill_session(const struct node *nd)
{
	pid_t left[SESSION_MAX];
	unsigned n, killed = 0;

	/* A far node's host daemon clears what it leaves. */
	if (nd->proc.running || nd->proc.pid <= 0 || nd->proc.far)
		return 0;
	/* The node was its session's leader (POSIX_SPAWN_SETSID), and its
	   session outlives it while any member does: the id is its own.
	   Its group is cleared in order (SIGTERM, grace): not here. */
	n = proc_session(nd->proc.pid, left, SESSION_MAX);
	for (unsigned i = 0; i < n; i++)
		if (getpgid(left[i]) != nd->proc.pid &&
		    kill(left[i], SIGKILL) == 0)
			killed++;
	return killed;
}

unsigned fleet_signal(struct fleet *f, int sig)
{
	unsigned alive = 0;

	for (unsigned i = 0; i < f->nalloc; i++)
		alive += fleet_signal_node(f, f->nodes[i], sig);
	if (f->far && sig == SIGKILL)
		hosts_kill_idle(&f->hosts);
	return alive;
}

unsigned fleet_alive(struct fleet *f)
{
	unsigned alive = 0;

	for (unsigned i = 0; i < f->nalloc; i++)
		alive += fleet_node_alive(f, f->nodes[i]);
	for (unsigned h = 0; f->far && h < f->hosts.n; h++)
		alive += hosts_running(&f->hosts, h);
	return alive;
}

/* Whether pid was our child before the first node. */
static bool inherited(const struct fleet *f, pid_t pid)
{
	for (unsigned i = 0; i < f->ninherited; i++)
		if (f->inherited[i] == pid)
			return true;
	return false;
}

/* Whether pid is in the process group of a reaped node: the node's
   teardown stops it, and says so under the node's name. */
static bool in_node_group(const struct fleet *f, pid_t pid)
{
	pid_t g = f->lingering ? getpgid(pid) : -1;

	for (unsigned i = 0; g > 0 && i < f->nalloc; i++)
		if (!f->nodes[i]->proc.running && f->nodes[i]->proc.pgid == g)
			return true;
	return false;
}

unsigned fleet_strays(const struct fleet *f, pid_t *out, unsigned max)
{
	unsigned cap = f->nalloc + f->ninherited + max, n, k = 0;
	pid_t *kids;
	siginfo_t si;

	/* No node runs and no child at all: nothing to look for (the scan
	   of /proc costs a millisecond per hundred processes). */
	if (f->pids.used == 0 &&
	    waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
	    errno == ECHILD)
		return 0;
	kids = malloc(cap * sizeof(*kids));
	if (!kids)
		return 0;
	n = proc_children(getpid(), kids, cap);
	for (unsigned i = 0; i < n && k < max; i++)
		if (!pidmap_get(&f->pids, kids[i]) && !inherited(f, kids[i]) &&
		    !in_node_group(f, kids[i]) &&
		    !(f->far && hosts_owns(&f->hosts, kids[i])))
			out[k++] = kids[i];
	free(kids);
	return k;
}

void fleet_free(struct fleet *f)
{
	spawn_thread_end(f);
	if (f->far)
		hosts_free(&f->hosts);
	while (f->nalloc > 0)
		fleet_drop_last(f);
	free(f->nodes);
	f->nodes = NULL;
	pidmap_free(&f->pids);
	f->n = 0;
	free(f->node_env);
	f->node_env = NULL;
	template_free(&f->command);
	explicit_bzero(f->env_vars, sizeof(f->env_vars));
}
