/* hosts.c - see hosts.h. */
#include "hosts.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "hostproto.h"
#include "io.h"
#include "proc.h"

#define READ_CHUNK     4096
#define REAP_READS     16 /* reads of a reaped launcher's pipes, at most */
#define WORDS_LINE_MAX 4096

int hosts_init(struct hosts *hs, struct loop *loop, const char *launcher,
               const char *node_path, const char *const *names, unsigned n,
               const uint8_t token[PROTO_TOKEN_LEN],
               const struct hosts_events *ev, void *arg, char *err,
               size_t errlen)
{
	char why[256];
	size_t nenv;

	*hs = (struct hosts){.loop = loop, .ev = *ev, .arg = arg, .n = n};
	snprintf(hs->node_path, sizeof(hs->node_path), "%s", node_path);
	token_to_hex(token, hs->token_hex);
	if (template_parse(&hs->launcher, launcher, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "[cluster] launcher: %s", why);
		return -1;
	}
	/* No FANOUT_ variable: nothing secret may reach a command line or
	   another machine's environment through a launcher. */
	hs->env = proc_child_environ(0, &nenv);
	hs->h = calloc(n, sizeof(*hs->h));
	if (!hs->env || !hs->h) {
		snprintf(err, errlen, "hosts: out of memory");
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct launch *l = &hs->h[i];
		l->name = names[i];
		l->in_fd = l->out_fd = l->err_fd = -1;
		l->reports.max = HOSTPROTO_LINE_MAX;
		l->words.max = WORDS_LINE_MAX;
	}
	return 0;
}

/* Write what orders the launcher takes now; once its input is to be
   closed and nothing is left to write, close it. */
static void flush_orders(struct hosts *hs, struct launch *l)
{
	while (l->in_fd >= 0 && buf_used(&l->orders) > 0) {
		ssize_t r = io_write(l->in_fd, buf_head(&l->orders),
		                     buf_used(&l->orders));
		if (r < 0 && errno == EAGAIN)
			break;
		if (r < 0) { /* it is gone: its reaping will say so */
			buf_consume(&l->orders, buf_used(&l->orders));
			loop_close_watched(hs->loop, &l->w_in, &l->in_fd);
			return;
		}
		buf_consume(&l->orders, (size_t)r);
	}
	if (l->in_fd < 0)
		return;
	if (l->closed && buf_used(&l->orders) == 0)
		loop_close_watched(hs->loop, &l->w_in, &l->in_fd);
	else
		loop_watch(hs->loop, &l->w_in,
		           buf_used(&l->orders) ? EPOLLOUT : 0);
}

static void on_writable(struct watcher *w, uint32_t events)
{
	struct hosts *hs = w->arg;
	struct launch *l = loop_owner(w, struct launch, w_in);

	(void)events;
	flush_orders(hs, l);
}

/* Queue order m for l and write what can be written. */
static void order(struct hosts *hs, struct launch *l, const struct hostmsg *m)
{
	if (hostproto_append(&l->orders, m) < 0)
		snprintf(l->why, sizeof(l->why), "out of memory for orders");
	flush_orders(hs, l);
}

/* Copy len bytes at s into dst (dstlen bytes, NUL-terminated), each
   byte outside printable ASCII as '?': what a far host says never moves
   a terminal (C1 controls included, raw or UTF-8 encoded). */
static void copy_printable(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t n = len < dstlen - 1 ? len : dstlen - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] =
		    (unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f
		        ? '?'
		        : s[i];
	dst[n] = '\0';
}

/* Keep a line the launcher said, made printable, as its last words;
   pass it on once its host is up (before, it is kept to say why the
   host failed, or passed on when it comes up). */
static void said(struct hosts *hs, struct launch *l, const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\r') /* ssh's own lines end so */
		len--;
	copy_printable(l->last[l->nlast++ % HOSTS_LAST_WORDS], HOSTS_WORD_MAX,
	               s, len);
	if (l->up)
		hs->ev.said(hs->arg, (unsigned)(l - hs->h), s, len);
}

/* Where in line s (len bytes), which is no report, a host daemon's
   hello begins after a banner printed with no newline of its own; 0 if
   none does. */
static size_t banner_end(const char *s, size_t len)
{
	static const char magic[] = HOSTPROTO_MAGIC " ";
	const char *p = s;
	struct hostmsg m;

	while ((p = memmem(p + 1, len - (size_t)(p + 1 - s), magic,
	                   sizeof(magic) - 1)))
		if (hostproto_parse(p, len - (size_t)(p - s), &m) == 0 &&
		    m.type == HOST_HELLO && !m.token[0])
			return (size_t)(p - s);
	return 0;
}

/* The hello of a host daemon: the one version we speak, or the host
   fails, both versions named. */
static void hello(struct hosts *hs, struct launch *l, const struct hostmsg *m)
{
	if (m->version == HOSTPROTO_VERSION) {
		unsigned first = l->nlast > HOSTS_LAST_WORDS
		                     ? l->nlast - HOSTS_LAST_WORDS
		                     : 0;
		l->up = true;
		l->up_ns = clock_ns();
		for (unsigned k = first; k < l->nlast; k++) {
			const char *w = l->last[k % HOSTS_LAST_WORDS];
			hs->ev.said(hs->arg, (unsigned)(l - hs->h), w,
			            strlen(w));
		}
		return;
	}
	snprintf(l->why, sizeof(l->why),
	         "its node program speaks fanout-host %u, this orchestrator "
	         "%u",
	         m->version, HOSTPROTO_VERSION);
	hosts_close(hs, (unsigned)(l - hs->h));
}

/* Act on one report of l's host daemon; a line that is none is the
   host's words. */
static void take_report(struct hosts *hs, struct launch *l, const char *s,
                        size_t len)
{
	struct hostmsg m;
	unsigned h = (unsigned)(l - hs->h);
	bool ours;

	if (hostproto_parse(s, len, &m) == 0 && m.type == HOST_HELLO &&
	    m.token[0]) {
		/* Our own hello, echoed (a terminal's echo): never shown. */
		explicit_bzero(&m, sizeof(m));
		said(hs, l, "(the hello order, echoed)", 25);
		return;
	}
	if (hostproto_parse(s, len, &m) < 0 || m.type == HOST_START ||
	    m.type == HOST_SIGNAL) {
		size_t at = l->up ? 0 : banner_end(s, len);
		if (at) { /* a banner with no newline before the hello */
			said(hs, l, s, at);
			take_report(hs, l, s + at, len - at);
			return;
		}
		said(hs, l, s, len);
		return;
	}
	ours = m.index % hs->n == h;
	switch (m.type) {
	case HOST_HELLO: hello(hs, l, &m); return;
	case HOST_ERROR: /* it stops: nothing more is ordered there */
		copy_printable(l->why, sizeof(l->why), m.text, m.textlen);
		said(hs, l, m.text, m.textlen);
		hosts_close(hs, h);
		return;
	default: break;
	}
	if (!ours || !l->up) {
		said(hs, l, s, len); /* not a report this host can make */
		return;
	}
	switch (m.type) {
	case HOST_STARTED: hs->ev.started(hs->arg, m.index, m.pid); break;
	case HOST_READY: hs->ev.ready(hs->arg, m.index); break;
	case HOST_OUT:
		hs->ev.output(hs->arg, m.index, m.text, m.textlen);
		break;
	case HOST_EXIT:
		hs->ev.exited(hs->arg, m.index,
		              m.signo ? m.signo : W_EXITCODE(m.code, 0));
		break;
	case HOST_EMPTY: hs->ev.empty(hs->arg, m.index); break;
	default: break;
	}
}

/* Read from *fd into lb and hand each whole line to take (l, line). At
   EOF or on an error, the last line counts and *fd is closed. Return
   whether anything was read. */
static bool read_lines(struct hosts *hs, struct launch *l, struct linebuf *lb,
                       int *fd, struct watcher *w,
                       void (*take)(struct hosts *, struct launch *,
                                    const char *, size_t))
{
	uint8_t *room = linebuf_room(lb, READ_CHUNK);
	const uint8_t *line;
	size_t len;
	ssize_t r;
	enum line_result lr;

	if (!room)
		return false;
	r = io_read(*fd, room, READ_CHUNK);
	if (r < 0 && errno == EAGAIN)
		return false;
	if (r > 0)
		linebuf_commit(lb, (size_t)r);
	else
		lb->eof = true;
	while ((lr = linebuf_next(lb, &line, &len)) != LINE_NONE)
		if (lr == LINE_OK)
			take(hs, l, (const char *)line, len);
	if (r <= 0) {
		loop_close_watched(hs->loop, w, fd);
		lb->eof = false;
	}
	return r > 0;
}

static void on_reports(struct watcher *w, uint32_t events)
{
	struct hosts *hs = w->arg;
	struct launch *l = loop_owner(w, struct launch, w_out);

	(void)events;
	read_lines(hs, l, &l->reports, &l->out_fd, &l->w_out, take_report);
}

static void on_words(struct watcher *w, uint32_t events)
{
	struct hosts *hs = w->arg;
	struct launch *l = loop_owner(w, struct launch, w_err);

	(void)events;
	read_lines(hs, l, &l->words, &l->err_fd, &l->w_err, said);
}

/* Build the launcher's argv for l into words and argv: the template's
   words, then the node program in host mode. Return 0, or -1 when they
   do not fit. */
static int launcher_argv(const struct hosts *hs, const struct launch *l,
                         char *words, size_t wordslen, char **argv)
{
	struct template_vars v = {l->name, 0, 0};
	int n = template_expand(&hs->launcher, &v, words, wordslen, argv);

	if (n < 0 || n + 2 > TEMPLATE_MAX_WORDS)
		return -1;
	argv[n] = (char *)hs->node_path;
	argv[n + 1] = "--host-mode";
	argv[n + 2] = NULL;
	return 0;
}

/* Start l's launcher with its three pipes; return 0, or -1 with a
   message in err. */
static int spawn_launcher(struct hosts *hs, struct launch *l, char *err,
                          size_t errlen)
{
	char words[8192], *argv[TEMPLATE_MAX_WORDS + 3];
	int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}}, rc = -1;
	pid_t pid;

	if (launcher_argv(hs, l, words, sizeof(words), argv) < 0) {
		snprintf(err, errlen,
		         "[cluster] launcher: too many or too "
		         "long words");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0) {
			snprintf(err, errlen, "pipe: %s", strerror(errno));
			goto out;
		}
	/* A session of its own: none of our terminal's signals, and its
	   group is signalled whole. */
	rc = proc_spawn(&pid, argv, (int[]){p[0][0], p[1][1], p[2][1]}, 3,
	                POSIX_SPAWN_SETSID, hs->env);
	if (rc != 0) {
		snprintf(err, errlen, "cannot run launcher '%s': %s", argv[0],
		         strerror(rc));
		rc = -1;
		goto out;
	}
	l->pid = pid;
	l->in_fd = p[0][1];
	l->out_fd = p[1][0];
	l->err_fd = p[2][0];
	p[0][1] = p[1][0] = p[2][0] = -1;
out:
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 2; k++)
			if (p[i][k] >= 0)
				close(p[i][k]);
	return rc;
}

/* Start host l's launcher and give it the hello; return 0 or -1 with a
   message in err. */
static int launch(struct hosts *hs, struct launch *l, char *err, size_t errlen)
{
	struct hostmsg m = {.type = HOST_HELLO, .version = HOSTPROTO_VERSION};

	if (spawn_launcher(hs, l, err, errlen) < 0)
		return -1;
	l->up = l->closed = l->abandoned = false;
	l->launched_ns = clock_ns();
	l->up_ns = l->kill_ns = 0;
	l->nlast = 0;
	l->why[0] = '\0';
	l->w_in =
	    (struct watcher){.fd = l->in_fd, .fn = on_writable, .arg = hs};
	l->w_out =
	    (struct watcher){.fd = l->out_fd, .fn = on_reports, .arg = hs};
	l->w_err = (struct watcher){.fd = l->err_fd, .fn = on_words, .arg = hs};
	if (fd_set_nonblock(l->in_fd, true) < 0 ||
	    fd_set_nonblock(l->out_fd, true) < 0 ||
	    fd_set_nonblock(l->err_fd, true) < 0 ||
	    loop_watch(hs->loop, &l->w_out, EPOLLIN) < 0 ||
	    loop_watch(hs->loop, &l->w_err, EPOLLIN) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		kill(-l->pid, SIGKILL); /* reaped as a launcher all the same */
		return -1;
	}
	/* The hello first, then the starts that waited for the launch. */
	memcpy(m.token, hs->token_hex, sizeof(m.token));
	if (hostproto_append(&l->orders, &m) < 0 ||
	    buf_append(&l->orders, buf_head(&l->next), buf_used(&l->next)) < 0)
		snprintf(l->why, sizeof(l->why), "out of memory for orders");
	explicit_bzero(m.token, sizeof(m.token));
	if (buf_used(&l->next)) {
		buf_consume(&l->next, buf_used(&l->next));
		hs->ev.launched(hs->arg, (unsigned)(l - hs->h), true, 0);
	}
	flush_orders(hs, l);
	return 0;
}

int hosts_start(struct hosts *hs, unsigned h, unsigned index, unsigned port,
                const char *addr, char *err, size_t errlen)
{
	struct launch *l = &hs->h[h];
	struct hostmsg m = {.type = HOST_START, .index = index, .port = port};

	snprintf(m.addr, sizeof(m.addr), "%s", addr);
	if ((l->pid != 0 && l->closed) ||
	    (l->pid == 0 && clock_ns() < l->retry_ns)) {
		if (hostproto_append(&l->next, &m) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 1;
	}
	if (l->pid == 0 && launch(hs, l, err, errlen) < 0)
		return -1;
	order(hs, l, &m);
	return 0;
}

void hosts_signal(struct hosts *hs, unsigned h, unsigned index, int sig)
{
	struct launch *l = &hs->h[h];

	if (l->pid != 0 && !l->closed)
		order(hs, l,
		      &(struct hostmsg){
		          .type = HOST_SIGNAL, .index = index, .signo = sig});
}

void hosts_close(struct hosts *hs, unsigned h)
{
	struct launch *l = &hs->h[h];

	if (l->pid == 0 || l->closed)
		return;
	l->closed = true;
	flush_orders(hs, l);
}

void hosts_abandon(struct hosts *hs, unsigned h)
{
	struct launch *l = &hs->h[h];

	if (buf_used(&l->next)) {
		buf_consume(&l->next, buf_used(&l->next));
		hs->ev.launched(hs->arg, h, false, 0);
	}
	if (l->pid == 0 || l->abandoned || l->up)
		return;
	hosts_close(hs, h);
	l->abandoned = true;
	kill(-l->pid, SIGTERM);
}

/* The last line l's launcher said (printable), or NULL. */
static const char *last_word(const struct launch *l)
{
	return l->nlast ? l->last[(l->nlast - 1) % HOSTS_LAST_WORDS] : NULL;
}

/* Say in l->why, unless something else was found wrong, how the
   launcher ended and its last words; leave it empty after an orderly
   end (input closed by us, exit 0). */
static void say_end(struct launch *l, int status)
{
	char how[96];
	const char *last = last_word(l);

	if (l->why[0] || l->abandoned ||
	    (l->closed && WIFEXITED(status) && WEXITSTATUS(status) == 0))
		return;
	proc_status_str(status, how, sizeof(how));
	snprintf(l->why, sizeof(l->why), "launcher %s%s%s", how,
	         last ? ": " : "", last ? last : "");
}

void hosts_kill_idle(struct hosts *hs)
{
	for (unsigned i = 0; i < hs->n; i++) {
		struct launch *l = &hs->h[i];
		if (l->pid > 0 && (l->closed || !l->up))
			kill(-l->pid, SIGKILL);
	}
}

/* l was lost: when it may be launched again. */
static void next_retry(struct launch *l)
{
	uint64_t now = clock_ns();

	if (l->up_ns && now - l->up_ns >= MS_NS(HOSTS_STABLE_MS))
		l->retry_ms = HOSTS_RETRY_MIN_MS;
	else if (l->retry_ms == 0)
		l->retry_ms = HOSTS_RETRY_MIN_MS;
	else if (l->retry_ms < HOSTS_RETRY_MAX_MS / 2)
		l->retry_ms *= 2;
	else
		l->retry_ms = HOSTS_RETRY_MAX_MS;
	l->retry_ns = now + MS_NS(l->retry_ms);
}

/* Launch host h, whose orders waited for it; a launcher that cannot
   run loses the host again. */
static void launch_waiting(struct hosts *hs, unsigned h)
{
	struct launch *l = &hs->h[h];
	char err[HOSTS_WORD_MAX];

	if (launch(hs, l, err, sizeof(err)) == 0)
		return;
	buf_consume(&l->next, buf_used(&l->next));
	next_retry(l);
	hs->ev.lost(hs->arg, h, W_EXITCODE(127, 0), err);
	hs->ev.launched(hs->arg, h, false, W_EXITCODE(127, 0));
}

/* What is due for l now (launch, give up, SIGKILL); return when the
   next thing is due, 0 for nothing. */
static uint64_t tick_one(struct hosts *hs, struct launch *l,
                         unsigned timeout_ms, uint64_t now)
{
	uint64_t answer_ns = l->launched_ns + MS_NS(timeout_ms);

	if (l->pid == 0 && buf_used(&l->next)) {
		if (now < l->retry_ns)
			return l->retry_ns;
		launch_waiting(hs, (unsigned)(l - hs->h));
		return l->pid ? answer_ns : 0;
	}
	if (l->pid != 0 && l->kill_ns) {
		if (now < l->kill_ns)
			return l->kill_ns;
		kill(-l->pid, SIGKILL);
		l->kill_ns = 0;
		return 0;
	}
	if (l->pid == 0 || l->up || l->closed)
		return 0;
	if (now < answer_ns)
		return answer_ns;
	snprintf(l->why, sizeof(l->why),
	         "did not answer within %u ms ([connect] timeout_ms)",
	         timeout_ms);
	hosts_close(hs, (unsigned)(l - hs->h));
	kill(-l->pid, SIGTERM);
	l->kill_ns = now + MS_NS(HOSTS_KILL_MS);
	return l->kill_ns;
}

int hosts_tick(struct hosts *hs, unsigned timeout_ms)
{
	uint64_t now = clock_ns(), next = 0;

	for (unsigned i = 0; i < hs->n; i++) {
		uint64_t due = tick_one(hs, &hs->h[i], timeout_ms, now);
		if (due && (!next || due < next))
			next = due;
	}
	return next ? clock_ms_until(next) : -1;
}

bool hosts_failing(const struct hosts *hs, unsigned h)
{
	return hs->h[h].pid != 0 && hs->h[h].why[0];
}

uint64_t hosts_retry_ns(const struct hosts *hs, unsigned h)
{
	return hs->h[h].retry_ns;
}

bool hosts_reaped(struct hosts *hs, pid_t pid, int status)
{
	struct launch *l = NULL;

	for (unsigned i = 0; i < hs->n && !l; i++)
		if (hs->h[i].pid == pid)
			l = &hs->h[i];
	if (!l)
		return false;
	/* Its last reports and words are in its pipes, unless something
	   it left holds them open: read what is there, within a bound. */
	for (int k = 0; k < REAP_READS && l->out_fd >= 0; k++)
		if (!read_lines(hs, l, &l->reports, &l->out_fd, &l->w_out,
		                take_report))
			break;
	for (int k = 0; k < REAP_READS && l->err_fd >= 0; k++)
		if (!read_lines(hs, l, &l->words, &l->err_fd, &l->w_err, said))
			break;
	loop_close_watched(hs->loop, &l->w_in, &l->in_fd);
	loop_close_watched(hs->loop, &l->w_out, &l->out_fd);
	loop_close_watched(hs->loop, &l->w_err, &l->err_fd);
	buf_consume(&l->orders, buf_used(&l->orders));
	linebuf_free(&l->reports);
	linebuf_free(&l->words);
	l->reports.discarding = l->words.discarding = false;
	say_end(l, status);
	if (l->why[0])
		next_retry(l);
	l->pid = 0;
	l->up = false;
	hs->ev.lost(hs->arg, (unsigned)(l - hs->h), status, l->why);
	return true;
}

bool hosts_owns(const struct hosts *hs, pid_t pid)
{
	for (unsigned i = 0; i < hs->n; i++)
		if (hs->h[i].pid == pid)
			return true;
	return false;
}

bool hosts_running(const struct hosts *hs, unsigned h)
{
	return hs->h[h].pid != 0;
}

const char *hosts_last_word(const struct hosts *hs, unsigned h)
{
	return last_word(&hs->h[h]);
}

bool hosts_up(const struct hosts *hs, unsigned h)
{
	return hs->h[h].up;
}

void hosts_free(struct hosts *hs)
{
	for (unsigned i = 0; hs->h && i < hs->n; i++) {
		struct launch *l = &hs->h[i];
		if (l->pid > 0) {
			kill(-l->pid, SIGKILL);
			waitpid(l->pid, NULL, 0);
		}
		loop_close_watched(hs->loop, &l->w_in, &l->in_fd);
		loop_close_watched(hs->loop, &l->w_out, &l->out_fd);
		loop_close_watched(hs->loop, &l->w_err, &l->err_fd);
		buf_free(&l->orders);
		buf_free(&l->next);
		linebuf_free(&l->reports);
		linebuf_free(&l->words);
	}
	free(hs->h);
	free(hs->env);
	template_free(&hs->launcher);
	explicit_bzero(hs->token_hex, sizeof(hs->token_hex));
	*hs = (struct hosts){0};
}
