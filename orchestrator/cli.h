/*
 * cli.h - the orchestrator's command line.
 *
 *   orchestrator [-c FILE] [-n N] [-p PORT] [--handler NAME] [--json]
 *                [--lines] [--log-dir DIR] [--no-watch] [-q] [-h] [-V]
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

struct cli {
	const char *config_path;
	bool config_given;       /* -c was used: a missing file is an error */
	const char *num_clients; /* -n, or NULL */
	const char *base_port;   /* -p, or NULL */
	const char *handler;     /* --handler, or NULL */
	const char *log_dir;     /* --log-dir, or NULL: node output there */
	bool json, lines, quiet, help, version;
	bool no_watch;    /* --no-watch: an edit of the file is not a reload */
	bool detach;      /* --detach: a daemon once ready (SPEC §11) */
	const char *name; /* --name, the fleet's (fleetdir.h); default */
};

/* Parse argv. Return 0, or -1 with a message in err. Resets getopt, so it
   may be called more than once in a process. */
int cli_parse(struct cli *c, int argc, char **argv, char *err, size_t errlen);

/* The --help text. */
extern const char cli_usage[];

#endif
