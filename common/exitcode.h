/*
 * exitcode.h - the exit statuses of orchestrator and node, fixed once and
 * for all (SPEC §4). The numbers follow sysexits(3) where one fits and the
 * shell's 128 + signal for a death by signal.
 */
#ifndef FANOUT_EXITCODE_H
#define FANOUT_EXITCODE_H

enum {
	EXIT_OK = 0,
	EXIT_INCOMPLETE = 1,   /* acks missing, a node died, or a node's
	                          fatal error */
	EXIT_USAGE = 64,       /* EX_USAGE: a bad command line */
	EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: nodes could not be
	                          started or connected */
	EXIT_CONFIG = 78,      /* EX_CONFIG: a bad configuration file */
	EXIT_SIGINT = 130,     /* 128 + SIGINT */
	EXIT_SIGTERM = 143,    /* 128 + SIGTERM */
};

#endif
