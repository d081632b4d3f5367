/*
 * node_env.h - what the orchestrator hands a node in its environment.
 * Secrets and descriptors go here, never on the command line, where any
 * user could read them in the process list.
 */
#ifndef FANOUT_NODE_ENV_H
#define FANOUT_NODE_ENV_H

/* The run's token as 64 hex digits; the node wipes it once read. */
#define ENV_TOKEN "FANOUT_TOKEN"
/* A descriptor the node writes one byte to once it listens, then closes. */
#define ENV_READY_FD "FANOUT_READY_FD"

/* Where no descriptor can be inherited (a node started through ssh), the
   token comes as one line on the node's standard input instead, and the
   node says it listens with this line on its standard output. */
#define READY_LINE "fanout-node: ready"

#endif
