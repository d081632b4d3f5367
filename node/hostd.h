/*
 * hostd.h - host mode (SPEC §8): `node --host-mode`, run once per host
 * by the orchestrator's launcher (ssh, srun), starts and watches that
 * host's nodes.
 *
 * It reads the run's token and its orders on standard input and reports
 * on standard output (hostproto.h). Each node it starts is this same
 * program, as the orchestrator would start it on its own machine: a
 * process group of its own, the token in its environment, readiness on
 * descriptor 3, its output on a pipe relayed line by line, dying with
 * its parent. The host daemon is a child subreaper: what a node leaves
 * behind comes back to it and is killed. At the end of its input (the
 * orchestrator or the launcher went away), on SIGTERM, SIGINT or SIGHUP,
 * it stops every node (SIGTERM, HOSTD_GRACE_MS, SIGKILL) and whatever
 * they left, then exits.
 */
#ifndef FANOUT_NODE_HOSTD_H
#define FANOUT_NODE_HOSTD_H

#define HOSTD_GRACE_MS                                                         \
	500 /* SIGTERM to SIGKILL when the run is cut off:                     \
	       SPEC §5 gives a node 1 s to be gone */

/* Run host mode until its input ends. Return the process exit status:
   0, 69 when the orchestrator speaks another protocol version or the
   host daemon cannot run (said on standard error and as an error
   report), 64 when standard input is a terminal (nobody to give the
   token). */
int hostd_main(void);

#endif
