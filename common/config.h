/*
 * config.h - server_config.ini: defaults, strict parsing, overrides.
 *
 * The file is INI (parsed by inih). Keys live in sections [cluster],
 * [node], [connect] and [broadcast]; the seed's flat num_clients and
 * base_port before any section are accepted as [cluster] keys. Every value
 * is parsed whole and range checked. Functions return 0 on success or -1
 * with one line in err: "FILE:LINE: what is wrong" for a file, "OPTION:
 * what is wrong" for an override. An unknown key's message suggests the
 * nearest valid key.
 */
#ifndef FANOUT_CONFIG_H
#define FANOUT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

#define CONFIG_MAX_NODES      4096
#define CONFIG_HOST_MAX       255
#define CONFIG_HOSTS_MAX      64
#define CONFIG_COMMAND_MAX    4095
#define CONFIG_MAX_FILE_BYTES (1u << 20)
#define CONFIG_FIFO_WAIT_MS   10000 /* a FIFO's writer, waited for */

enum restart_policy { RESTART_NEVER, RESTART_ON_FAILURE };

struct config {
	unsigned num_clients; /* [cluster] */
	unsigned base_port;
	char host[CONFIG_HOST_MAX + 1];
	/* [cluster] hosts: node i runs on hosts[i % nhosts] (none: host) */
	char hosts[CONFIG_HOSTS_MAX][CONFIG_HOST_MAX + 1];
	unsigned nhosts;
	char hosts_file[1024]; /* [cluster] hosts_file: one host a line */
	bool watch; /* [cluster] watch: a saved edit is a reload (SPEC §11) */
	/* [cluster] launcher: runs the node program once per host in host
	   mode (SPEC §8); "" = none, nodes start here or by [node] command */
	char launcher[CONFIG_COMMAND_MAX + 1];
	int launcher_line; /* where it was set in its file, 0: not */
	char command[CONFIG_COMMAND_MAX + 1]; /* [node]; "" = built-in */
	int command_line; /* where command was set in its file, 0: not */
	unsigned stop_timeout_ms;
	enum restart_policy restart;
	unsigned connect_timeout_ms; /* [connect] timeout_ms */
	unsigned retry_initial_ms;
	unsigned retry_max_ms;
	unsigned ack_timeout_ms; /* [broadcast] */
	unsigned max_message_bytes;
	/* [node] handler (SPEC §9): what a node does with a message */
	enum handler_kind handler;
	char handler_command[CONFIG_COMMAND_MAX + 1]; /* for pipe; "" = none */
	int handler_command_line; /* where it was set in its file, 0: not */
	unsigned handler_timeout_ms;
	unsigned max_reply_bytes;
};

/* Fill c with the documented defaults. */
void config_defaults(struct config *c);

/* Parse INI text on top of what c holds; filename is used in messages
   only. On error c may be partly updated: parse into a scratch copy. */
int config_parse_string(struct config *c, const char *text,
                        const char *filename, char *err, size_t errlen);

/* Load path on top of what c holds. A file that does not exist leaves c
   as it is and sets *missing (which may be NULL to make it an error); a
   directory is an error that says so. */
int config_load(struct config *c, const char *path, bool *missing, char *err,
                size_t errlen);

/* As config_load(), for a reload (SPEC §3): path must be a regular,
   non-empty file (a pipe was read up at start, and an empty file is one
   being rewritten), and a missing file is an error. */
int config_reload(struct config *c, const char *path, char *err, size_t errlen);

/* Set one key from the command line, as strictly as the file would;
   option names the flag in messages ("-n"). Run config_check() after. */
int config_override(struct config *c, const char *section, const char *key,
                    const char *value, const char *option, char *err,
                    size_t errlen);

/* Parse a hosts file's text into c->hosts: one host a line, '#' starts
   a comment, blank lines skipped; filename is for messages
   ("FILE:LINE: ..."). config_load() reads [cluster] hosts_file (relative
   to the config file's directory) this way. Return 0 or -1. */
int config_parse_hosts(struct config *c, const char *text, const char *filename,
                       char *err, size_t errlen);

/* Return the host node i runs on and listens at: hosts[i % nhosts], or
   host when no hosts are listed. */
const char *config_node_host(const struct config *c, unsigned i);

/* Check rules that span keys (the port range fits, retry_initial_ms <=
   retry_max_ms, handler = pipe has a handler_command); where names the
   source in messages. */
int config_check(const struct config *c, const char *where, char *err,
                 size_t errlen);

#endif
