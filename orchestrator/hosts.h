/*
 * hosts.h - one launcher per host (SPEC §8): `[cluster] launcher` runs
 * `node --host-mode` on each host, and this module talks to it over the
 * launcher's standard streams (hostproto.h).
 *
 * Host h is hosts[h] of the configuration; node i lives on host i mod H.
 * A launcher is started when the first node of its host is, in a session
 * of its own, with the run's token as the first line on its standard
 * input (never on a command line nor in its environment). Orders are
 * queued and written as the launcher takes them; the loop is never
 * blocked. Reports come back as events by node index; whatever else the
 * launcher prints (ssh's complaints, a remote banner) is the host's
 * words: passed on as such and kept, the last of them, to say why a host
 * was lost. This module knows nothing of node records: the fleet
 * (fleet.h) owns them and handles the events.
 */
#ifndef FANOUT_HOSTS_H
#define FANOUT_HOSTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "linebuf.h"
#include "loop.h"
#include "proto.h"
#include "template.h"
#include "token.h"

#define HOSTS_LAST_WORDS 3   /* lines kept per host, to say why it failed */
#define HOSTS_WORD_MAX   512 /* bytes kept of each */
/* A host lost is launched again no sooner than this, doubling at each
   loss up to the most, back to the least once it stayed up long. */
#define HOSTS_RETRY_MIN_MS 500
#define HOSTS_RETRY_MAX_MS 30000
#define HOSTS_STABLE_MS    60000
#define HOSTS_KILL_MS      2000 /* a launcher given up: SIGTERM, then */

/* What a host daemon reports, and the end of a launcher. arg is the one
   given to hosts_init(). */
struct hosts_events {
	void (*started)(void *arg, unsigned index, pid_t pid);
	void (*ready)(void *arg, unsigned index);
	void (*output)(void *arg, unsigned index, const char *text, size_t len);
	/* status as from waitpid(2) */
	void (*exited)(void *arg, unsigned index, int status);
	void (*empty)(void *arg, unsigned index);
	/* A line the host's launcher printed that is no report. */
	void (*said)(void *arg, unsigned host, const char *text, size_t len);
	/* The launcher of host ended (status from waitpid(2)); why is
	   what went wrong, "" after an orderly end. Every node of that
	   host that was not reported gone is gone with it, but for those
	   whose start waits for the next launch. */
	void (*lost)(void *arg, unsigned host, int status, const char *why);
	/* The starts that waited for host's next launch were handed to a
	   new launcher (sent is true), or dropped (the launcher could not
	   run, or the fleet stops): those nodes are gone, with status. */
	void (*launched)(void *arg, unsigned host, bool sent, int status);
};

struct launch {
	const char *name; /* the host, as configured */
	pid_t pid;        /* the launcher's (its session's), 0: none runs */
	bool up;          /* its host daemon said hello */
	bool closed;      /* its input was closed: it is to end */
	bool abandoned;   /* sent SIGTERM before its host came up */
	uint64_t launched_ns, up_ns; /* when it was started, said hello */
	uint64_t retry_ns;           /* launched again no sooner */
	unsigned retry_ms;           /* the last wait before that */
	struct buf next;  /* orders for its next launch: the host waits
	                     for its retry, or its launcher is closing */
	uint64_t kill_ns; /* given up: SIGKILL then if it still runs */
	int in_fd, out_fd, err_fd;
	struct watcher w_in, w_out, w_err;
	struct buf orders;      /* not yet taken by the launcher */
	struct linebuf reports; /* its standard output */
	struct linebuf words;   /* its standard error */
	char last[HOSTS_LAST_WORDS][HOSTS_WORD_MAX]; /* a ring */
	unsigned nlast;
	char why[HOSTS_WORD_MAX]; /* what we found wrong, "" if nothing */
};

struct hosts {
	struct launch *h;
	unsigned n;
	struct loop *loop;
	struct template launcher;
	char node_path[PATH_MAX];
	char token_hex[TOKEN_HEX_LEN + 1];
	char **env; /* environ without FANOUT_ variables */
	struct hosts_events ev;
	void *arg;
};

/* Set hs up for n hosts named names[0..n-1] (kept, not copied), each
   reached by the launcher template text ({host} substituted) followed by
   node_path and --host-mode. Nothing is started. Return 0, or -1 with a
   message in err. */
int hosts_init(struct hosts *hs, struct loop *loop, const char *launcher,
               const char *node_path, const char *const *names, unsigned n,
               const uint8_t token[PROTO_TOKEN_LEN],
               const struct hosts_events *ev, void *arg, char *err,
               size_t errlen);

/* Order node index started on host h, listening at addr:port. The
   host's launcher is started first if none runs, unless the host was
   lost and its next launch is not due, or its launcher is closing:
   then the order waits for the next launch (hosts_tick makes it).
   Return 0 (ordered), 1 (waiting: the launched event tells its fate),
   or -1 with a message in err (the launcher could not be run). */
int hosts_start(struct hosts *hs, unsigned h, unsigned index, unsigned port,
                const char *addr, char *err, size_t errlen);

/* Order sig sent to node index on host h (its process group, or its
   process); nothing if no launcher runs there. */
void hosts_signal(struct hosts *hs, unsigned h, unsigned index, int sig);

/* Close host h's launcher's input: its host daemon stops what is left
   and exits, and so does the launcher. */
void hosts_close(struct hosts *hs, unsigned h);

/* The fleet stops: drop the starts waiting for host h's next launch
   (launched event, not sent), and if its launcher runs and has not come
   up (ssh still connecting, say) close its input and send its group
   SIGTERM. Its end is no failure to tell. */
void hosts_abandon(struct hosts *hs, unsigned h);

/* SIGKILL the process group of every launcher that was closed or has
   not said hello: its daemon was told to end, or never began, so no
   order waits on it (teardown's last resort). */
void hosts_kill_idle(struct hosts *hs);

/* What is due: give up on launchers that have not said hello
   timeout_ms after they were started (closed, SIGTERM, SIGKILL
   HOSTS_KILL_MS later; their end said as a failure, "did not answer
   within ..."), and launch hosts whose orders waited for their retry.
   Call now and then; return the ms until the next deadline, -1 if
   none. */
int hosts_tick(struct hosts *hs, unsigned timeout_ms);

/* Return when host h may be launched again after it was lost
   (CLOCK_MONOTONIC ns; 0: at once). */
uint64_t hosts_retry_ns(const struct hosts *hs, unsigned h);

/* pid was reaped with status: if it is a launcher, read what it left,
   raise the lost event and return true; else return false. */
bool hosts_reaped(struct hosts *hs, pid_t pid, int status);

/* Return whether pid is a running launcher. */
bool hosts_owns(const struct hosts *hs, pid_t pid);

/* Return whether host h's launcher is failing: its daemon said it
   stops, or we gave up on it (its why is set). */
bool hosts_failing(const struct hosts *hs, unsigned h);

/* Return whether host h's launcher runs. */
bool hosts_running(const struct hosts *hs, unsigned h);

/* Return the last line host h's launcher printed that was no report
   (made printable), or NULL. */
const char *hosts_last_word(const struct hosts *hs, unsigned h);

/* Return whether host h's daemon has said hello. */
bool hosts_up(const struct hosts *hs, unsigned h);

/* SIGKILL every launcher still running and reap it, then release
   everything. */
void hosts_free(struct hosts *hs);

#endif
