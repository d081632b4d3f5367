/* connector.c - see connector.h. */
#include "connector.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"

#define CANCEL_CHECK_MS    50   /* how often a blocked attempt looks up */
#define CONNECT_ATTEMPT_MS 1000 /* one connect() never waits longer */

static bool cancelled(struct connector *c)
{
	return __atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE);
}

/* net_connect()'s stop: the pool was cancelled. */
static bool is_cancelled(void *arg)
{
	return cancelled(arg);
}

/* Read exactly n bytes from blocking fd before the deadline, giving up
   early when cancelled; return 0 or -1. */
static int read_until(struct connector *c, int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int left = clock_ms_until(c->deadline_ns);
		int r = poll(&pf, 1,
		             left < CANCEL_CHECK_MS ? left : CANCEL_CHECK_MS);
		ssize_t got;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && left > CANCEL_CHECK_MS && !cancelled(c))
			continue;
		if (r <= 0) {
			errno = r == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		got = io_read(fd, p, n);
		if (got <= 0) {
			errno = got == 0 ? ECONNRESET : errno;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* One attempt: connect, HELLO, WELCOME. Return the socket or -1. */
static int attempt(struct connector *c, struct connect_job *j)
{
	uint8_t buf[PROTO_HEADER_LEN + PROTO_TOKEN_LEN];
	struct frame f = {.type = FRAME_HELLO};
	size_t n, used;
	int rc, left = clock_ms_until(c->deadline_ns);
	int fd = net_connect(
	    &j->addr, left < CONNECT_ATTEMPT_MS ? left : CONNECT_ATTEMPT_MS,
	    is_cancelled, c, j->err, sizeof(j->err));

	if (fd < 0)
		return -1;
	memcpy(f.u.hello.token, c->token, PROTO_TOKEN_LEN);
	n = proto_encode(buf, sizeof(buf), &f);
	if (io_write_all(fd, buf, n) < 0 ||
	    read_until(c, fd, buf, PROTO_HEADER_LEN + 8) < 0) {
		snprintf(j->err, sizeof(j->err), "handshake: %s",
		         strerror(errno));
		goto fail;
	}
	rc = proto_decode(buf, PROTO_HEADER_LEN + 8, &f, &used);
	if (rc == PROTO_E_VERSION) {
		snprintf(j->err, sizeof(j->err),
		         "handshake: the node speaks fanout protocol version "
		         "%d, this orchestrator speaks version %d",
		         proto_version_of(buf, PROTO_HEADER_LEN),
		         PROTO_VERSION);
		j->refused = true;
		goto fail;
	}
	if (rc != 1 || f.type != FRAME_WELCOME ||
	    f.u.welcome.index != j->index) {
		snprintf(j->err, sizeof(j->err),
		         "handshake: the peer is not node %u of this run",
		         j->index);
		/* It took our token: retrying will not change its answer. */
		j->refused = true;
		goto fail;
	}
	j->pid = (pid_t)f.u.welcome.pid;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Sleep ms or until cancelled; call with mu held. Return false when the
   wait should end (cancelled or past the deadline). */
static bool backoff(struct connector *c, unsigned ms)
{
	uint64_t until = clock_ns() + MS_NS(ms);
	struct timespec ts;

	if (until > c->deadline_ns)
		until = c->deadline_ns;
	ts.tv_sec = (time_t)(until / 1000000000u);
	ts.tv_nsec = (long)(until % 1000000000u);
	while (!c->cancelled && clock_ns() < until)
		if (pthread_cond_timedwait(&c->retry_cv, &c->mu, &ts) ==
		    ETIMEDOUT)
			break;
	return !c->cancelled && clock_ns() < c->deadline_ns;
}

/* Connect job j, retrying until it works, the deadline, or cancel. */
static void run_job(struct connector *c, struct connect_job *j)
{
	unsigned delay = c->retry_initial_ms;

	for (;;) {
		int fd = attempt(c, j);

		pthread_mutex_lock(&c->mu);
		if (fd >= 0) {
			j->fd = fd;
			c->up++;
			break;
		}
		if (j->refused || !backoff(c, delay)) {
			if (c->cancelled)
				snprintf(j->err, sizeof(j->err), "cancelled");
			break;
		}
		pthread_mutex_unlock(&c->mu);
		delay =
		    delay > c->retry_max_ms / 2 ? c->retry_max_ms : delay * 2;
	}
	if (++c->finished == c->njobs) {
		uint64_t one = 1;
		pthread_cond_broadcast(&c->done_cv);
		/* An eventfd counter cannot be full after one write. */
		if (c->notify_fd >= 0)
			(void)!write(c->notify_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&c->mu);
}

static void *worker(void *arg)
{
	struct connector *c = arg;

	for (;;) {
		struct connect_job *j = NULL;

		pthread_mutex_lock(&c->mu);
		if (c->next < c->njobs && !c->cancelled)
			j = &c->jobs[c->next++];
		pthread_mutex_unlock(&c->mu);
		if (!j)
			return NULL;
		run_job(c, j);
	}
}

/* Initialise a condition variable that times out on CLOCK_MONOTONIC. */
static int cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	int rc;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
	return rc;
}

int connector_start(struct connector *c, struct connect_job *jobs,
                    unsigned njobs, const uint8_t token[PROTO_TOKEN_LEN],
                    uint64_t deadline_ns, unsigned retry_initial_ms,
                    unsigned retry_max_ms, unsigned max_threads, int notify_fd)
{
	memset(c, 0, sizeof(*c));
	c->notify_fd = notify_fd;
	c->jobs = jobs;
	c->njobs = njobs;
	c->deadline_ns = deadline_ns;
	c->retry_initial_ms = retry_initial_ms;
	c->retry_max_ms = retry_max_ms;
	memcpy(c->token, token, PROTO_TOKEN_LEN);
	for (unsigned i = 0; i < njobs; i++)
		jobs[i].fd = -1;
	if (pthread_mutex_init(&c->mu, NULL) || cond_init(&c->done_cv) ||
	    cond_init(&c->retry_cv))
		return -1;
	c->threads = calloc(max_threads ? max_threads : 1, sizeof(pthread_t));
	if (!c->threads)
		return -1;
	for (unsigned i = 0; i < max_threads && i < njobs; i++) {
		int rc = pthread_create(&c->threads[i], NULL, worker, c);
		if (rc) {
			errno = rc;
			break;
		}
		c->nthreads++;
	}
	return c->nthreads > 0 || njobs == 0 ? 0 : -1;
}

bool connector_wait(struct connector *c, uint64_t until_ns, unsigned *up)
{
	struct timespec ts = {.tv_sec = (time_t)(until_ns / 1000000000u),
	                      .tv_nsec = (long)(until_ns % 1000000000u)};
	bool all;

	pthread_mutex_lock(&c->mu);
	while (c->finished < c->njobs)
		if (pthread_cond_timedwait(&c->done_cv, &c->mu, &ts) ==
		    ETIMEDOUT)
			break;
	all = c->finished == c->njobs;
	*up = c->up;
	pthread_mutex_unlock(&c->mu);
	return all;
}

void connector_finish(struct connector *c)
{
	pthread_mutex_lock(&c->mu);
	__atomic_store_n(&c->cancelled, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&c->retry_cv);
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	free(c->threads);
	c->threads = NULL;
	pthread_cond_destroy(&c->done_cv);
	pthread_cond_destroy(&c->retry_cv);
	pthread_mutex_destroy(&c->mu);
}
