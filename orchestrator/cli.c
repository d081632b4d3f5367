/* cli.c - see cli.h. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "fleetdir.h"

static const char *const command_names[] = {
    [CLI_RUN] = "",          [CLI_ATTACH] = "attach", [CLI_SEND] = "send",
    [CLI_STATUS] = "status", [CLI_STOP] = "stop",     [CLI_LIST] = "list",
};
#define NCOMMANDS (sizeof(command_names) / sizeof(command_names[0]))

const char cli_usage[] =
    "usage: orchestrator [-c FILE] [-n N] [-p PORT] [--handler NAME]\n"
    "                    [--json] [--lines] [--log-dir DIR] [--no-watch]\n"
    "                    [--detach | --service] [--name NAME] [-q] [-h] [-V]\n"
    "       orchestrator attach [--json] [NAME]\n"
    "       orchestrator send [--json] [NAME] [LINE...]\n"
    "       orchestrator send [--json] --name NAME [LINE...]\n"
    "       orchestrator status [NAME]\n"
    "       orchestrator stop [NAME]\n"
    "       orchestrator list\n"
    "\n"
    "Start a fleet of nodes and broadcast every line of standard input to\n"
    "all of them, reporting their acknowledgements and, with a handler,\n"
    "their replies gathered by identical output.\n"
    "\n"
    "  -c, --config FILE  configuration (default ./" CLI_DEFAULT_CONFIG ")\n"
    "  -n, --nodes N      number of nodes, overrides [cluster] num_clients\n"
    "  -p, --port PORT    first node's port, overrides [cluster] base_port\n"
    "      --handler NAME what a node does with a line: ack (default), exec\n"
    "                     (sh -c LINE), shell (one sh per node, state kept)\n"
    "                     or pipe ([node] handler_command, a line in and out)\n"
    "      --json         one JSON event per line on stdout; text on stderr\n"
    "      --lines        replies as 'nodeN: text' lines (pdsh), for dshbak\n"
    "      --log-dir DIR  write node i's output to DIR/node-i.log instead\n"
    "      --no-watch     do not apply saved edits of FILE as reloads\n"
    "      --detach       once ready, run on as a daemon (see attach)\n"
    "      --service      run as a daemon under systemd (fanout@NAME):\n"
    "                     no fork, no console input, the log on stderr,\n"
    "                     readiness told with sd_notify\n"
    "      --name NAME    the fleet's name (default '" FLEETDIR_DEFAULT "')\n"
    "  -q, --quiet        print only errors and the final summary\n"
    "  -h, --help         show this help\n"
    "  -V, --version      show the version\n"
    "\n"
    "Console: a line is broadcast; 'exit' or /quit stops; /status, /help.\n"
    "\n"
    "Subcommands, on a fleet that runs (NAME: default '" FLEETDIR_DEFAULT
    "'):\n"
    "  attach   its console: lines are broadcast, reports shown; Ctrl-C,\n"
    "           Ctrl-D or /detach leave it running, /stop stops it\n"
    "  send     broadcast each LINE (none: each line of standard input),\n"
    "           print their reports (--json: as JSON events) and exit\n"
    "           with their status; one argument is a LINE, of more\n"
    "           the first names the fleet if one of that name runs\n"
    "  status   print its table of nodes\n"
    "  stop     stop it; return once its nodes are gone, with its status\n"
    "  list     the fleets that run, and sockets left by dead ones\n"
    "A fleet that does not run, or cannot be reached: exit 69.\n"
    "Exit status: 0 all acked (and replied with status 0), 1 acks or\n"
    "replies missing, a reply failed or a node died, 64 usage,\n"
    "69 nodes could not be started, 78 configuration error, 130 SIGINT,\n"
    "143 SIGTERM.\n";

const char *cli_command_name(enum cli_command c)
{
	return (size_t)c < NCOMMANDS ? command_names[c] : "";
}

/* The subcommand argv[0] names, or CLI_RUN. */
static enum cli_command command_of(const char *word)
{
	for (size_t i = 1; i < NCOMMANDS; i++)
		if (strcmp(word, command_names[i]) == 0)
			return (enum cli_command)i;
	return CLI_RUN;
}

/* Parse a subcommand's arguments; argv[0] is its name. */
static int parse_command(struct cli *c, int argc, char **argv, char *err,
                         size_t errlen)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"name", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *cmd = argv[0];
	bool named = false;
	int ch, left;

	/* '+': options end at the first argument, a line of send's. */
	while ((ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': c->json = true; break;
		case 'N':
			c->name = optarg;
			named = true;
			c->name_given = true;
			break;
		case 'h': c->help = true; break;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value",
			         argv[optind - 1]);
			return -1;
		default:
			snprintf(err, errlen,
			         "unknown option '%s' of %s; try --help",
			         argv[optind - 1], cmd);
			return -1;
		}
	}
	if (c->help)
		return 0;
	if (c->json && c->command != CLI_SEND && c->command != CLI_ATTACH) {
		snprintf(err, errlen,
		         "--json is an option of send and attach, "
		         "not of %s",
		         cmd);
		return -1;
	}
	if (named && c->command == CLI_LIST) {
		snprintf(err, errlen,
		         "list takes no fleet name: it lists them "
		         "all");
		return -1;
	}
	left = argc - optind;
	if (c->command == CLI_SEND) {
		/* One argument is a line ("orchestrator send uptime"); of
		   more, the first names the fleet when it can be a name.
		   --name says it outright. */
		if (!named && left > 1 &&
		    fleetdir_name_ok(argv[optind], NULL, 0) == 0) {
			c->name = argv[optind++];
			c->name_guessed = true; /* client.c looks again */
			left--;
		}
		c->send_lines = argv + optind;
		c->nsend = left;
	} else if (left > 0) {
		if (c->command == CLI_LIST || left > 1) {
			snprintf(
			    err, errlen,
			    "unexpected argument '%s' of %s; try --help",
			    argv[c->command == CLI_LIST ? optind : optind + 1],
			    cmd);
			return -1;
		}
		if (named) {
			snprintf(err, errlen,
			         "the fleet is named twice: --name %s and "
			         "'%s'",
			         c->name, argv[optind]);
			return -1;
		}
		c->name = argv[optind];
	}
	return fleetdir_name_ok(c->name, err, errlen);
}

int cli_parse(struct cli *c, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"nodes", required_argument, NULL, 'n'},
	    {"port", required_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'j'},
	    {"handler", required_argument, NULL, 'H'},
	    {"lines", no_argument, NULL, 'l'},
	    {"no-watch", no_argument, NULL, 'W'},
	    {"detach", no_argument, NULL, 'D'},
	    {"service", no_argument, NULL, 'S'},
	    {"name", required_argument, NULL, 'N'},
	    {"log-dir", required_argument, NULL, 'L'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	int ch;

	memset(c, 0, sizeof(*c));
	c->config_path = CLI_DEFAULT_CONFIG;
	c->name = FLEETDIR_DEFAULT;
	optind = 0; /* a full reset in glibc */
	opterr = 0;
	if (argc > 1 && (c->command = command_of(argv[1])) != CLI_RUN)
		return parse_command(c, argc - 1, argv + 1, err, errlen);
	while ((ch = getopt_long(argc, argv, ":c:n:p:qhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c->config_path = optarg;
			c->config_given = true;
			break;
		case 'n': c->num_clients = optarg; break;
		case 'p': c->base_port = optarg; break;
		case 'j': c->json = true; break;
		case 'H': c->handler = optarg; break;
		case 'l': c->lines = true; break;
		case 'W': c->no_watch = true; break;
		case 'D': c->detach = true; break;
		case 'S': c->service = true; break;
		case 'N': c->name = optarg; break;
		case 'L': c->log_dir = optarg; break;
		case 'q': c->quiet = true; break;
		case 'h': c->help = true; break;
		case 'V': c->version = true; break;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value",
			         argv[optind - 1]);
			return -1;
		default:
			snprintf(err, errlen, "unknown option '%s'; try --help",
			         argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		if (command_of(argv[optind]) != CLI_RUN)
			snprintf(err, errlen,
			         "'%s' is a subcommand: put it first "
			         "(orchestrator %s ...)",
			         argv[optind], argv[optind]);
		else
			snprintf(err, errlen,
			         "unexpected argument '%s'; try --help",
			         argv[optind]);
		return -1;
	}
	if (c->detach && c->service) {
		snprintf(err, errlen,
		         "--detach forks, --service stays under its service "
		         "manager; choose one");
		return -1;
	}
	if (c->json && c->lines) {
		snprintf(err, errlen,
		         "--json and --lines both say what standard output "
		         "carries; choose one");
		return -1;
	}
	return fleetdir_name_ok(c->name, err, errlen);
}
