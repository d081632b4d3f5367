/* fleetdir.c - see fleetdir.h. */
#include "fleetdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fleetdir_name_ok(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n == 0 || n > FLEETDIR_NAME_MAX || name[0] == '.' ||
	    name[0] == '-' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz"
	                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n) {
		snprintf(
		    err, errlen,
		    "'%.80s' is not a fleet name: 1 to %d of letters, "
		    "digits, '.', '_' and '-', not starting with '.' or '-'",
		    name, FLEETDIR_NAME_MAX);
		return -1;
	}
	return 0;
}

/* Make dir (mode 0700) if missing and create; then check it is ours and
   closed to others. */
static int own_dir(const char *dir, bool create, char *err, size_t errlen)
{
	struct stat st;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077)) {
		snprintf(err, errlen,
		         "%s: not a directory of ours closed to others (mode "
		         "0700); refusing to use it",
		         dir);
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Write base/sub into out; return 0, or -1 with err when too long. */
static int join(char *out, size_t outlen, const char *base, const char *sub,
                char *err, size_t errlen)
{
	int n = snprintf(out, outlen, "%s/%s", base, sub);

	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "%s/%s: path too long", base, sub);
		return -1;
	}
	return 0;
}

int fleetdir_dir(char *out, size_t outlen, bool create, char *err,
                 size_t errlen)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	char tmp[64];

	if (run && run[0] == '/') {
		if (join(out, outlen, run, "fanout", err, errlen) < 0)
			return -1;
	} else {
		snprintf(tmp, sizeof(tmp), "fanout-%u", (unsigned)getuid());
		if (join(out, outlen, "/tmp", tmp, err, errlen) < 0)
			return -1;
	}
	return own_dir(out, create, err, errlen);
}

int fleetdir_socket(const char *name, char *out, size_t outlen, bool create,
                    char *err, size_t errlen)
{
	char dir[256], file[FLEETDIR_NAME_MAX + 8];

	if (fleetdir_name_ok(name, err, errlen) < 0 ||
	    fleetdir_dir(dir, sizeof(dir), create, err, errlen) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s.sock", name);
	/* A socket's path fits in sun_path: 108 bytes with its NUL. */
	if (join(out, outlen < 108 ? outlen : 108, dir, file, err, errlen) < 0)
		return -1;
	return 0;
}

int fleetdir_log(const char *name, char *out, size_t outlen, char *err,
                 size_t errlen)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[1024], base[1024], file[FLEETDIR_NAME_MAX + 8];

	if (fleetdir_name_ok(name, err, errlen) < 0)
		return -1;
	if (state && state[0] == '/')
		snprintf(base, sizeof(base), "%s", state);
	else if (home && home[0] == '/')
		snprintf(base, sizeof(base), "%s/.local/state", home);
	else {
		snprintf(err, errlen,
		         "neither XDG_STATE_HOME nor HOME is set: "
		         "nowhere to keep the fleet's log");
		return -1;
	}
	if (join(dir, sizeof(dir), base, "fanout", err, errlen) < 0)
		return -1;
	/* Its parents are the user's; ours is made private. */
	if (mkdir(base, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", base, strerror(errno));
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(file, sizeof(file), "%s.log", name);
	return join(out, outlen, dir, file, err, errlen);
}
