/*
 * fleetdir.h - where a detached fleet keeps its control socket and its
 * log (SPEC §11): $XDG_RUNTIME_DIR/fanout/NAME.sock (else
 * /tmp/fanout-UID/NAME.sock), in a directory of mode 0700 that must be
 * ours; $XDG_STATE_HOME/fanout/NAME.log (else
 * ~/.local/state/fanout/NAME.log). Functions write a path into out
 * (outlen bytes) and return 0, or -1 with one line in err.
 */
#ifndef FANOUT_FLEETDIR_H
#define FANOUT_FLEETDIR_H

#include <stdbool.h>
#include <stddef.h>

#define FLEETDIR_NAME_MAX 64        /* bytes of a fleet's name */
#define FLEETDIR_DEFAULT  "default" /* the name when none is given */

/* Check a fleet's name: 1..FLEETDIR_NAME_MAX of [A-Za-z0-9._-], not
   starting with '.' (it names files) nor '-' (it would be an option). */
int fleetdir_name_ok(const char *name, char *err, size_t errlen);

/* The directory of the sockets. With create, make it (mode 0700) when
   missing; either way it must be a directory of ours that no one else
   may enter (mode 0700), else it is refused: another user could have
   made it to catch our consoles. When it is refused, out still holds
   its path (when that fits), and errno is ENOENT if it does not exist:
   then no fleet ever ran there. */
int fleetdir_dir(char *out, size_t outlen, bool create, char *err,
                 size_t errlen);

/* The socket of fleet name: the directory (see fleetdir_dir()) and
   NAME.sock. */
int fleetdir_socket(const char *name, char *out, size_t outlen, bool create,
                    char *err, size_t errlen);

/* The log of fleet name, its directory made (0700) when missing. */
int fleetdir_log(const char *name, char *out, size_t outlen, char *err,
                 size_t errlen);

#endif
