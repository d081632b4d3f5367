/*
 * settings.h - what the user asked for: the command line and the
 * configuration it names, read at start and again at each reload.
 *
 * The reload merge is pure: it decides what a newly read file changes
 * now, what must wait for the next start (where and how running nodes
 * were started), and what is refused (SPEC §3, §5).
 */
#ifndef FANOUT_SETTINGS_H
#define FANOUT_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "config.h"

struct settings {
	struct cli cli;
	struct config cfg; /* in force; the supervisor writes it on reload */
};

/* Fill c from the defaults, the file cli names and its -n/-p overrides.
   A missing default file (no -c) means the defaults when missing is not
   NULL: *missing is set and the caller says so; else it is an error.
   Return 0, or -1 with a message ("FILE:LINE: ...") in err. */
int settings_read(const struct cli *cli, struct config *c, bool *missing,
                  char *err, size_t errlen);

/* Read the settings again for a reload (SIGHUP, /reload): as
   settings_read(), but the file must be a regular, non-empty file and
   must exist (SPEC §3). Return 0, or -1 with a message in err. */
int settings_reread(const struct cli *cli, struct config *c, char *err,
                    size_t errlen);

/* Keys a reload cannot change under running nodes (bits of
   reload_plan.kept). */
enum {
	KEPT_BASE_PORT = 1,
	KEPT_HOST = 2,
	KEPT_HOSTS = 4,
	KEPT_COMMAND = 8,
	KEPT_LAUNCHER = 16,
};

struct reload_plan {
	unsigned kept;  /* KEPT_* keys the file changed, kept as running */
	unsigned nodes; /* the fleet's new size */
};

/* Merge next, just read, with now, in force: the KEPT_* keys are set
   back to now's values, and next->num_clients to now's (the fleet is
   resized to plan->nodes and only then is the new size in force).
   Return 0, or -1 when next cannot apply at all: plan->nodes nodes from
   base_port would not fit below port 65536. */
int settings_merge(const struct config *now, struct config *next,
                   struct reload_plan *plan);

#endif
