/* config.c - see config.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse.h"
#include "proto.h"

enum kind {
	K_UINT,
	K_HOST,
	K_HOSTS,
	K_PATH,
	K_COMMAND,
	K_RESTART,
	K_HANDLER,
	K_BOOL
};

struct key {
	const char *section, *name;
	enum kind kind;
	size_t off;
	unsigned min, max;
};

#define U(sec, name, field, lo, hi)                                            \
	{                                                                      \
		sec, name, K_UINT, offsetof(struct config, field), lo, hi      \
	}

static const struct key keys[] = {
    U("cluster", "num_clients", num_clients, 1, CONFIG_MAX_NODES),
    U("cluster", "base_port", base_port, 1, 65535),
    {"cluster", "host", K_HOST, offsetof(struct config, host), 0, 0},
    {"cluster", "hosts", K_HOSTS, offsetof(struct config, hosts), 0, 0},
    {"cluster", "hosts_file", K_PATH, offsetof(struct config, hosts_file), 0,
     0},
    {"cluster", "watch", K_BOOL, offsetof(struct config, watch), 0, 0},
    {"cluster", "launcher", K_COMMAND, offsetof(struct config, launcher), 0, 0},
    {"node", "command", K_COMMAND, offsetof(struct config, command), 0, 0},
    U("node", "stop_timeout_ms", stop_timeout_ms, 0, 3600000),
    {"node", "restart", K_RESTART, offsetof(struct config, restart), 0, 0},
    {"node", "handler", K_HANDLER, offsetof(struct config, handler), 0, 0},
    {"node", "handler_command", K_COMMAND,
     offsetof(struct config, handler_command), 0, 0},
    U("node", "handler_timeout_ms", handler_timeout_ms, 1, 86400000),
    U("node", "max_reply_bytes", max_reply_bytes, 0, PROTO_MAX_PAYLOAD),
    U("connect", "timeout_ms", connect_timeout_ms, 1, 3600000),
    U("connect", "retry_initial_ms", retry_initial_ms, 1, 60000),
    U("connect", "retry_max_ms", retry_max_ms, 1, 600000),
    U("broadcast", "ack_timeout_ms", ack_timeout_ms, 1, 3600000),
    U("broadcast", "max_message_bytes", max_message_bytes, 1,
      PROTO_MAX_PAYLOAD),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {"cluster", "node", "connect",
                                       "broadcast"};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* State of one parse, shared by the line reader and the key handler. */
#define STASH_MAX 64 /* lines longer than inih's buffer, per file */

struct parse {
	struct config *c;
	const char *file;
	const char *text; /* the rest of the file */
	int line;         /* number of the line inih is on */
	int err_line;     /* line of the first error we found, 0 if none */
	int line_of[NKEYS];
	char *err;
	size_t errlen;
	/* Values of lines longer than inih's line buffer, kept aside: inih
	   gets "key = \x01N" for the Nth (see long_line()). */
	char *kept[STASH_MAX];
	unsigned nkept;
};

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->num_clients = 3;
	c->base_port = 8888;
	strcpy(c->host, "127.0.0.1");
	c->stop_timeout_ms = 2000;
	c->restart = RESTART_NEVER;
	c->connect_timeout_ms = 5000;
	c->retry_initial_ms = 10;
	c->retry_max_ms = 500;
	c->ack_timeout_ms = 2000;
	c->max_message_bytes = 65536;
	c->watch = true;
	c->handler = HANDLER_ACK;
	c->handler_timeout_ms = 60000;
	c->max_reply_bytes = 65536;
}

/* Record the first error of a parse, at the current line. */
__attribute__((format(printf, 2, 3))) static void fail(struct parse *p,
                                                       const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err_line)
		return;
	p->err_line = p->line;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Return the edit distance between a and b (both short). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], i, j;

	if (lb >= 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j],
			       best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Return the key nearest to name, preferring keys of section. */
static const struct key *nearest_key(const char *section, const char *name)
{
	const struct key *best = &keys[0];
	size_t bestd = SIZE_MAX;

	for (size_t i = 0; i < NKEYS; i++) {
		size_t d = distance(name, keys[i].name) * 2 +
		           (strcmp(section, keys[i].section) != 0);
		if (d < bestd) {
			bestd = d;
			best = &keys[i];
		}
	}
	return best;
}

/* Return the section nearest to name. */
static const char *nearest_section(const char *name)
{
	const char *best = sections[0];
	size_t bestd = SIZE_MAX;

	for (size_t i = 0; i < NSECTIONS; i++) {
		size_t d = distance(name, sections[i]);
		if (d < bestd) {
			bestd = d;
			best = sections[i];
		}
	}
	return best;
}

/* Return whether s is a plausible host name or numeric address. */
static bool valid_host(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_HOST_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789.-:_%") == n;
}

/* Return NULL if every {placeholder} in s is written right, else the
   bad one: "{PORT}" (a placeholder in other case) or "{port" left open.
   Other braces are text: awk's '{print}', the shell's ${port}, Python's
   "{name}" pass as they are. */
static const char *bad_placeholder(const char *s)
{
	static const char *const names[] = {"host", "port", "index"};

	for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
		size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz"
		                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
		bool exact = false, other_case = false;

		if (p > s && p[-1] == '$')
			continue; /* the shell's ${name} */
		for (size_t i = 0; i < 3; i++) {
			bool len_ok = n == strlen(names[i]);
			exact |= len_ok && strncmp(p + 1, names[i], n) == 0;
			other_case |=
			    len_ok && strncasecmp(p + 1, names[i], n) == 0;
		}
		if (exact ? p[1 + n] != '}' : other_case)
			return p;
	}
	return NULL;
}

/* Parse "a, b, c" into c->hosts; on error write what is wrong into msg
   and return -1. */
static int set_hosts(struct config *c, const char *v, char *msg, size_t msglen)
{
	unsigned n = 0;

	for (const char *p = v;; p++) {
		char h[CONFIG_HOST_MAX + 2];
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, ",");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		snprintf(h, sizeof(h), "%.*s", (int)len, p);
		if (n == CONFIG_HOSTS_MAX) {
			snprintf(msg, msglen, "hosts: more than %d hosts",
			         CONFIG_HOSTS_MAX);
			return -1;
		}
		if (len > CONFIG_HOST_MAX || !valid_host(h)) {
			snprintf(
			    msg, msglen,
			    "hosts: entry %u is not a host name or address",
			    n + 1);
			return -1;
		}
		strcpy(c->hosts[n++], h);
		p = strchr(p, ',');
		if (!p)
			break;
	}
	c->nhosts = n;
	return 0;
}

const char *config_node_host(const struct config *c, unsigned i)
{
	return c->nhosts ? c->hosts[i % c->nhosts] : c->host;
}

/* Store value into the field of k; on error write what is wrong (without
   a location) into msg and return -1. */
static int set_value(struct config *c, const struct key *k, const char *v,
                     char *msg, size_t msglen)
{
	char *field = (char *)c + k->off;
	const char *bad;

	if (*v == '\0') {
		snprintf(msg, msglen, "%s: missing value", k->name);
		return -1;
	}
	switch (k->kind) {
	case K_UINT:
		if (parse_uint(v, k->min, k->max, (unsigned *)(void *)field) ==
		    0)
			return 0;
		snprintf(msg, msglen,
		         "%s: '%s' is not a whole number in %u..%u", k->name, v,
		         k->min, k->max);
		return -1;
	case K_HOST:
		if (valid_host(v)) {
			strcpy(field, v);
			return 0;
		}
		snprintf(msg, msglen, "%s: '%s' is not a host name or address",
		         k->name, v);
		return -1;
	case K_HOSTS: return set_hosts(c, v, msg, msglen);
	case K_PATH:
		if (strlen(v) >= sizeof(c->hosts_file) ||
		    strpbrk(v, "\t\r\n")) {
			snprintf(msg, msglen, "%s: not a usable path", k->name);
			return -1;
		}
		strcpy(field, v);
		return 0;
	case K_COMMAND:
		bad = bad_placeholder(v);
		if (strlen(v) > CONFIG_COMMAND_MAX) {
			snprintf(msg, msglen, "%s: longer than %d characters",
			         k->name, CONFIG_COMMAND_MAX);
			return -1;
		}
		if (bad) {
			snprintf(msg, msglen,
			         "%s: unknown placeholder '%.20s'; "
			         "use {host}, {port} or {index}",
			         k->name, bad);
			return -1;
		}
		if (field == (char *)c->launcher &&
		    (strstr(v, "{port}") || strstr(v, "{index}"))) {
			snprintf(msg, msglen,
			         "%s: only {host} has a meaning here: one "
			         "launcher starts all of a host's nodes",
			         k->name);
			return -1;
		}
		strcpy(field, v);
		return 0;
	case K_RESTART:
		if (strcmp(v, "never") == 0 || strcmp(v, "on-failure") == 0) {
			*(enum restart_policy *)(void *)field =
			    v[0] == 'n' ? RESTART_NEVER : RESTART_ON_FAILURE;
			return 0;
		}
		snprintf(msg, msglen, "%s: '%s' is not 'never' or 'on-failure'",
		         k->name, v);
		return -1;
	case K_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
			*(bool *)(void *)field = v[0] == 't';
			return 0;
		}
		snprintf(msg, msglen, "%s: '%s' is not 'true' or 'false'",
		         k->name, v);
		return -1;
	case K_HANDLER:
		if (proto_handler_from_name(v) >= 0) {
			*(enum handler_kind *)(void *)field =
			    (enum handler_kind)proto_handler_from_name(v);
			return 0;
		}
		snprintf(msg, msglen,
		         "%s: '%s' is not ack, exec, shell or pipe", k->name,
		         v);
		return -1;
	}
	return -1;
}

/* Return the key named name in section, or NULL. */
static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].section, section) &&
		    !strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* Return whether section is one we know. */
static bool known_section(const char *section)
{
	for (size_t i = 0; i < NSECTIONS; i++)
		if (!strcmp(sections[i], section))
			return true;
	return false;
}

/* inih's handler: one key = value; return 1 to go on, 0 on error. */
static int on_key(void *user, const char *section, const char *name,
                  const char *value)
{
	struct parse *p = user;
	const struct key *k;
	char msg[512];
	unsigned kept;

	/* A long line's value, kept aside by long_line(). */
	if (value[0] == '\x01' &&
	    parse_uint(value + 1, 0, STASH_MAX - 1, &kept) == 0 &&
	    kept < p->nkept)
		value = p->kept[kept];

	/* The seed file had its keys before any section. */
	if (*section == '\0' &&
	    (!strcmp(name, "num_clients") || !strcmp(name, "base_port")))
		section = "cluster";
	if (*section && !known_section(section))
		return 0; /* read_line() has reported it */
	k = find_key(section, name);
	if (!k) {
		const struct key *near = nearest_key(section, name);
		bool here = !strcmp(near->section, section);
		fail(p, "unknown key '%s'%s%s%s; did you mean '%s'%s%s%s?",
		     name, *section ? " in [" : "", section,
		     *section ? "]" : "", near->name, here ? "" : " in [",
		     here ? "" : near->section, here ? "" : "]");
		return 0;
	}
	if (p->line_of[k - keys]) {
		fail(p, "duplicate key '%s' (first set on line %d)", name,
		     p->line_of[k - keys]);
		return 0;
	}
	p->line_of[k - keys] = p->line;
	if (set_value(p->c, k, value, msg, sizeof(msg)) < 0) {
		fail(p, "%s", msg);
		return 0;
	}
	return 1;
}

/* Report a "[name]" line naming no known section; s is after '['. inih
   calls no handler for a section line, so this is where it is seen. */
static void check_section(struct parse *p, const char *s, size_t len)
{
	const char *end = memchr(s, ']', len);
	char name[64];

	if (!end)
		return; /* inih reports the syntax error */
	len = (size_t)(end - s);
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, s, len);
	name[len] = '\0';
	if (!known_section(name))
		fail(p, "unknown section [%s]; did you mean [%s]?", name,
		     nearest_section(name));
}

/* inih's line reader (fgets-like) over the text. It counts lines, so the
   handler knows where it is; strips leading blanks, so an indented key is
   never taken as the continuation of the previous value; and turns a line
   too long for inih's buffer into an error instead of letting inih read
   its tail as a line of its own. */
/* A "key = value" line of len bytes at start, too long for inih's line
   buffer (room bytes): keep its value aside, as inih would have read it
   (an inline comment, ';' after a blank, and blanks at its ends cut),
   and write "key = \x01N" into str for on_key() to take it back. Return
   the length written, or 0 (with an error said) when it cannot be so. */
static size_t long_line(struct parse *p, const char *start, size_t len,
                        char *str, size_t room)
{
	const char *eq = memchr(start, '=', len), *v, *end = start + len;
	size_t klen;

	if (*start == ';' || *start == '#')
		return 0; /* a comment, however long: read as an empty line */
	if (!eq || *start == '[' || p->nkept == STASH_MAX) {
		fail(p, "line longer than %zu characters", room);
		return 0;
	}
	klen = (size_t)(eq - start);
	for (v = eq + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	for (const char *c = v + 1; c < end; c++)
		if (*c == ';' && (c[-1] == ' ' || c[-1] == '\t')) {
			end = c;
			break;
		}
	while (end > v &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	if (klen + 16 > room ||
	    !(p->kept[p->nkept] = strndup(v, (size_t)(end - v)))) {
		fail(p, "line longer than %zu characters", room);
		return 0;
	}
	return (size_t)snprintf(str, room, "%.*s= \x01%u", (int)klen, start,
	                        p->nkept++);
}

static char *read_line(char *str, int num, void *user)
{
	struct parse *p = user;
	size_t len, room = num > 2 ? (size_t)num - 2 : 0;
	const char *nl;

	if (*p->text == '\0')
		return NULL;
	p->line++;
	nl = strchr(p->text, '\n');
	len = nl ? (size_t)(nl - p->text) : strlen(p->text);
	const char *start = p->text + strspn(p->text, " \t");
	size_t skip = (size_t)(start - p->text);
	p->text += nl ? len + 1 : len;
	if (skip > len)
		skip = len;
	len -= skip;
	if (len > room) {
		len = long_line(p, start, len, str, room);
	} else {
		if (len > 0 && *start == '[')
			check_section(p, start + 1, len - 1);
		memcpy(str, start, len);
	}
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

/* Check that the port range fits; where names the source. */
static int check_ports(const struct config *c, const char *where, char *err,
                       size_t errlen)
{
	if ((unsigned long)c->base_port + c->num_clients - 1 <= 65535)
		return 0;
	snprintf(err, errlen,
	         "%s: ports %u..%lu do not fit below 65536 "
	         "(base_port %u, num_clients %u)",
	         where, c->base_port,
	         (unsigned long)c->base_port + c->num_clients - 1, c->base_port,
	         c->num_clients);
	return -1;
}

/* Check that the backoff starts no higher than it may grow. */
static int check_retry(const struct config *c, const char *where, char *err,
                       size_t errlen)
{
	if (c->retry_initial_ms <= c->retry_max_ms)
		return 0;
	snprintf(err, errlen,
	         "%s: retry_initial_ms %u is above retry_max_ms "
	         "%u",
	         where, c->retry_initial_ms, c->retry_max_ms);
	return -1;
}

/* Check that a pipe handler has a co-process to run. */
static int check_handler(const struct config *c, const char *where, char *err,
                         size_t errlen)
{
	if (c->handler != HANDLER_PIPE || c->handler_command[0] != '\0')
		return 0;
	snprintf(err, errlen,
	         "%s: handler = pipe needs [node] handler_command, the "
	         "program each node keeps running (e.g. python3 -u worker.py)",
	         where);
	return -1;
}

int config_check(const struct config *c, const char *where, char *err,
                 size_t errlen)
{
	if (check_ports(c, where, err, errlen) < 0 ||
	    check_handler(c, where, err, errlen) < 0)
		return -1;
	return check_retry(c, where, err, errlen);
}

/* Return the later of the lines where keys a and b of section were set:
   where a rule spanning them became false. */
static int later_line(const struct parse *p, const char *section, const char *a,
                      const char *b)
{
	int la = p->line_of[find_key(section, a) - keys];
	int lb = p->line_of[find_key(section, b) - keys];

	return la > lb ? la : lb;
}

int config_parse_string(struct config *c, const char *text,
                        const char *filename, char *err, size_t errlen)
{
	struct parse p = {.c = c,
	                  .file = filename,
	                  .text = text,
	                  .err = err,
	                  .errlen = errlen};
	char where[512];
	int rc = ini_parse_stream(read_line, &p, on_key, &p);

	while (p.nkept > 0)
		free(p.kept[--p.nkept]);

	if (rc == -2) {
		snprintf(err, errlen, "%s: out of memory", filename);
		return -1;
	}
	if (rc > 0 && (p.err_line == 0 || rc < p.err_line)) {
		snprintf(err, errlen,
		         "%s:%d: expected '[section]' or 'key = "
		         "value'",
		         filename, rc);
		return -1;
	}
	if (p.err_line)
		return -1;
	if (p.line_of[find_key("node", "command") - keys])
		c->command_line = p.line_of[find_key("node", "command") - keys];
	if (p.line_of[find_key("node", "handler_command") - keys])
		c->handler_command_line =
		    p.line_of[find_key("node", "handler_command") - keys];
	if (p.line_of[find_key("cluster", "launcher") - keys])
		c->launcher_line =
		    p.line_of[find_key("cluster", "launcher") - keys];
	if (c->launcher[0] && c->nhosts > 1 && !strstr(c->launcher, "{host}")) {
		snprintf(err, errlen,
		         "%s:%d: [cluster] launcher has no {host}: each of the "
		         "%u hosts would run the same command",
		         filename, c->launcher_line, c->nhosts);
		return -1;
	}
	if (c->launcher[0] && c->command[0]) {
		snprintf(
		    err, errlen,
		    "%s:%d: [cluster] launcher and [node] command are both "
		    "set; keep one (the launcher runs the node program "
		    "once per host, the command once per node)",
		    filename,
		    c->launcher_line > c->command_line ? c->launcher_line
		                                       : c->command_line);
		return -1;
	}
	if (p.line_of[find_key("cluster", "hosts") - keys] &&
	    p.line_of[find_key("cluster", "hosts_file") - keys]) {
		snprintf(err, errlen,
		         "%s:%d: hosts and hosts_file are both set; "
		         "keep one",
		         filename,
		         later_line(&p, "cluster", "hosts", "hosts_file"));
		return -1;
	}
	snprintf(where, sizeof(where), "%s:%d", filename,
	         later_line(&p, "cluster", "num_clients", "base_port"));
	if (check_ports(c, where, err, errlen) < 0)
		return -1;
	snprintf(where, sizeof(where), "%s:%d", filename,
	         later_line(&p, "node", "handler", "handler_command"));
	if (check_handler(c, where, err, errlen) < 0)
		return -1;
	snprintf(where, sizeof(where), "%s:%d", filename,
	         later_line(&p, "connect", "retry_initial_ms", "retry_max_ms"));
	return check_retry(c, where, err, errlen);
}

/* Say in err what the open file fd at path is when it cannot be read as
   a configuration: a directory, or with regular_only anything but a
   regular file. Return 0 when it may be read. */
static int check_kind(int fd, const char *path, bool regular_only, char *err,
                      size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
		         "%s: is a directory, not a configuration file", path);
		return -1;
	}
	if (regular_only && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
		         "%s: not a regular file (a pipe or a device is read "
		         "once, at start)",
		         path);
		return -1;
	}
	return 0;
}

/* Whether fd is a FIFO (or a pipe). */
static bool is_fifo(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Open path for reading, after checking its kind, non-blocking (so a
   FIFO with no writer cannot hang the open). Return the descriptor, -1
   with errno ENOENT when it does not exist (nothing said), or -1 with a
   message in err. */
static int open_text(const char *path, bool regular_only, char *err,
                     size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		if (errno != ENOENT)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (check_kind(fd, path, regular_only, err, errlen) < 0) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* Read fd to its end into p (at most n bytes): a pipe or FIFO waits for
   its writer, up to CONFIG_FIFO_WAIT_MS between reads. Return the bytes
   read, or -1 with errno (ETIMEDOUT: no writer, or a silent one). */
static ssize_t read_all(int fd, char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t r = read(fd, p + got, n - got);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0 && !is_fifo(fd))
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			return -1;
		/* A FIFO reads 0 before its writer comes and after it is
		   gone: poll tells them apart (POLLHUP once it is gone). */
		r = poll(&pf, 1, CONFIG_FIFO_WAIT_MS);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r > 0 && !(pf.revents & POLLIN))
			break; /* POLLHUP: the writer is done */
	}
	return (ssize_t)got;
}

/* Read the text file at path (bounded, no NUL byte) into a new string in
   *text; with regular_only it must be a regular, non-empty file. Return
   0, 1 if it does not exist (nothing said), or -1 with a message in
   err. */
static int read_text(const char *path, bool regular_only, char **text,
                     char *err, size_t errlen)
{
	int fd = open_text(path, regular_only, err, errlen), rc = 0;
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	*text = malloc(CONFIG_MAX_FILE_BYTES + 1);
	if (!*text) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	n = read_all(fd, *text, CONFIG_MAX_FILE_BYTES + 1);
	if (n < 0 && errno == ETIMEDOUT)
		snprintf(err, errlen, "%s: nothing written to it within %d s",
		         path, CONFIG_FIFO_WAIT_MS / 1000),
		    rc = -1;
	else if (n < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno)), rc = -1;
	else if ((size_t)n > CONFIG_MAX_FILE_BYTES)
		snprintf(err, errlen, "%s: larger than %u bytes", path,
		         CONFIG_MAX_FILE_BYTES),
		    rc = -1;
	else if (memchr(*text, '\0', (size_t)n))
		snprintf(err, errlen,
		         "%s: contains a NUL byte; not a text file", path),
		    rc = -1;
	else if (regular_only && n == 0)
		snprintf(err, errlen,
		         "%s: empty (being written?); an empty file is not "
		         "taken as the defaults at a reload",
		         path),
		    rc = -1;
	close(fd);
	if (rc < 0) {
		free(*text);
		*text = NULL;
		return -1;
	}
	(*text)[n] = '\0';
	return 0;
}

/* Read [cluster] hosts_file, relative to the directory of the config
   file at config_path; return 0 or -1 with a message. */
static int load_hosts(struct config *c, const char *config_path, char *err,
                      size_t errlen)
{
	char path[PATH_MAX];
	const char *slash = strrchr(config_path, '/');
	char *text = NULL;
	int rc;

	if (c->hosts_file[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", c->hosts_file);
	else
		snprintf(path, sizeof(path), "%.*s/%s",
		         (int)(slash - config_path), config_path,
		         c->hosts_file);
	rc = read_text(path, false, &text, err, errlen);
	if (rc == 1)
		snprintf(err, errlen, "%s (hosts_file): %s", path,
		         strerror(ENOENT));
	if (rc != 0)
		return -1;
	rc = config_parse_hosts(c, text, path, err, errlen);
	free(text);
	return rc;
}

/* config_load() and config_reload(): read path, a regular non-empty
   file when regular_only. */
static int load(struct config *c, const char *path, bool regular_only,
                bool *missing, char *err, size_t errlen)
{
	char *text = NULL;
	int rc = read_text(path, regular_only, &text, err, errlen);

	if (missing)
		*missing = rc == 1;
	if (rc == 1 && missing)
		return 0;
	if (rc == 1)
		snprintf(err, errlen, "%s: %s", path, strerror(ENOENT));
	if (rc != 0)
		return -1;
	rc = config_parse_string(c, text, path, err, errlen);
	if (rc == 0 && c->hosts_file[0])
		rc = load_hosts(c, path, err, errlen);
	free(text);
	return rc;
}

int config_load(struct config *c, const char *path, bool *missing, char *err,
                size_t errlen)
{
	return load(c, path, false, missing, err, errlen);
}

int config_reload(struct config *c, const char *path, char *err, size_t errlen)
{
	return load(c, path, true, NULL, err, errlen);
}

int config_parse_hosts(struct config *c, const char *text, const char *filename,
                       char *err, size_t errlen)
{
	unsigned n = 0;
	int line = 0;

	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		char h[CONFIG_HOST_MAX + 2];
		const char *s = p;

		line++;
		p += len + (p[len] == '\n');
		len = strcspn(s, "#\n"); /* a comment ends the line */
		while (len > 0 && strchr(" \t\r", s[0]))
			s++, len--;
		while (len > 0 && strchr(" \t\r", s[len - 1]))
			len--;
		if (len == 0)
			continue;
		snprintf(h, sizeof(h), "%.*s", (int)len, s);
		if (len > CONFIG_HOST_MAX || !valid_host(h)) {
			snprintf(err, errlen,
			         "%s:%d: not a host name or address", filename,
			         line);
			return -1;
		}
		if (n == CONFIG_HOSTS_MAX) {
			snprintf(err, errlen, "%s:%d: more than %d hosts",
			         filename, line, CONFIG_HOSTS_MAX);
			return -1;
		}
		strcpy(c->hosts[n++], h);
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: lists no host", filename);
		return -1;
	}
	c->nhosts = n;
	return 0;
}

int config_override(struct config *c, const char *section, const char *key,
                    const char *value, const char *option, char *err,
                    size_t errlen)
{
	const struct key *k = find_key(section, key);
	char msg[512];

	if (!k) {
		snprintf(err, errlen, "%s: no such setting [%s] %s", option,
		         section, key);
		return -1;
	}
	if (set_value(c, k, value, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "%s: %s", option, msg);
		return -1;
	}
	return 0;
}
