/*
 * cli.h - the orchestrator's command line.
 *
 *   orchestrator [-c FILE] [-n N] [-p PORT] [--handler NAME] [--json]
 *                [--lines] [--log-dir DIR] [--no-watch] [--name NAME]
 *                [--detach | --service] [-q] [-h] [-V]
 *   orchestrator attach [--json] [NAME]
 *   orchestrator send [--json] [NAME] [LINE...]
 *   orchestrator send [--json] --name NAME [LINE...]
 *   orchestrator status [NAME]
 *   orchestrator stop [NAME]
 *   orchestrator list
 *
 * A subcommand (SPEC §11) is the first argument; it talks to a running
 * fleet (client.h) and starts none. Its options come before its other
 * arguments: after the first of those, everything is an argument (a
 * line of send may start with '-'; "--" ends options too). The fleet's
 * NAME is send's first argument unless --name gives it.
 *
 * Parsing is pure: nothing is printed and nothing exits here, so it is
 * unit tested. -n, -p and --handler are kept as strings and applied to
 * the config after the file is read, with the file's own strictness.
 */
#ifndef FANOUT_CLI_H
#define FANOUT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_DEFAULT_CONFIG "server_config.ini"

/* What the command line asks for: start a fleet, or a subcommand. */
enum cli_command {
	CLI_RUN = 0, /* start a fleet and run its console */
	CLI_ATTACH,  /* the console of a running fleet */
	CLI_SEND,    /* broadcast lines to it, report them, exit */
	CLI_STATUS,  /* print its /status table */
	CLI_STOP,    /* stop it, return when it is down */
	CLI_LIST,    /* the fleets that run, and stale sockets */
};

struct cli {
	enum cli_command command;
	const char *name;  /* the fleet's name: --name, a subcommand's NAME,
	                      else FLEETDIR_DEFAULT; always checked */
	bool name_given;   /* --name, or a subcommand's NAME alone */
	bool name_guessed; /* send's first argument taken as NAME */
	char **send_lines; /* send's LINE arguments (nsend of them) */
	int nsend;
	const char *config_path;
	bool config_given;       /* -c was used: a missing file is an error */
	const char *num_clients; /* -n, or NULL */
	const char *base_port;   /* -p, or NULL */
	const char *handler;     /* --handler, or NULL */
	const char *log_dir;     /* --log-dir, or NULL: node output there */
	bool json, lines, quiet, help, version;
	bool no_watch; /* --no-watch: an edit of the file is not a reload */
	bool detach;   /* --detach: a daemon once ready (SPEC §11) */
	bool service;  /* --service: a daemon of a service manager: no
	                  fork, no input, sd_notify(3) */
};

/* Parse argv. Return 0, or -1 with a message in err. Resets getopt, so it
   may be called more than once in a process. send_lines points into argv. */
int cli_parse(struct cli *c, int argc, char **argv, char *err, size_t errlen);

/* The --help text. */
extern const char cli_usage[];

/* Return the name of command c as typed ("attach", ...), or "" for
   CLI_RUN. */
const char *cli_command_name(enum cli_command c);

#endif
