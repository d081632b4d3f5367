/*
 * reload.h - reading the configuration: at start, and again on SIGHUP or
 * /reload, when the running fleet is resized to the file's num_clients.
 */
#ifndef FANOUT_RELOAD_H
#define FANOUT_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "orch.h"

/* Fill c from the defaults, the file cli names and its -n/-p overrides.
   At the first read a missing default file means the defaults (said so);
   later it is an error. Return 0, or -1 with a message in err. */
int settings_read(const struct cli *cli, struct config *c, bool first,
                  char *err, size_t errlen);

/* Read the file again and apply it to the running fleet. On any error
   the running configuration is kept, and the error said. */
void reload(struct orch *o);

#endif
