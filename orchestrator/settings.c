/* settings.c - see settings.h. */
#include "settings.h"

#include <stdio.h>
#include <string.h>

#include "template.h"

/* Apply cli's -n and -p to c, then the rules across keys. Return 0 or -1
   with a message in err. */
static int overrides(const struct cli *cli, struct config *c, char *err,
                     size_t errlen)
{
	if (cli->num_clients &&
	    config_override(c, "cluster", "num_clients", cli->num_clients, "-n",
	                    err, errlen) < 0)
		return -1;
	if (cli->base_port &&
	    config_override(c, "cluster", "base_port", cli->base_port, "-p",
	                    err, errlen) < 0)
		return -1;
	if (cli->handler && config_override(c, "node", "handler", cli->handler,
	                                    "--handler", err, errlen) < 0)
		return -1;
	return config_check(c, "command line", err, errlen);
}

/* Check that template text, set at line of path as key (with its
   section), splits into words. Return 0 or -1 with a message in err. */
static int check_template(const char *path, int line, const char *key,
                          const char *text, char *err, size_t errlen)
{
	struct template t;
	char why[256];

	if (template_parse(&t, text, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%d: %s: %s", path, line, key, why);
		return -1;
	}
	template_free(&t);
	return 0;
}

/* Check what only the orchestrator reads: the words of [node] command
   and handler_command, and of [cluster] launcher. Return 0 or -1 with a
   message in err naming the file. */
static int check_command(const char *path, const struct config *c, char *err,
                         size_t errlen)
{
	if (check_template(path, c->command_line, "[node] command", c->command,
	                   err, errlen) < 0 ||
	    check_template(path, c->launcher_line, "[cluster] launcher",
	                   c->launcher, err, errlen) < 0)
		return -1;
	return check_template(path, c->handler_command_line,
	                      "[node] handler_command", c->handler_command, err,
	                      errlen);
}

int settings_read(const struct cli *cli, struct config *c, bool *missing,
                  char *err, size_t errlen)
{
	config_defaults(c);
	if (missing)
		*missing = false;
	if (config_load(c, cli->config_path, cli->config_given ? NULL : missing,
	                err, errlen) < 0 ||
	    check_command(cli->config_path, c, err, errlen) < 0)
		return -1;
	return overrides(cli, c, err, errlen);
}

int settings_reread(const struct cli *cli, struct config *c, char *err,
                    size_t errlen)
{
	config_defaults(c);
	if (config_reload(c, cli->config_path, err, errlen) < 0 ||
	    check_command(cli->config_path, c, err, errlen) < 0)
		return -1;
	return overrides(cli, c, err, errlen);
}

int settings_merge(const struct config *now, struct config *next,
                   struct reload_plan *plan)
{
	plan->kept = 0;
	plan->nodes = next->num_clients;
	if (next->base_port != now->base_port)
		plan->kept |= KEPT_BASE_PORT;
	if (strcmp(next->host, now->host) != 0)
		plan->kept |= KEPT_HOST;
	if (next->nhosts != now->nhosts ||
	    memcmp(next->hosts, now->hosts, sizeof(next->hosts)) != 0)
		plan->kept |= KEPT_HOSTS;
	if (strcmp(next->command, now->command) != 0)
		plan->kept |= KEPT_COMMAND;
	if (strcmp(next->launcher, now->launcher) != 0)
		plan->kept |= KEPT_LAUNCHER;
	next->base_port = now->base_port;
	memcpy(next->host, now->host, sizeof(next->host));
	memcpy(next->command, now->command, sizeof(next->command));
	memcpy(next->launcher, now->launcher, sizeof(next->launcher));
	memcpy(next->hosts, now->hosts, sizeof(next->hosts));
	memcpy(next->hosts_file, now->hosts_file, sizeof(next->hosts_file));
	next->nhosts = now->nhosts;
	next->num_clients = now->num_clients;
	return (unsigned long)now->base_port + plan->nodes - 1 > 65535 ? -1 : 0;
}
