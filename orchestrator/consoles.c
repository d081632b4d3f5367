/* consoles.c - see consoles.h. */
#include "consoles.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "fleetdir.h"
#include "io.h"
#include "log.h"

#define READ_CHUNK  65536
#define FINISH_MS   1000 /* what waits for consoles at the end, at most */
#define LISTEN_BACK 16

/* Bind fd to path; return 0 or -1 with errno. */
static int bind_path(int fd, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	return bind(fd, (struct sockaddr *)&a, sizeof(a));
}

/* Hold the lock of name (NAME.lock beside its socket) for as long as
   the fleet lives, the daemon's included (the lock belongs to the open
   file, which --detach's fork shares): two fleets starting at once with
   one name cannot both have it, whatever the socket's state. */
static int lock_name(struct consoles *cs, const char *name, char *err,
                     size_t errlen)
{
	char path[sizeof(cs->path) + 8];
	size_t n = strlen(cs->path) - strlen(".sock");

	snprintf(path, sizeof(path), "%.*s.lock", (int)n, cs->path);
	cs->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (cs->lock_fd >= 0 && flock(cs->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (cs->lock_fd >= 0 && errno == EWOULDBLOCK)
		snprintf(err, errlen,
		         "a fleet named '%s' runs already (its socket: %s); "
		         "choose another with --name",
		         name, cs->path);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	if (cs->lock_fd >= 0)
		close(cs->lock_fd);
	cs->lock_fd = -1;
	return -1;
}

int consoles_listen(struct consoles *cs, const char *name, char *err,
                    size_t errlen)
{
	*cs = (struct consoles){.listen_fd = -1, .lock_fd = -1, .next_id = 1};
	snprintf(cs->name, sizeof(cs->name), "%s", name);
	if (fleetdir_socket(name, cs->path, sizeof(cs->path), true, err,
	                    errlen) < 0 ||
	    lock_name(cs, name, err, errlen) < 0)
		return -1;
	cs->listen_fd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cs->listen_fd < 0)
		goto fail;
	/* The name is ours (locked): a socket there was left by a fleet
	   that died. */
	if (bind_path(cs->listen_fd, cs->path) < 0 &&
	    (errno != EADDRINUSE || unlink(cs->path) < 0 ||
	     bind_path(cs->listen_fd, cs->path) < 0))
		goto fail;
	if (listen(cs->listen_fd, LISTEN_BACK) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", cs->path, strerror(errno));
	if (cs->listen_fd >= 0)
		close(cs->listen_fd);
	cs->listen_fd = -1;
	return -1;
}

/* Queue frame f for cl. Past CONSOLES_OUT_MAX the console has stalled:
   it is dropped at the next tick (not here: this may run inside what is
   being said). */
static void queue(struct ctl_client *cl, const struct ctl_frame *f)
{
	size_t n = ctl_frame_size(f);

	if (cl->fd < 0 || cl->stalled || cl->closing || n == 0)
		return;
	if (buf_used(&cl->out) + n > CONSOLES_OUT_MAX + cl->last_words ||
	    buf_reserve(&cl->out, n) < 0) {
		cl->stalled = true;
		return;
	}
	buf_commit(&cl->out, ctl_encode(buf_tail(&cl->out), n, f));
}

/* Queue len bytes of text for cl's stream, in frames of CTL_MAX_DATA. */
static void queue_out(struct ctl_client *cl, enum ctl_stream stream,
                      const char *text, size_t len)
{
	do {
		size_t k = len < CTL_MAX_DATA ? len : CTL_MAX_DATA;
		struct ctl_frame f = {
		    .type = CTL_OUT,
		    .u.out = {stream, {(const uint8_t *)text, (uint32_t)k}}};
		queue(cl, &f);
		text += k;
		len -= k;
	} while (len > 0);
}

/* Queue DONE with status; cl is closed once it is written. */
static void done(struct ctl_client *cl, int status)
{
	struct ctl_frame f = {.type = CTL_DONE,
	                      .u.done.status = (uint32_t)status};

	queue(cl, &f);
	cl->closing = true;
}

/* A send or an attach whose input ended: DONE once its broadcasts are
   all reported. */
static void maybe_done(struct ctl_client *cl)
{
	if (cl->ended && cl->pending == 0 && !cl->closing)
		done(cl, cl->failed ? 1 : 0);
}

/* Whether cl hears the fleet's events (a status or stop console hears
   only its own answer). */
static bool hears_events(const struct ctl_client *cl)
{
	return cl->mode == CTL_MODE_ATTACH || cl->mode == CTL_MODE_SEND ||
	       cl->mode == CTL_MODE_STOP;
}

/* out.h's tap: what is said, to the consoles it is for. */
static void tap(void *arg, unsigned to, enum out_kind kind, const char *text,
                size_t len)
{
	struct consoles *cs = arg;

	for (struct ctl_client *cl = cs->clients; cl; cl = cl->next) {
		bool json = cl->flags & CTL_F_JSON;
		if (cl->mode == 0 || (to ? cl->id != to : !hears_events(cl)))
			continue;
		switch (kind) {
		case OUT_REPORTED:
			cl->pending -= cl->pending > 0;
			cl->failed |= len == 0;
			maybe_done(cl);
			break;
		case OUT_JSON:
			if (json)
				queue_out(cl, CTL_STDOUT, text, len);
			break;
		case OUT_HUMAN:
			queue_out(cl, json ? CTL_STDERR : CTL_STDOUT, text,
			          len);
			break;
		case OUT_DIAG: queue_out(cl, CTL_STDERR, text, len); break;
		}
	}
}

/* Close cl and forget it. */
static void drop(struct consoles *cs, struct ctl_client *cl)
{
	for (struct ctl_client **p = &cs->clients; *p; p = &(*p)->next)
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	if (cl->fd >= 0) {
		loop_watch(cs->loop, &cl->w, 0);
		close(cl->fd);
	}
	buf_free(&cl->in);
	buf_free(&cl->out);
	free(cl);
}

/* Whether cl's next line may be taken now: the window has room, and
   what waits for cl is small enough that its own reports pace it (a
   console is dropped only for stalling, never for sending fast). A
   HELLO is always taken. */
static bool room_for(const struct consoles *cs, const struct ctl_client *cl)
{
	return cl->mode == 0 || (!links_full(cs->links) && !out_full(cs->out) &&
	                         !outcome_stopping(cs->outcome) &&
	                         buf_used(&cl->out) < CONSOLES_OUT_MAX / 4);
}

/* Whether to read more from cl: not while what it sent waits for room
   (reading would only spin), nor once it is closing. */
static bool wants_input(const struct consoles *cs, const struct ctl_client *cl)
{
	return !cl->closing && buf_used(&cl->in) < CTL_MAX_FRAME &&
	       (buf_used(&cl->in) == 0 || room_for(cs, cl));
}

/* Write what waits for cl; return -1 when it is gone. */
static int flush_client(struct consoles *cs, struct ctl_client *cl)
{
	while (buf_used(&cl->out) > 0) {
		ssize_t w =
		    io_write(cl->fd, buf_head(&cl->out), buf_used(&cl->out));
		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0)
			return -1;
		buf_consume(&cl->out, (size_t)w);
	}
	if (cl->closing && buf_used(&cl->out) == 0)
		return -1;
	loop_watch(cs->loop, &cl->w,
	           (wants_input(cs, cl) ? EPOLLIN : 0) |
	               (buf_used(&cl->out) ? EPOLLOUT : 0));
	return 0;
}

/* The lines /who answers: one per console. */
static void who(struct consoles *cs, struct ctl_client *asker)
{
	char line[256];
	uint64_t now = clock_ns();

	for (struct ctl_client *cl = cs->clients; cl; cl = cl->next)
		if (cl->mode == CTL_MODE_ATTACH || cl->mode == CTL_MODE_SEND) {
			int n = snprintf(
			    line, sizeof(line), "%3u  %-6s  %-24s  %5.0f s%s\n",
			    cl->id, ctl_mode_name(cl->mode), cl->name,
			    (double)(now - cl->since_ns) / 1e9,
			    cl == asker ? "  (you)" : "");
			queue_out(asker, CTL_STDOUT, line, (size_t)n);
		}
}

/* One line from cl: the console's own commands here, the rest through
   console.h, its broadcasts counted as cl's. */
static void take_line(struct consoles *cs, struct ctl_client *cl,
                      const uint8_t *p, size_t len)
{
	uint64_t before = cs->links->inflight.next_seq;

	if ((len == 7 && !memcmp(p, "/detach", 7)) ||
	    (len == 5 && !memcmp(p, "/quit", 5)) ||
	    (len == 4 && !memcmp(p, "exit", 4))) {
		cl->ended = true; /* the fleet goes on */
		maybe_done(cl);
		return;
	}
	if (len == 4 && !memcmp(p, "/who", 4)) {
		who(cs, cl);
		return;
	}
	if (len == 5 && !memcmp(p, "/stop", 5)) {
		log_msg("console %u (%s) stops the fleet", cl->id, cl->name);
		cl->mode = CTL_MODE_STOP; /* DONE when the teardown is done */
		outcome_stop(cs->outcome, STOP_EXIT);
		return;
	}
	out_to(cs->out, cl->id);
	cs->links->origin = cl->id;
	if (len > cs->console->cfg->max_message_bytes) {
		console_refuse_long(cs->console);
		cl->failed = true;
	} else {
		console_line(cs->console, p, len);
	}
	cs->links->origin = 0;
	out_to(cs->out, 0);
	cl->pending += (unsigned)(cs->links->inflight.next_seq - before);
}

/* HELLO from cl: who it is and what it came for. */
static void hello(struct consoles *cs, struct ctl_client *cl,
                  const struct ctl_frame *f)
{
	struct ctl_frame w = {.type = CTL_WELCOME,
	                      .u.welcome = {(uint32_t)getpid(),
	                                    cs->fleet->n,
	                                    {(const uint8_t *)cs->name,
	                                     (uint32_t)strlen(cs->name)}}};

	cl->mode = f->u.hello.mode;
	cl->flags = f->u.hello.flags;
	snprintf(cl->name, sizeof(cl->name), "%.*s", (int)f->u.hello.name.len,
	         (const char *)f->u.hello.name.p);
	queue(cl, &w);
	if (cl->mode == CTL_MODE_STATUS) {
		out_to(cs->out, cl->id);
		console_line(cs->console, (const uint8_t *)"/status", 7);
		out_to(cs->out, 0);
		done(cl, 0);
	} else if (cl->mode == CTL_MODE_STOP) {
		log_msg("console %u (%s) stops the fleet", cl->id, cl->name);
		outcome_stop(cs->outcome, STOP_EXIT);
	}
}

/* Refuse cl with why, and close it once that is written. */
static void refuse(struct ctl_client *cl, const char *why)
{
	struct ctl_frame f = {
	    .type = CTL_REFUSED,
	    .u.refused = {(const uint8_t *)why, (uint32_t)strlen(why)}};

	queue(cl, &f);
	cl->closing = true;
}

/* Handle the whole frames cl sent, as far as the window has room for
   its lines; the rest waits in cl->in. */
static void take_frames(struct consoles *cs, struct ctl_client *cl)
{
	struct ctl_frame f;
	size_t used;
	int rc;

	while (!cl->closing && room_for(cs, cl) &&
	       (rc = ctl_decode(buf_head(&cl->in), buf_used(&cl->in), &f,
	                        &used)) != 0) {
		if (rc == CTL_E_VERSION) {
			char why[128];
			snprintf(
			    why, sizeof(why),
			    "this fleet speaks console protocol version %d, "
			    "not %d",
			    CTL_VERSION,
			    ctl_version_of(buf_head(&cl->in),
			                   buf_used(&cl->in)));
			refuse(cl, why);
			return;
		}
		if (rc < 0 || !ctl_from_client(f.type) ||
		    (cl->mode == 0) != (f.type == CTL_HELLO)) {
			log_msg("console %u: %s; dropped", cl->id,
			        rc < 0 ? ctl_strerror(rc) : "out of turn");
			refuse(cl, "protocol error");
			return;
		}
		if (f.type == CTL_HELLO)
			hello(cs, cl, &f);
		else if (f.type == CTL_LINE)
			take_line(cs, cl, f.u.line.p, f.u.line.len);
		else {
			cl->ended = true;
			maybe_done(cl);
		}
		buf_consume(&cl->in, used);
	}
	links_flush(cs->links);
}

static void on_client(struct watcher *w, uint32_t events)
{
	struct ctl_client *cl =
	    (struct ctl_client *)(void *)((char *)w -
	                                  offsetof(struct ctl_client, w));
	struct consoles *cs = w->arg;
	ssize_t r = 0;

	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && wants_input(cs, cl)) {
		if (buf_reserve(&cl->in, READ_CHUNK) < 0) {
			r = -1;
			errno = ENOMEM;
		} else {
			r = io_read(cl->fd, buf_tail(&cl->in), READ_CHUNK);
			if (r > 0)
				buf_commit(&cl->in, (size_t)r);
		}
		if (r == 0 || (r < 0 && errno != EAGAIN)) {
			drop(cs, cl); /* it went away: nothing owed to it */
			return;
		}
		take_frames(cs, cl);
	}
	if (flush_client(cs, cl) < 0)
		drop(cs, cl);
}

/* Accept a console: ours or root's only (SO_PEERCRED). */
static void accept_one(struct consoles *cs, int fd)
{
	struct ucred cred;
	socklen_t n = sizeof(cred);
	struct ctl_client *cl;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &n) < 0 ||
	    (cred.uid != getuid() && cred.uid != 0)) {
		log_msg("refused a console of uid %d (pid %d): not this "
		        "fleet's user",
		        (int)cred.uid, (int)cred.pid);
		close(fd);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return;
	}
	cl->id = cs->next_id++;
	cl->fd = fd;
	cl->since_ns = clock_ns();
	cl->w = (struct watcher){.fd = fd, .fn = on_client, .arg = cs};
	cl->next = cs->clients;
	cs->clients = cl;
	if (loop_watch(cs->loop, &cl->w, EPOLLIN) < 0)
		drop(cs, cl);
}

static void on_listen(struct watcher *w, uint32_t events)
{
	struct consoles *cs = w->arg;
	int fd;

	(void)events;
	while ((fd = accept4(cs->listen_fd, NULL, NULL,
	                     SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
		accept_one(cs, fd);
}

void consoles_serve(struct consoles *cs, struct loop *loop,
                    struct console *console, struct links *links,
                    struct fleet *fleet, struct out *out,
                    struct outcome *outcome)
{
	cs->loop = loop;
	cs->console = console;
	cs->links = links;
	cs->fleet = fleet;
	cs->out = out;
	cs->outcome = outcome;
	if (cs->listen_fd < 0)
		return;
	cs->w =
	    (struct watcher){.fd = cs->listen_fd, .fn = on_listen, .arg = cs};
	if (loop_watch(loop, &cs->w, EPOLLIN) < 0)
		log_errno("control socket");
	out_tap(out, tap, cs);
	cs->serving = true;
}

/* cl read too little: nothing more is queued for it but why, and DONE;
   it is closed once it has read them (the bound holds, but for those
   few bytes). */
static void tell_dropped(struct consoles *cs, struct ctl_client *cl)
{
	char why[200];
	int n = snprintf(why, sizeof(why),
	                 "fleet '%s': this console read too little (%u MiB "
	                 "waited for it); what waited is lost, and the "
	                 "console dropped\n",
	                 cs->name, CONSOLES_OUT_MAX >> 20);

	log_msg("console %u (%s) read too little (%u MiB waited for it); "
	        "dropped",
	        cl->id, cl->name, CONSOLES_OUT_MAX >> 20);
	/* What waits is kept: a frame may be half written. Past it, and
	   past the bound by a few bytes, the reason and DONE. */
	cl->stalled = false;
	cl->closing = false;
	cl->last_words = sizeof(why) + 64;
	queue_out(cl, CTL_STDERR, why, (size_t)n);
	done(cl, 1);
}

void consoles_tick(struct consoles *cs)
{
	struct ctl_client *next;

	for (struct ctl_client *cl = cs->clients; cl; cl = next) {
		next = cl->next;
		if (buf_used(&cl->in) > 0)
			take_frames(cs, cl);
		if (cl->stalled)
			tell_dropped(cs, cl);
		if (flush_client(cs, cl) < 0) {
			drop(cs, cl);
		}
	}
}

/* The fleet ends with status: what cl hears last. A send whose lines
   were not all sent (it had not ended, or lines waited) did not go
   well, whatever the fleet's status; a console that never said HELLO
   is refused. */
static void last_word(struct ctl_client *cl, int status)
{
	if (cl->closing)
		return;
	if (cl->mode == 0) {
		refuse(cl, "the fleet is stopping");
		return;
	}
	if (cl->mode == CTL_MODE_SEND &&
	    (!cl->ended || cl->pending || buf_used(&cl->in)) && status == 0)
		status = 1;
	done(cl, status);
}

/* Write what waits for every console, waiting for any until end_ns;
   drop those done or gone. Return how many remain. */
static unsigned flush_all(struct consoles *cs, uint64_t end_ns)
{
	struct pollfd p[64];
	struct ctl_client *next;
	unsigned n = 0, left = 0;

	for (struct ctl_client *cl = cs->clients; cl && n < 64; cl = cl->next)
		p[n++] = (struct pollfd){.fd = cl->fd, .events = POLLOUT};
	if (poll(p, n, clock_ms_until(end_ns)) < 0 && errno != EINTR)
		return 0;
	for (struct ctl_client *cl = cs->clients; cl; cl = next) {
		next = cl->next;
		if (flush_client(cs, cl) < 0)
			drop(cs, cl);
		else
			left++;
	}
	return left;
}

void consoles_finish(struct consoles *cs, int status)
{
	uint64_t end = clock_ns() + MS_NS(FINISH_MS);

	if (cs->serving)
		out_tap(cs->out, NULL, NULL);
	/* Gone before anyone hears DONE: a stop that returned finds no
	   socket of ours. */
	if (cs->listen_fd >= 0)
		unlink(cs->path);
	for (struct ctl_client *cl = cs->clients; cl; cl = cl->next)
		last_word(cl, status);
	/* What waits for them, all at once, within a bound: a stalled one
	   loses it, and delays no other. */
	while (cs->clients && clock_ns() < end && flush_all(cs, end) > 0)
		;
	while (cs->clients)
		drop(cs, cs->clients);
	if (cs->listen_fd >= 0) {
		if (cs->serving)
			loop_watch(cs->loop, &cs->w, 0);
		close(cs->listen_fd);
	}
	cs->listen_fd = -1;
	if (cs->lock_fd >= 0) /* the file stays: unlinked, a lock races */
		close(cs->lock_fd);
	cs->lock_fd = -1;
}
