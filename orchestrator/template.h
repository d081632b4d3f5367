/*
 * template.h - a command template ([node] command) made into an argv.
 *
 * The template is split into words as a shell splits them, by GLib's
 * g_shell_parse_argv(): blanks separate words, single quotes keep
 * everything literal, double quotes keep blanks, a backslash escapes the
 * next character; no shell is run and nothing is expanded ($VAR, *, ~
 * and `cmd` stay as they are). Then, in each word, {host}, {port} and
 * {index} are replaced by the node's values, so a value can never split
 * a word (SPEC §3).
 */
#ifndef FANOUT_TEMPLATE_H
#define FANOUT_TEMPLATE_H

#include <stddef.h>

#define TEMPLATE_MAX_WORDS 64

struct template
{
	char **words; /* NULL-terminated (GLib's), or NULL for none */
	int nwords;
};

struct template_vars {
	const char *host;
	unsigned port, index;
};

/* Split text into t's words. A blank text gives no words. Return 0, or
   -1 with a message in err (an unmatched quote, a trailing backslash,
   more than TEMPLATE_MAX_WORDS words). */
int template_parse(struct template *t, const char *text, char *err,
                   size_t errlen);

/* Release t's words. */
void template_free(struct template *t);

/* Expand t for v: the words are written, NUL-terminated, into store
   (storelen bytes) and pointed to by argv[0..], which must have room for
   TEMPLATE_MAX_WORDS + 1 pointers and ends with NULL. Return the number
   of words, or -1 when they do not fit in store. */
int template_expand(const struct template *t, const struct template_vars *v,
                    char *store, size_t storelen, char **argv);

#endif
