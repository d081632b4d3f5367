/*
 * session.h - the node's service loop: accept connections, admit only the
 * one that presents the run's token, acknowledge its messages and hand
 * them to the handler its SETUP chose.
 */
#ifndef FANOUT_NODE_SESSION_H
#define FANOUT_NODE_SESSION_H

#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

struct node_ctx {
	int listen_fd;
	int signal_fd; /* signalfd for SIGTERM, SIGINT, SIGHUP, SIGCHLD */
	uint32_t index;
	pid_t parent; /* who started us: another parent means orphaned */
	uint8_t token[PROTO_TOKEN_LEN];
};

/* Serve until BYE, a termination signal, or the orchestrator's connection
   closing; then stop what the handler runs (at most about a second).
   Return the process exit status (0 clean, 1 on an error). */
int node_serve(const struct node_ctx *ctx);

#endif
