/*
 * connector.h - connect to every node from a pool of threads.
 *
 * Each job is one node's address. Threads take jobs in turn; for each they
 * connect, send HELLO with the token and wait for a WELCOME naming the
 * expected index, retrying with exponential backoff (initial, doubling, up
 * to max) until the shared deadline. The last job to finish, by success or
 * by giving up, signals the condition variable connector_wait() sleeps on,
 * and writes to an eventfd if one was given, so an event loop can wait
 * for the pool without blocking.
 */
#ifndef FANOUT_CONNECTOR_H
#define FANOUT_CONNECTOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "net.h"
#include "proto.h"

struct connect_job {
	struct net_addr addr;
	unsigned index;
	int fd;    /* result: a connected, welcomed, blocking socket; or -1 */
	pid_t pid; /* the pid the node's WELCOME gave */
	bool refused;  /* a peer answered, but as another node: final */
	char err[192]; /* why it failed, when fd is -1 */
};

struct connector {
	pthread_mutex_t mu;
	pthread_cond_t done_cv;  /* signalled when the last job finishes */
	pthread_cond_t retry_cv; /* wakes sleepers when cancelled */
	struct connect_job *jobs;
	unsigned njobs, next, finished, up;
	bool cancelled;
	uint64_t deadline_ns;
	unsigned retry_initial_ms, retry_max_ms;
	uint8_t token[PROTO_TOKEN_LEN];
	pthread_t *threads;
	unsigned nthreads;
	int notify_fd; /* eventfd written when the last job finishes, or -1 */
};

/* Start up to max_threads threads on njobs jobs (each fd set to -1 here);
   notify_fd is an eventfd to write when all are finished, or -1. Return
   0, or -1 with errno if no thread could be started. */
int connector_start(struct connector *c, struct connect_job *jobs,
                    unsigned njobs, const uint8_t token[PROTO_TOKEN_LEN],
                    uint64_t deadline_ns, unsigned retry_initial_ms,
                    unsigned retry_max_ms, unsigned max_threads, int notify_fd);

/* Sleep on the condition variable until every job has finished or until
   until_ns. Return whether every job has finished; *up gets how many
   connected so far. */
bool connector_wait(struct connector *c, uint64_t until_ns, unsigned *up);

/* Stop the threads (jobs still retrying give up at once) and join them.
   Sockets of jobs that succeeded stay in jobs[].fd for the caller. */
void connector_finish(struct connector *c);

#endif
