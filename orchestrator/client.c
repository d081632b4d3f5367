/* client.c - see client.h. */
#include "client.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "ctl.h"
#include "exitcode.h"
#include "fleetdir.h"
#include "io.h"
#include "log.h"
#include "sigfd.h"
#include "term.h"

#define ANSWER_MS      5000 /* a daemon answers HELLO within this */
#define LIST_ANSWER_MS 2000 /* the same, per fleet of a list */
#define READ_CHUNK     65536
#define QUEUE_HIGH     (256 * 1024) /* input pauses past this queued */

struct session {
	const char *name; /* the fleet's */
	enum cli_command command;
	int fd;          /* the control socket */
	struct buf in;   /* bytes from the daemon, not yet a frame */
	struct buf out;  /* frames to the daemon, not yet sent */
	struct buf line; /* a line of input being read */
	bool welcomed;
	bool only_welcome; /* list: WELCOME is all we want */
	bool finished;     /* nothing more to do: status holds the result */
	bool peer_closed;  /* the daemon took no more bytes */
	bool leaving;      /* we asked to leave: END, /detach, exit, /quit */
	bool input_open;   /* standard input is read for lines */
	bool skipping;     /* the rest of a line too long to send */
	bool tty;          /* attach at a terminal, through term.h */
	bool stdout_gone;  /* its reader went away */
	bool stderr_gone;
	bool bad_line; /* a line could not be sent */
	int status;    /* DONE's, or ours */
	unsigned lineno;
	uint32_t pid, nodes; /* WELCOME's */
};

/* Encode f at the end of s->out; return 0, or -1 (f invalid, or no
   memory). */
static int queue_frame(struct session *s, const struct ctl_frame *f)
{
	size_t n = ctl_frame_size(f);

	if (n == 0 || buf_reserve(&s->out, n) < 0)
		return -1;
	buf_commit(&s->out, ctl_encode(buf_tail(&s->out), n, f));
	return 0;
}

static void finish(struct session *s, int status)
{
	if (!s->finished)
		s->status = status;
	s->finished = true;
}

/* Queue one line of len bytes (no newline) as a LINE frame. */
static void queue_line(struct session *s, const char *p, size_t len)
{
	struct ctl_frame f = {.type = CTL_LINE};

	s->lineno++;
	f.u.line.p = (const uint8_t *)p;
	f.u.line.len = (uint32_t)len;
	if (len > CTL_MAX_DATA || queue_frame(s, &f) < 0) {
		log_msg("line %u (%zu bytes) not sent: over the %u bytes a "
		        "line may have",
		        s->lineno, len, CTL_MAX_DATA);
		s->bad_line = true;
	}
}

static void queue_end(struct session *s)
{
	struct ctl_frame f = {.type = CTL_END};

	s->input_open = false;
	s->leaving = true;
	if (queue_frame(s, &f) < 0)
		finish(s, EXIT_INCOMPLETE); /* out of memory */
}

/* Send what is queued, as far as the socket takes it now. */
static void flush_out(struct session *s)
{
	while (!s->peer_closed && buf_used(&s->out) > 0) {
		ssize_t n =
		    io_write(s->fd, buf_head(&s->out), buf_used(&s->out));

		if (n < 0) {
			if (errno == EAGAIN)
				return;
			/* The daemon closed: what it said before is still
			   to be read (its DONE, its REFUSED). */
			s->peer_closed = true;
			buf_consume(&s->out, buf_used(&s->out));
			return;
		}
		buf_consume(&s->out, (size_t)n);
	}
}

/* Write all n bytes to fd, waiting when it is a non-blocking one that is
   full. Return 0, or -1 with errno. */
static int write_fully(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};

			poll(&pfd, 1, -1);
			continue;
		}
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* OUT: the bytes go to our standard output or error. */
static void take_out(struct session *s, enum ctl_stream stream,
                     const struct ctl_bytes *b)
{
	bool *gone = stream == CTL_STDOUT ? &s->stdout_gone : &s->stderr_gone;

	if (*gone || b->len == 0)
		return;
	if (s->tty)
		term_hide(); /* shown again before the next wait */
	if (write_fully(stream == CTL_STDOUT ? STDOUT_FILENO : STDERR_FILENO,
	                b->p, b->len) < 0) {
		*gone = true;
		/* Reports nobody can read: the run is not clean (as a
		   fleet's own stdout reader going away, SPEC §4). */
		if (stream == CTL_STDOUT)
			finish(s, EXIT_INCOMPLETE);
	}
}

/* The daemon broke the protocol. */
static void broken(struct session *s, const char *what)
{
	log_msg("fleet '%s': %s", s->name, what);
	finish(s, s->welcomed ? EXIT_INCOMPLETE : EXIT_UNAVAILABLE);
}

static void take_frame(struct session *s, const struct ctl_frame *f)
{
	char why[CTL_MAX_TEXT + 1];

	if (ctl_from_client(f->type)) {
		broken(s, "protocol error: it sent a client's frame");
		return;
	}
	switch (f->type) {
	case CTL_REFUSED:
		memcpy(why, f->u.refused.p, f->u.refused.len);
		why[f->u.refused.len] = '\0';
		log_msg("fleet '%s' refused us: %s", s->name, why);
		finish(s, s->welcomed ? EXIT_INCOMPLETE : EXIT_UNAVAILABLE);
		break;
	case CTL_WELCOME:
		if (s->welcomed) {
			broken(s, "protocol error: a second WELCOME");
			break;
		}
		s->welcomed = true;
		s->pid = f->u.welcome.pid;
		s->nodes = f->u.welcome.nodes;
		if (s->only_welcome)
			finish(s, EXIT_OK);
		break;
	case CTL_OUT:
		if (!s->welcomed)
			broken(s, "protocol error: output before WELCOME");
		else
			take_out(s, f->u.out.stream, &f->u.out.data);
		break;
	case CTL_DONE:
		if (!s->welcomed)
			broken(s, "protocol error: DONE before WELCOME");
		else
			finish(s, (int)f->u.done.status);
		break;
	default: broken(s, "protocol error: an unknown frame"); break;
	}
}

/* Act on each whole frame read, until the session is finished. */
static void decode_in(struct session *s)
{
	struct ctl_frame f;
	size_t used;
	int rc;
	char what[160];

	while (!s->finished) {
		rc = ctl_decode(buf_head(&s->in), buf_used(&s->in), &f, &used);
		if (rc == 0)
			return;
		if (rc == CTL_E_VERSION) {
			snprintf(
			    what, sizeof(what),
			    "it speaks console protocol version %d, we "
			    "speak %d: use the orchestrator that started "
			    "it",
			    ctl_version_of(buf_head(&s->in), buf_used(&s->in)),
			    CTL_VERSION);
			broken(s, what);
			return;
		}
		if (rc < 0) {
			snprintf(what, sizeof(what), "protocol error: %s",
			         ctl_strerror(rc));
			broken(s, what);
			return;
		}
		take_frame(s, &f);
		buf_consume(&s->in, used);
	}
}

/* Read what the daemon sent and act on each whole frame. */
static void read_in(struct session *s)
{
	ssize_t n;

	if (buf_reserve(&s->in, READ_CHUNK) < 0) {
		finish(s, EXIT_INCOMPLETE);
		return;
	}
	n = io_read(s->fd, buf_tail(&s->in), READ_CHUNK);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) { /* EOF, or reset */
		if (buf_used(&s->in) > 0)
			broken(s, "the connection closed inside a frame");
		else if (!s->welcomed)
			broken(s, "the connection closed before it answered");
		else
			broken(s, "the connection closed before the end "
			          "(did the fleet stop?)");
		return;
	}
	buf_commit(&s->in, (size_t)n);
	decode_in(s);
}

/* Read standard input (not a terminal) and queue its lines; at its end,
   the last line without a newline and END. */
static void read_input(struct session *s)
{
	char chunk[READ_CHUNK];
	ssize_t n = io_read(STDIN_FILENO, chunk, sizeof(chunk));
	const char *p = chunk, *end, *nl;

	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 0) {
		log_errno("standard input");
		s->bad_line = true;
	}
	if (n <= 0) {
		if (buf_used(&s->line) > 0 && !s->skipping)
			queue_line(s, (const char *)buf_head(&s->line),
			           buf_used(&s->line));
		buf_consume(&s->line, buf_used(&s->line));
		queue_end(s);
		return;
	}
	end = chunk + n;
	for (; p < end; p = nl + 1) {
		size_t len;

		nl = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((nl ? nl : end) - p);
		if (!s->skipping && buf_used(&s->line) + len > CTL_MAX_DATA) {
			/* Said once; the rest of it is dropped. */
			queue_line(s, NULL, buf_used(&s->line) + len);
			buf_consume(&s->line, buf_used(&s->line));
			s->skipping = true;
		}
		if (!s->skipping && buf_append(&s->line, p, len) < 0) {
			finish(s, EXIT_INCOMPLETE);
			return;
		}
		if (!nl)
			return;
		if (!s->skipping)
			queue_line(s, (const char *)buf_head(&s->line),
			           buf_used(&s->line));
		s->skipping = false;
		buf_consume(&s->line, buf_used(&s->line));
	}
}

/* term.h's line handler: a typed line is sent; Ctrl-D (NULL) leaves. */
static void typed(void *arg, const char *line, size_t len)
{
	struct session *s = arg;

	if (!line) {
		queue_end(s);
		flush_out(s);
		finish(s, EXIT_OK);
		return;
	}
	/* The daemon's words for leaving, as it takes them. */
	s->leaving |= (len == 7 && !memcmp(line, "/detach", 7)) ||
	              (len == 5 && !memcmp(line, "/quit", 5)) ||
	              (len == 4 && !memcmp(line, "exit", 4));
	queue_line(s, line, len);
}

/* Queue send's arguments as lines (a newline in one parts it), then
   END. */
static void queue_args(struct session *s, char **args, int n)
{
	for (int i = 0; i < n; i++) {
		const char *p = args[i], *nl;

		while ((nl = strchr(p, '\n'))) {
			queue_line(s, p, (size_t)(nl - p));
			p = nl + 1;
		}
		queue_line(s, p, strlen(p));
	}
	queue_end(s);
}

/* Who we are, for the daemon's /who: "user on pts/3" or "user (pid N)",
   its control bytes made '?'. */
static void who_am_i(char *out, size_t outlen)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *tty = ttyname(STDIN_FILENO);
	char user[32];

	snprintf(user, sizeof(user), "%s", pw ? pw->pw_name : "?");
	if (tty && strncmp(tty, "/dev/", 5) == 0)
		snprintf(out, outlen, "%s on %s", user, tty + 5);
	else
		snprintf(out, outlen, "%s (pid %d)", user, (int)getpid());
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* Connect a stream socket to path; return it (non-blocking), or -1 with
   errno (ENOENT: none there; ECONNREFUSED: nobody listens). */
static int dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A daemon stopped, or too busy to accept, fills its backlog: then
	   connect(2) waits, but not longer than this (EAGAIN). */
	struct timeval tv = {.tv_sec = ANSWER_MS / 1000};
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fd_set_nonblock(fd, true) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Set s up on its connected socket fd and queue HELLO. */
static int session_init(struct session *s, int fd, const char *name,
                        enum cli_command command, enum ctl_mode mode,
                        uint8_t flags)
{
	struct ctl_frame f = {.type = CTL_HELLO};
	char who[CTL_MAX_NAME + 1];

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->name = name;
	s->command = command;
	who_am_i(who, sizeof(who));
	f.u.hello.mode = mode;
	f.u.hello.flags = flags;
	f.u.hello.name.p = (const uint8_t *)who;
	f.u.hello.name.len = (uint32_t)strlen(who);
	return queue_frame(s, &f);
}

static void session_free(struct session *s)
{
	buf_free(&s->in);
	buf_free(&s->out);
	buf_free(&s->line);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* A signal at the terminal: Ctrl-C leaves the fleet running. */
static void take_signal(struct session *s, int sfd)
{
	struct signalfd_siginfo si;

	while (io_read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT) {
			s->leaving = true;
			finish(s, EXIT_OK);
		} else if (si.ssi_signo == SIGTERM)
			finish(s, EXIT_SIGTERM);
		else if (si.ssi_signo == SIGHUP)
			finish(s, 128 + SIGHUP);
	}
}

/* Turn the session until it is finished; answer_ms bounds the wait for
   WELCOME. sfd: a signalfd to watch, or -1. */
static void session_run(struct session *s, int answer_ms, int sfd)
{
	uint64_t deadline = clock_ns() + (uint64_t)answer_ms * 1000000u;

	while (!s->finished) {
		struct pollfd p[3] = {{.fd = s->fd, .events = POLLIN},
		                      {.fd = -1, .events = POLLIN},
		                      {.fd = sfd, .events = POLLIN}};
		int timeout = -1;

		flush_out(s);
		if (buf_used(&s->out) > 0)
			p[0].events |= POLLOUT;
		if (s->welcomed && s->input_open &&
		    buf_used(&s->out) < QUEUE_HIGH)
			p[1].fd = STDIN_FILENO;
		if (!s->welcomed) {
			uint64_t now = clock_ns();

			if (now >= deadline) {
				log_msg("fleet '%s' did not answer within "
				        "%d ms",
				        s->name, answer_ms);
				finish(s, EXIT_UNAVAILABLE);
				break;
			}
			timeout = (int)((deadline - now) / 1000000u) + 1;
		}
		if (s->tty)
			term_show();
		if (poll(p, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_errno("poll");
			finish(s, EXIT_INCOMPLETE);
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			read_in(s);
		if (!s->finished && p[1].fd >= 0 && p[1].revents) {
			if (s->tty)
				term_read();
			else
				read_input(s);
		}
		if (!s->finished && sfd >= 0 && p[2].revents)
			take_signal(s, sfd);
	}
}

/* Connect to fleet name; return the socket, or -1 after saying why. */
static int open_fleet(const char *name)
{
	char dir[256], path[512], err[512];
	int fd;

	if (fleetdir_dir(dir, sizeof(dir), false, err, sizeof(err)) < 0) {
		if (errno == ENOENT)
			log_msg("no fleet named '%s' runs (no socket at "
			        "%s/%s.sock)",
			        name, dir, name);
		else
			log_msg("%s", err);
		return -1;
	}
	if (fleetdir_socket(name, path, sizeof(path), false, err, sizeof(err)) <
	    0) {
		log_msg("%s", err);
		return -1;
	}
	fd = dial(path);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		log_msg("no fleet named '%s' runs (no socket at %s)", name,
		        path);
	else if (errno == ECONNREFUSED)
		log_msg("fleet '%s' is not running: nobody listens on %s (a "
		        "stale socket, left by a fleet that died)",
		        name, path);
	else
		log_errno("fleet '%s': cannot connect to %s", name, path);
	return -1;
}

/* attach, send, status, stop. */
static int converse(const struct cli *c)
{
	static const enum ctl_mode modes[] = {
	    [CLI_ATTACH] = CTL_MODE_ATTACH,
	    [CLI_SEND] = CTL_MODE_SEND,
	    [CLI_STATUS] = CTL_MODE_STATUS,
	    [CLI_STOP] = CTL_MODE_STOP,
	};
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct session s;
	uint8_t flags = c->json ? CTL_F_JSON : 0;
	bool attach = c->command == CLI_ATTACH;
	int fd = open_fleet(c->name), sfd = -1, status;
	char prompt[CTL_MAX_NAME + 16];

	if (fd < 0)
		return EXIT_UNAVAILABLE;
	if (attach && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) &&
	    term_foreground())
		flags |= CTL_F_TTY;
	if (session_init(&s, fd, c->name, c->command, modes[c->command],
	                 flags) < 0) {
		log_errno("hello");
		session_free(&s);
		return EXIT_UNAVAILABLE;
	}
	/* Lines given as arguments go with HELLO, a round trip saved; else
	   nothing goes before WELCOME: a refusal costs no input. */
	if (c->command == CLI_SEND && c->nsend > 0)
		queue_args(&s, c->send_lines, c->nsend);
	s.only_welcome = true;
	session_run(&s, ANSWER_MS, -1);
	if (!s.welcomed || s.status != EXIT_OK) {
		status = s.status;
		session_free(&s);
		return status;
	}
	s.finished = false;
	s.only_welcome = false;
	decode_in(&s); /* what came with WELCOME */
	if ((c->command == CLI_SEND && c->nsend == 0) || attach) {
		s.input_open = true;
		if (flags & CTL_F_TTY) {
			snprintf(prompt, sizeof(prompt), "fanout[%s]> ",
			         c->name);
			term_set_prompt(prompt);
			/* Ctrl-C reaches us as an event, with the terminal
			   still ours to give back. */
			sfd = sigfd_open(sigs, 3);
			if (sfd >= 0)
				fprintf(
				    stderr,
				    "attached to fleet '%s' (pid %u, %u "
				    "node%s); Ctrl-C, Ctrl-D or /detach leave "
				    "it running, /stop stops it\n",
				    c->name, s.pid, s.nodes,
				    s.nodes == 1 ? "" : "s");
			s.tty = sfd >= 0 && term_start(stdout, true, typed, &s);
		}
	}
	session_run(&s, 0, sfd);
	if (s.tty) {
		term_stop();
		if (s.status == EXIT_OK && !s.peer_closed && s.leaving)
			fprintf(stderr, "detached; fleet '%s' keeps running\n",
			        c->name);
	}
	status = s.status;
	if (status == EXIT_OK && (s.bad_line || s.stdout_gone))
		status = EXIT_INCOMPLETE;
	if (sfd >= 0)
		close(sfd);
	session_free(&s);
	return status;
}

static int is_socket_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 5 && e->d_name[0] != '.' &&
	       strcmp(e->d_name + n - 5, ".sock") == 0;
}

/* list: every NAME.sock of the directory, alive or stale. */
static int list_fleets(void)
{
	struct dirent **ents;
	char dir[256], path[512], err[512];
	int n;

	if (fleetdir_dir(dir, sizeof(dir), false, err, sizeof(err)) < 0) {
		if (errno != ENOENT) {
			log_msg("%s", err);
			return EXIT_UNAVAILABLE;
		}
		log_msg("no fleet runs (no %s)", dir);
		return EXIT_OK;
	}
	n = scandir(dir, &ents, is_socket_name, alphasort);
	if (n < 0) {
		log_errno("%s", dir);
		return EXIT_UNAVAILABLE;
	}
	if (n == 0)
		log_msg("no fleet runs (no socket in %s)", dir);
	for (int i = 0; i < n; i++) {
		char name[256];
		struct session s;
		int fd;

		snprintf(name, sizeof(name), "%.*s",
		         (int)(strlen(ents[i]->d_name) - 5), ents[i]->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		free(ents[i]);
		fd = dial(path);
		if (fd < 0) {
			if (errno == ECONNREFUSED)
				printf("%s  (not running: stale socket)\n",
				       name);
			else
				printf("%s  (cannot connect: %s)\n", name,
				       strerror(errno));
			continue;
		}
		if (session_init(&s, fd, name, CLI_STATUS, CTL_MODE_STATUS, 0) <
		    0) {
			session_free(&s);
			continue;
		}
		s.only_welcome = true;
		session_run(&s, LIST_ANSWER_MS, -1);
		if (s.welcomed)
			printf("%s  pid %u  %u node%s\n", name, s.pid, s.nodes,
			       s.nodes == 1 ? "" : "s");
		else
			printf("%s  (not answering)\n", name);
		session_free(&s);
	}
	free(ents);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INCOMPLETE;
}

/* Whether a fleet named name has a socket (running or stale). */
static bool has_socket(const char *name)
{
	char path[512], err[512];
	struct stat st;

	return fleetdir_socket(name, path, sizeof(path), false, err,
	                       sizeof(err)) == 0 &&
	       stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* send's words are read by what runs: `send web < lines` names the fleet
   web (its one word is a fleet's, and stdin has the lines); `send uname
   -a`, no fleet uname, is two lines to the default fleet. */
static void read_send_words(struct cli *c)
{
	if (c->command != CLI_SEND || c->name_given)
		return;
	if (c->name_guessed && !has_socket(c->name)) {
		c->send_lines--; /* the guessed name was a line */
		c->nsend++;
		c->name = FLEETDIR_DEFAULT;
	} else if (!c->name_guessed && c->nsend == 1 && !isatty(STDIN_FILENO) &&
	           has_socket(c->send_lines[0])) {
		c->name = c->send_lines[0];
		c->nsend = 0;
	}
}

int client_run(struct cli *c)
{
	if (c->command == CLI_LIST)
		return list_fleets();
	read_send_words(c);
	return converse(c);
}
