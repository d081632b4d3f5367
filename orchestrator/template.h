/*
 * template.h - a command template ([node] command) made into an argv.
 *
 * The template is split into words at blanks and tabs; in each word
 * {host}, {port} and {index} are replaced by the node's values (SPEC §3).
 * No shell is run and nothing else is expanded. Pure: no I/O.
 */
#ifndef FANOUT_TEMPLATE_H
#define FANOUT_TEMPLATE_H

#include <stddef.h>

#define TEMPLATE_MAX_WORDS 64

struct template_vars {
	const char *host;
	unsigned port, index;
};

/* Expand tmpl for v: the words are written, NUL-terminated, into store
   (storelen bytes) and pointed to by argv[0..], which must have room for
   TEMPLATE_MAX_WORDS + 1 pointers and ends with NULL. Return the number
   of words (0 for a blank template), or -1 when there are more than
   TEMPLATE_MAX_WORDS or they do not fit in store. */
int template_expand(const char *tmpl, const struct template_vars *v,
                    char *store, size_t storelen, char **argv);

#endif
