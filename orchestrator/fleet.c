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

#include "io.h"
#include "log.h"
#include "net.h"
#include "node_env.h"
#include "pidmap.h"
#include "report.h"

#define READY_FD         3  /* where a node finds its readiness pipe */
#define MAX_ARGS         64 /* words in a [node] command */
#define OUTPUT_LINE_MAX  4096
#define SPAWN_THREAD_MIN 32 /* nodes worth a second spawning thread */

extern char **environ;

/* Find "node" in the directory of /proc/self/exe; never the cwd. */
static int find_node(char *path, size_t len, char *err, size_t errlen)
{
	ssize_t n = readlink("/proc/self/exe", path, len - 1);
	char *slash;

	if (n < 0 || (size_t)n >= len - 6) {
		snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
		return -1;
	}
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "node");
	if (access(path, X_OK) < 0) {
		snprintf(err, errlen,
		         "%s: %s (node is installed beside "
		         "orchestrator)",
		         path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Return a copy of environ with the node_env.h variables set, their
   strings kept in o->env_vars. */
static char **node_environment(struct orch *o)
{
	size_t n = 0, k = 0;
	char hex[TOKEN_HEX_LEN + 1], **env;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "FANOUT_", 7) != 0)
			env[k++] = environ[i];
	token_to_hex(o->token, hex);
	snprintf(o->env_vars[0], sizeof(o->env_vars[0]), ENV_TOKEN "=%s", hex);
	snprintf(o->env_vars[1], sizeof(o->env_vars[1]), ENV_READY_FD "=%d",
	         READY_FD);
	env[k++] = o->env_vars[0];
	env[k++] = o->env_vars[1];
	env[k] = NULL;
	return env;
}

int fleet_init(struct orch *o, char *err, size_t errlen)
{
	if (!o->cfg.command[0] &&
	    find_node(o->node_path, sizeof(o->node_path), err, errlen) < 0)
		return -1;
	o->node_env = node_environment(o);
	if (!o->node_env) {
		snprintf(err, errlen, "environment: out of memory");
		return -1;
	}
	return 0;
}

int fleet_add(struct orch *o, unsigned n)
{
	struct node **nodes = realloc(o->nodes, n * sizeof(*nodes));

	if (!nodes)
		return -1;
	o->nodes = nodes;
	for (; o->nalloc < n; o->nalloc++) {
		struct node *nd = calloc(1, sizeof(*nd));
		if (!nd)
			return -1;
		nd->o = o;
		nd->index = o->nalloc;
		nd->port = o->cfg.base_port + o->nalloc;
		nd->ready_fd = nd->out_fd = nd->sock = -1;
		nd->state = NODE_DOWN;
		o->nodes[o->nalloc] = nd;
	}
	o->n = n;
	return 0;
}

void fleet_drop_last(struct orch *o)
{
	struct node *nd = o->nodes[--o->nalloc];

	buf_free(&nd->in);
	buf_free(&nd->out);
	buf_free(&nd->text);
	free(nd);
	if (o->n > o->nalloc)
		o->n = o->nalloc;
}

/* Write the template word w (wlen bytes) into out with placeholders
   replaced. Return its length, or -1 if it does not fit in outlen. */
static int expand_word(const struct orch *o, const struct node *nd,
                       const char *w, size_t wlen, char *out, size_t outlen)
{
	size_t k = 0;

	for (size_t i = 0; i < wlen;) {
		int n;
		if (!strncmp(w + i, "{host}", 6))
			n = snprintf(out + k, outlen - k, "%s",
			             config_node_host(&o->cfg, nd->index)),
			i += 6;
		else if (!strncmp(w + i, "{port}", 6))
			n = snprintf(out + k, outlen - k, "%u", nd->port),
			i += 6;
		else if (!strncmp(w + i, "{index}", 7))
			n = snprintf(out + k, outlen - k, "%u", nd->index),
			i += 7;
		else
			n = snprintf(out + k, outlen - k, "%c", w[i]), i++;
		if (n < 0 || k + (size_t)n >= outlen)
			return -1;
		k += (size_t)n;
	}
	return (int)k;
}

/* Build the argv of the built-in node command (no template, so a blank
   in the install path is harmless) into words and argv. */
static void default_argv(struct orch *o, const struct node *nd, char *words,
                         char **argv)
{
	char *port = words, *index = words + 16;

	snprintf(port, 16, "%u", nd->port);
	snprintf(index, 16, "%u", nd->index);
	argv[0] = o->node_path;
	argv[1] = "--host";
	argv[2] = (char *)config_node_host(&o->cfg, nd->index);
	argv[3] = "--port";
	argv[4] = port;
	argv[5] = "--index";
	argv[6] = index;
	argv[7] = NULL;
}

/* Build argv for nd into words (storage) and argv; return argc, or -1
   when the expanded [node] command does not fit. */
static int build_argv(struct orch *o, const struct node *nd, char *words,
                      size_t wordslen, char **argv)
{
	const char *p = o->cfg.command;
	int argc = 0;

	if (!*p) {
		default_argv(o, nd, words, argv);
		return 7;
	}
	for (;;) {
		size_t len;
		int n;
		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		if (len == 0)
			break;
		n = argc < MAX_ARGS
		        ? expand_word(o, nd, p, len, words, wordslen)
		        : -1;
		if (n < 0)
			return -1;
		argv[argc++] = words;
		words += n + 1;
		wordslen -= (size_t)n + 1;
		p += len;
	}
	argv[argc] = NULL;
	return argc;
}

/* Append a line of nd's output to DIR/node-I.log (--log-dir). */
static void log_line(const struct node *nd, const char *text, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/node-%u.log", nd->o->cli.log_dir,
	         nd->index);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		report_node_output(nd, text, len); /* not lost, at least */
		return;
	}
	if (io_write_all(fd, text, len) < 0 || io_write_all(fd, "\n", 1) < 0)
		log_errno("%s", path);
	close(fd);
}

/* The node's output: show or log whole lines, remember the last few. */
static void on_line(struct node *nd, const char *s, size_t len)
{
	if (len == strlen(READY_LINE) && !memcmp(s, READY_LINE, len)) {
		/* Readiness from a node with no descriptor 3 (ssh). */
		if (nd->state == NODE_STARTING)
			fleet_set_state(nd, NODE_READY);
		return;
	}
	char *last = nd->last_lines[nd->nlines++ % NODE_LAST_LINES];
	struct buf b = {0};
	const char *text;
	size_t keep;

	report_escape(&b, s, len);
	text = buf_used(&b) ? (const char *)buf_head(&b) : "";
	keep = buf_used(&b) < NODE_LAST_LINE - 1 ? buf_used(&b)
	                                         : NODE_LAST_LINE - 1;
	memcpy(last, text, keep);
	last[keep] = '\0';
	if (nd->o->cli.log_dir)
		log_line(nd, text, buf_used(&b));
	else
		report_node_output(nd, text, buf_used(&b));
	buf_free(&b);
}

const char *fleet_last_line(const struct node *nd, unsigned back)
{
	if (back >= nd->nlines || back >= NODE_LAST_LINES)
		return NULL;
	return nd->last_lines[(nd->nlines - 1 - back) % NODE_LAST_LINES];
}

/* Read what the node printed; return 1 after reading some, 0 when nothing
   is there now, -1 at EOF or on an error. */
static int read_output(struct node *nd)
{
	struct buf *t = &nd->text;
	ssize_t r;
	uint8_t *nl;

	if (buf_reserve(t, OUTPUT_LINE_MAX) < 0)
		return -1;
	r = io_read(nd->out_fd, buf_tail(t), OUTPUT_LINE_MAX);
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r > 0)
		buf_commit(t, (size_t)r);
	while ((nl = memchr(buf_head(t), '\n', buf_used(t)))) {
		on_line(nd, (char *)buf_head(t), (size_t)(nl - buf_head(t)));
		buf_consume(t, (size_t)(nl - buf_head(t)) + 1);
	}
	/* An endless line is shown in pieces rather than held forever. */
	if (buf_used(t) >= OUTPUT_LINE_MAX || (r <= 0 && buf_used(t) > 0)) {
		on_line(nd, (char *)buf_head(t), buf_used(t));
		buf_consume(t, buf_used(t));
	}
	return r <= 0 ? -1 : 1;
}

static void close_watched(struct orch *o, struct watcher *w, int *fd)
{
	if (*fd < 0)
		return;
	loop_watch(&o->loop, w, 0);
	close(*fd);
	*fd = -1;
}

static void on_output(struct watcher *w, uint32_t events)
{
	struct node *nd = w->arg;

	(void)events;
	if (read_output(nd) < 0)
		close_watched(nd->o, &nd->w_out, &nd->out_fd);
}

/* The readiness pipe: a byte means listening. EOF without one means the
   node is dying (the reaper will tell) or does not notify (a custom
   command): then the connect retry finds out. */
static void on_ready(struct watcher *w, uint32_t events)
{
	struct node *nd = w->arg;
	char c;

	(void)events;
	if (io_read(nd->ready_fd, &c, 1) < 0 && errno == EAGAIN)
		return;
	if (nd->state == NODE_STARTING)
		fleet_set_state(nd, NODE_READY);
	close_watched(nd->o, &nd->w_ready, &nd->ready_fd);
}

/* Set up attributes: own process group, default signals, empty mask. */
static void spawn_attr(posix_spawnattr_t *a)
{
	sigset_t none, dfl;

	sigemptyset(&none);
	sigemptyset(&dfl);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&dfl, s);
	posix_spawnattr_init(a);
	posix_spawnattr_setflags(a, POSIX_SPAWN_SETPGROUP |
	                                POSIX_SPAWN_SETSIGMASK |
	                                POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(a, 0);
	posix_spawnattr_setsigmask(a, &none);
	posix_spawnattr_setsigdefault(a, &dfl);
}

/* Register nd's pipes with the loop; return 0 or -1. */
static int watch_pipes(struct orch *o, struct node *nd)
{
	nd->w_ready =
	    (struct watcher){.fd = nd->ready_fd, .fn = on_ready, .arg = nd};
	nd->w_out =
	    (struct watcher){.fd = nd->out_fd, .fn = on_output, .arg = nd};
	if (fd_set_nonblock(nd->ready_fd, true) < 0 ||
	    fd_set_nonblock(nd->out_fd, true) < 0 ||
	    loop_watch(&o->loop, &nd->w_ready, EPOLLIN) < 0 ||
	    loop_watch(&o->loop, &nd->w_out, EPOLLIN) < 0)
		return -1;
	return 0;
}

/* Start nd's process: pipes, argv, posix_spawn. Touches only nd and
   reads o, so two threads may start different nodes at once. On success
   nd->pid, nd->ready_fd and nd->out_fd are set; return 0, or -1 with a
   message in err. */
static int start_process(struct orch *o, struct node *nd, char *err,
                         size_t errlen)
{
	char words[8192], *argv[MAX_ARGS + 1];
	int ready[2] = {-1, -1}, out[2] = {-1, -1}, in[2] = {-1, -1}, rc;
	/* A custom command may start the node far away (ssh): the token
	   goes on its standard input, never on its command line. */
	bool token_on_stdin = o->cfg.command[0] != '\0';
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	pid_t pid;

	if (build_argv(o, nd, words, sizeof(words), argv) <= 0) {
		snprintf(err, errlen,
		         "[node] command: too many or too long words");
		return -1;
	}
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    (token_on_stdin && pipe2(in, O_CLOEXEC) < 0)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	if (token_on_stdin)
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
		                                 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	posix_spawn_file_actions_adddup2(&fa, ready[1], READY_FD);
	spawn_attr(&attr);
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, o->node_env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
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
		token_to_hex(o->token, line);
		line[TOKEN_HEX_LEN] = '\n';
		(void)!io_write_all(in[1], line, sizeof(line) - 1);
		close(in[0]);
		close(in[1]);
		explicit_bzero(line, sizeof(line));
	}
	nd->pid = pid;
	nd->ready_fd = ready[0];
	nd->out_fd = out[0];
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

/* Take a started process into the fleet: map its pid, watch its pipes.
   Return 0, or -1 with a message in err (the process is then killed,
   or left to the reaper when only watching failed). */
static int adopt_process(struct orch *o, struct node *nd, char *err,
                         size_t errlen)
{
	if (pidmap_put(&o->pids, nd) < 0) {
		/* Unmapped it would never be reaped: stop it now. */
		kill(nd->pid, SIGKILL);
		waitpid(nd->pid, NULL, 0);
		close(nd->ready_fd);
		close(nd->out_fd);
		nd->ready_fd = nd->out_fd = -1;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nd->running = true;
	/* Unique across the fleet: a connect job knows its node's start. */
	nd->generation = ++o->spawns;
	nd->restart_ns = 0;
	nd->nlines = 0;
	/* A custom command may wrap node in something that does not pass
	   descriptor 3 on (ssh, a script): its readiness is found out by
	   connecting, with retry. */
	fleet_set_state(nd, o->cfg.command[0] ? NODE_READY : NODE_STARTING);
	if (watch_pipes(o, nd) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int fleet_spawn(struct orch *o, struct node *nd, char *err, size_t errlen)
{
	if (start_process(o, nd, err, errlen) < 0)
		return -1;
	return adopt_process(o, nd, err, errlen);
}

/* Work of one spawning thread: every other node from first. */
struct spawner {
	struct orch *o;
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
		if (start_process(s->o, s->o->nodes[i], s->err,
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
	struct park *pk = &s->o->park;

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
static bool spawn_in_thread(struct orch *o, struct spawner *s)
{
	struct park *pk = &o->park;

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
static void spawn_thread_wait(struct orch *o)
{
	struct park *pk = &o->park;

	pthread_mutex_lock(&pk->mu);
	while (!pk->done)
		pthread_cond_wait(&pk->cv, &pk->mu);
	pthread_mutex_unlock(&pk->mu);
}

/* Let the parked thread go, once its nodes are gone. */
static void spawn_thread_end(struct orch *o)
{
	struct park *pk = &o->park;

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
static int adopt_all(struct orch *o, unsigned *failed, char *err, size_t errlen)
{
	char ignored[512];
	int rc = 0;

	for (unsigned i = 0; i < o->n; i++) {
		struct node *nd = o->nodes[i];
		if (nd->pid <= 0 || nd->running)
			continue;
		if (adopt_process(o, nd, rc ? ignored : err,
		                  rc ? sizeof(ignored) : errlen) < 0 &&
		    rc == 0) {
			*failed = i;
			rc = -1;
		}
	}
	return rc;
}

int fleet_spawn_all(struct orch *o, unsigned *failed, char *err, size_t errlen)
{
	bool stop = false;
	struct spawner s[2] = {{o, 0, o->n, 0, "", &stop},
	                       {o, 1, o->n, 0, "", &stop}};
	bool threaded;
	int rc;

	for (unsigned i = 0; i < o->n; i++)
		o->nodes[i]->pid = 0;
	/* The calling thread waits while each child it spawns execs (vfork
	   semantics): a second thread keeps the other core busy meanwhile. */
	threaded = o->n >= SPAWN_THREAD_MIN && spawn_in_thread(o, &s[1]);
	spawn_range(&s[0]);
	if (threaded)
		spawn_thread_wait(o);
	else if (!stop)
		spawn_range(&s[1]);
	rc = adopt_all(o, failed, err, errlen);
	for (int k = 0; k < 2 && rc == 0; k++)
		if (s[k].failed < s[k].end) {
			*failed = s[k].failed;
			snprintf(err, errlen, "%s", s[k].err);
			rc = -1;
		}
	return rc;
}

int fleet_node_addr(struct orch *o, const struct node *nd, struct net_addr *a,
                    char *err, size_t errlen)
{
	unsigned h = o->cfg.nhosts ? nd->index % o->cfg.nhosts : 0;

	/* Each host is looked up once per run, however many nodes it has. */
	if (!o->host_known[h]) {
		if (net_resolve(config_node_host(&o->cfg, nd->index), 0,
		                &o->host_addr[h], err, errlen) < 0)
			return -1;
		o->host_known[h] = true;
	}
	*a = o->host_addr[h];
	net_addr_set_port(a, (int)nd->port);
	return 0;
}

/* Each node costs up to three descriptors while starting. */
int fleet_raise_nofile(unsigned nodes)
{
	rlim_t need = (rlim_t)nodes * 3 + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		struct rlimit want = {need, need};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return 0;
		log_msg("%u nodes need %lu open files but RLIMIT_NOFILE allows "
		        "%lu (hard limit); raise it (ulimit -Hn) or run fewer "
		        "nodes",
		        nodes, (unsigned long)need, (unsigned long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

void fleet_set_state(struct node *nd, enum node_state s)
{
	nd->o->nready += (s == NODE_READY) - (nd->state == NODE_READY);
	nd->state = s;
}

void fleet_disconnect(struct orch *o, struct node *nd)
{
	close_watched(o, &nd->w_sock, &nd->sock);
	buf_consume(&nd->in, buf_used(&nd->in));
	buf_consume(&nd->out, buf_used(&nd->out));
	if (nd->state == NODE_CONNECTED || nd->state == NODE_CONNECTING)
		fleet_set_state(nd, NODE_LOST);
	inflight_node_lost(&o->inflight, nd->index);
}

void fleet_reap(struct orch *o, void (*on_exit)(struct orch *, struct node *))
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct node *nd = pidmap_get(&o->pids, pid);
		if (!nd)
			continue;
		/* The pipe holds the node's last words: read them all. */
		while (nd->out_fd >= 0 && read_output(nd) > 0)
			;
		close_watched(o, &nd->w_out, &nd->out_fd);
		close_watched(o, &nd->w_ready, &nd->ready_fd);
		fleet_disconnect(o, nd);
		nd->wait_status = st;
		nd->running = false;
		pidmap_del(&o->pids, pid);
		if (nd->state != NODE_STOPPING)
			fleet_set_state(nd, NODE_DOWN);
		on_exit(o, nd);
	}
}

unsigned fleet_signal(struct orch *o, int sig)
{
	unsigned alive = 0;

	for (unsigned i = 0; i < o->nalloc; i++)
		alive += fleet_signal_node(o->nodes[i], sig);
	return alive;
}

bool fleet_signal_node(const struct node *nd, int sig)
{
	if (!nd->running)
		return false;
	/* The whole group: whatever a wrapper started too. */
	if (kill(-nd->pid, sig) < 0)
		kill(nd->pid, sig);
	return true;
}

unsigned fleet_alive(const struct orch *o)
{
	unsigned alive = 0;

	for (unsigned i = 0; i < o->nalloc; i++)
		alive += o->nodes[i]->running;
	return alive;
}

void fleet_free(struct orch *o)
{
	spawn_thread_end(o);
	while (o->nalloc > 0)
		fleet_drop_last(o);
	free(o->nodes);
	o->nodes = NULL;
	pidmap_free(&o->pids);
	o->n = 0;
	free(o->node_env);
	o->node_env = NULL;
	explicit_bzero(o->env_vars, sizeof(o->env_vars));
}
