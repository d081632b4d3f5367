/* reload.c - see reload.h. */
#include "reload.h"

#include <string.h>

#include "log.h"
#include "supervise.h"

int settings_read(const struct cli *cli, struct config *c, bool first,
                  char *err, size_t errlen)
{
	bool missing = false;

	config_defaults(c);
	if (config_load(c, cli->config_path,
	                first && !cli->config_given ? &missing : NULL, err,
	                errlen) < 0)
		return -1;
	if (missing)
		log_msg("%s not found; using built-in defaults",
		        cli->config_path);
	if (cli->num_clients &&
	    config_override(c, "cluster", "num_clients", cli->num_clients, "-n",
	                    err, errlen) < 0)
		return -1;
	if (cli->base_port &&
	    config_override(c, "cluster", "base_port", cli->base_port, "-p",
	                    err, errlen) < 0)
		return -1;
	return config_check(c, "command line", err, errlen);
}

/* Keep what running nodes were started with: where they listen and how
   they are run. Say so for each such key the file changed. */
static void keep_fleet_shape(const struct config *now, struct config *c)
{
	if (c->base_port != now->base_port)
		log_msg("reload: base_port cannot change while nodes run; "
		        "keeping %u",
		        now->base_port);
	if (strcmp(c->host, now->host) != 0)
		log_msg("reload: host cannot change while nodes run; keeping "
		        "%s",
		        now->host);
	if (c->nhosts != now->nhosts ||
	    memcmp(c->hosts, now->hosts, sizeof(c->hosts)) != 0)
		log_msg("reload: hosts cannot change while nodes run; keeping "
		        "them");
	if (strcmp(c->command, now->command) != 0)
		log_msg("reload: command cannot change while nodes run; "
		        "keeping the one they started with");
	c->base_port = now->base_port;
	memcpy(c->host, now->host, sizeof(c->host));
	memcpy(c->command, now->command, sizeof(c->command));
	memcpy(c->hosts, now->hosts, sizeof(c->hosts));
	memcpy(c->hosts_file, now->hosts_file, sizeof(c->hosts_file));
	c->nhosts = now->nhosts;
}

void reload(struct orch *o)
{
	struct config c;
	char err[1024];
	unsigned n;

	if (settings_read(&o->cli, &c, false, err, sizeof(err)) < 0) {
		log_msg("reload: %s; keeping the running configuration", err);
		return;
	}
	keep_fleet_shape(&o->cfg, &c);
	if ((unsigned long)c.base_port + c.num_clients - 1 > 65535) {
		log_msg("reload: %u nodes from port %u do not fit below 65536; "
		        "keeping the running configuration",
		        c.num_clients, c.base_port);
		return;
	}
	n = c.num_clients;
	c.num_clients = o->cfg.num_clients;
	o->cfg = c;
	log_msg("reload: %s read; %u nodes wanted, %u running",
	        o->cli.config_path, n, o->n);
	if (supervise_scale(o, n) == 0)
		o->cfg.num_clients = n;
}
