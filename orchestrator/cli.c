/* cli.c - see cli.h. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char cli_usage[] =
    "usage: orchestrator [-c FILE] [-n N] [-p PORT] [--handler NAME]\n"
    "                    [--json] [--lines] [--log-dir DIR] [--no-watch]\n"
    "                    [-q] [-h] [-V]\n"
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
    "      --name NAME    the fleet's name (default: default)\n"
    "  -q, --quiet        print only errors and the final summary\n"
    "  -h, --help         show this help\n"
    "  -V, --version      show the version\n"
    "\n"
    "Console: a line is broadcast; 'exit' or /quit stops; /status, /help.\n"
    "Exit status: 0 all acked (and replied with status 0), 1 acks or\n"
    "replies missing, a reply failed or a node died, 64 usage,\n"
    "69 nodes could not be started, 78 configuration error, 130 SIGINT,\n"
    "143 SIGTERM.\n";

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
	    {"name", required_argument, NULL, 'N'},
	    {"log-dir", required_argument, NULL, 'L'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	int ch;

	memset(c, 0, sizeof(*c));
	c->config_path = CLI_DEFAULT_CONFIG;
	c->name = "default";
	optind = 0; /* a full reset in glibc */
	opterr = 0;
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
		snprintf(err, errlen, "unexpected argument '%s'; try --help",
		         argv[optind]);
		return -1;
	}
	if (c->json && c->lines) {
		snprintf(err, errlen,
		         "--json and --lines both say what standard output "
		         "carries; choose one");
		return -1;
	}
	return 0;
}
