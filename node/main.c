/*
 * node - one member of a fanout fleet.
 *
 * Listens on HOST:PORT, tells its orchestrator it is ready by writing a
 * byte to the descriptor named in FANOUT_READY_FD, then acknowledges every
 * message of the one connection that presents the run's token
 * (FANOUT_TOKEN), and handles them as its SETUP says (SPEC §9). It exits on
 * BYE, SIGTERM or SIGINT, when that connection closes, and when its parent
 * dies. It is a child subreaper, so what its handlers start, orphans
 * included, comes back to it to be reaped and stopped.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "config.h"
#include "exitcode.h"
#include "hostd.h"
#include "io.h"
#include "log.h"
#include "net.h"
#include "node_env.h"
#include "parse.h"
#include "proc.h"
#include "session.h"
#include "sigfd.h"
#include "token.h"

/* What handlers see of their node (SPEC §9). */
#define ENV_INDEX "FANOUT_INDEX"
#define ENV_PORT  "FANOUT_PORT"
#define ENV_HOST  "FANOUT_HOST"

#define TOKEN_WAIT_MS 10000 /* for the token line on standard input */

struct args {
	const char *host;
	unsigned port, index;
	bool host_mode;
};

static void usage(FILE *to)
{
	fprintf(
	    to,
	    "usage: node --port PORT [--host HOST] [--index I]\n"
	    "       node --host-mode\n"
	    "\n"
	    "A fanout node: acknowledges the messages its orchestrator\n"
	    "broadcasts and, with a handler (exec, shell, pipe), runs them\n"
	    "and replies. It is started by orchestrator, which passes the\n"
	    "run's token in the environment (" ENV_TOKEN ").\n"
	    "\n"
	    "  -p, --port PORT   TCP port to listen on (1..65535)\n"
	    "  -H, --host HOST   address to bind (default 127.0.0.1)\n"
	    "  -i, --index I     this node's index in the fleet (default 0)\n"
	    "      --host-mode   start and watch this host's nodes, as\n"
	    "                    orchestrator orders on standard input\n"
	    "                    ([cluster] launcher)\n"
	    "  -h, --help        show this help\n"
	    "  -V, --version     show the version\n");
}

/* Parse the command line; exits on --help, --version or an error. */
static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"host", required_argument, NULL, 'H'},
	    {"index", required_argument, NULL, 'i'},
	    {"host-mode", no_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	int c;

	*a = (struct args){.host = "127.0.0.1"};
	while ((c = getopt_long(argc, argv, "p:H:i:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, 1, 65535, &a->port) == 0)
				break;
			log_msg("--port: '%s' is not a port in 1..65535",
			        optarg);
			exit(EXIT_USAGE);
		case 'H': a->host = optarg; break;
		case 'i':
			if (parse_uint(optarg, 0, CONFIG_MAX_NODES - 1,
			               &a->index) == 0)
				break;
			log_msg("--index: '%s' is not an index in 0..%d",
			        optarg, CONFIG_MAX_NODES - 1);
			exit(EXIT_USAGE);
		case 'M': a->host_mode = true; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'V':
			printf("node (fanout) %s\n", FANOUT_VERSION);
			exit(EXIT_OK);
		default: usage(stderr); exit(EXIT_USAGE);
		}
	}
	if (a->host_mode && (optind < argc || argc > 2)) {
		log_msg("--host-mode takes no other argument");
		exit(EXIT_USAGE);
	}
	if (!a->host_mode && (optind < argc || a->port == 0)) {
		log_msg(optind < argc ? "unexpected argument '%s'"
		                      : "--port is required%s",
		        optind < argc ? argv[optind] : "");
		exit(EXIT_USAGE);
	}
}

/* Read the token line the orchestrator writes on our standard input
   when it cannot use the environment (ssh); return 0 or -1. */
static int token_from_stdin(uint8_t token[PROTO_TOKEN_LEN])
{
	char line[TOKEN_HEX_LEN + 2];
	size_t got = 0;
	int rc;

	if (isatty(STDIN_FILENO))
		return -1; /* nobody to give it: do not wait on a person */
	while (got < sizeof(line) - 1) {
		struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
		ssize_t r;
		if (poll(&p, 1, TOKEN_WAIT_MS) <= 0)
			return -1;
		r = io_read(STDIN_FILENO, line + got, sizeof(line) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = '\0';
	line[strcspn(line, "\n")] = '\0';
	rc = token_from_hex(line, token);
	explicit_bzero(line, sizeof(line));
	return rc;
}

/* Read the token from the environment and wipe it there: /proc/PID/environ
   shows the original strings, which unsetenv() alone would leave. Without
   it, read it from standard input. */
static int take_token(uint8_t token[PROTO_TOKEN_LEN])
{
	char *hex = getenv(ENV_TOKEN);
	int rc;

	if (!hex)
		return token_from_stdin(token);
	rc = token_from_hex(hex, token);
	memset(hex, 'x', strlen(hex));
	unsetenv(ENV_TOKEN);
	return rc;
}

/* Tell what handlers run where they are (SPEC §9): FANOUT_INDEX,
   FANOUT_PORT, FANOUT_HOST. Called once the token is wiped from the
   environment they inherit. Return 0, or -1 with errno. */
static int handler_env(const struct args *a)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", a->index);
	if (setenv(ENV_INDEX, num, 1) < 0)
		return -1;
	snprintf(num, sizeof(num), "%u", a->port);
	if (setenv(ENV_PORT, num, 1) < 0)
		return -1;
	return setenv(ENV_HOST, a->host, 1);
}

/* Die with the parent. SIGKILL, because it reaches a stopped node too,
   and a node has nothing to save. If the parent died before we asked,
   we have been reparented already: go now. Return 0, or -1 with a
   message in err. */
static int follow_parent(char *err, size_t errlen)
{
	pid_t parent = getppid();

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		snprintf(err, errlen, "prctl: %s", strerror(errno));
		return -1;
	}
	if (getppid() != parent) {
		snprintf(err, errlen, "parent %d is gone; exiting",
		         (int)parent);
		return -1;
	}
	return 0;
}

/* Tell the orchestrator we listen: one byte on the inherited descriptor,
   or a line on standard output when none came with us (ssh). Return 0,
   or -1 with a message in err. */
static int notify_ready(char *err, size_t errlen)
{
	const char *s = getenv(ENV_READY_FD);
	unsigned fd;

	if (!s) {
		if (io_write_all(STDOUT_FILENO, READY_LINE "\n",
		                 strlen(READY_LINE) + 1) == 0)
			return 0;
		snprintf(err, errlen, "standard output: %s", strerror(errno));
		return -1;
	}
	if (parse_uint(s, 3, 0x7fffffff, &fd) < 0) {
		snprintf(err, errlen, "%s: '%s' is not a descriptor",
		         ENV_READY_FD, s);
		return -1;
	}
	if (io_write_all((int)fd, "R", 1) < 0) {
		snprintf(err, errlen, "readiness descriptor %u: %s", fd,
		         strerror(errno));
		return -1;
	}
	close((int)fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct node_ctx ctx = {0};
	struct args a;
	char err[256];

	if (proc_fix_stdio() < 0)
		return EXIT_INCOMPLETE; /* no /dev/null: nowhere to say it */
	/* Under an orchestrator our lines are prefixed with our index there. */
	log_init(getenv(ENV_READY_FD) ? NULL : "node");
	parse_args(argc, argv, &a);
	if (a.host_mode)
		return hostd_main();
	ctx.index = a.index;
	ctx.parent = getppid();
	if (take_token(ctx.token) < 0) {
		log_msg("no token: %s is unset or malformed, and no token "
		        "line came on standard input (node is started by "
		        "orchestrator)",
		        ENV_TOKEN);
		return EXIT_USAGE;
	}
	if (follow_parent(err, sizeof(err)) < 0) {
		log_msg("%s", err);
		return EXIT_INCOMPLETE;
	}
	if (handler_env(&a) < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		log_errno("handler set-up");
		return EXIT_INCOMPLETE;
	}
	ctx.signal_fd =
	    sigfd_open((const int[]){SIGTERM, SIGINT, SIGHUP, SIGCHLD}, 4);
	if (ctx.signal_fd < 0) {
		log_errno("signals");
		return EXIT_INCOMPLETE;
	}
	ctx.listen_fd = net_listen(a.host, (int)a.port, 128, err, sizeof(err));
	if (ctx.listen_fd < 0 || fd_set_nonblock(ctx.listen_fd, true) < 0) {
		log_msg("%s", err);
		return EXIT_INCOMPLETE;
	}
	if (notify_ready(err, sizeof(err)) < 0) {
		log_msg("%s", err);
		return EXIT_INCOMPLETE;
	}
	/* Reported: what handlers run has no use for it. */
	unsetenv(ENV_READY_FD);
	return node_serve(&ctx);
}
