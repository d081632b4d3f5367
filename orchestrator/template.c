/* template.c - see template.h. */
#include "template.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

int template_parse(struct template *t, const char *text, char *err,
                   size_t errlen)
{
	GError *e = NULL;

	t->words = NULL;
	t->nwords = 0;
	if (text[strspn(text, " \t\n")] == '\0')
		return 0; /* GLib refuses an empty line: no words */
	if (!g_shell_parse_argv(text, &t->nwords, &t->words, &e)) {
		snprintf(err, errlen, "%s", e->message);
		g_error_free(e);
		return -1;
	}
	if (t->nwords > TEMPLATE_MAX_WORDS) {
		snprintf(err, errlen, "%d words; at most %d", t->nwords,
		         TEMPLATE_MAX_WORDS);
		template_free(t);
		return -1;
	}
	return 0;
}

void template_free(struct template *t)
{
	g_strfreev(t->words);
	t->words = NULL;
	t->nwords = 0;
}

/* Write word w into out with placeholders replaced. Return its length,
   or -1 if it does not fit in outlen with its NUL. */
static int expand_word(const struct template_vars *v, const char *w, char *out,
                       size_t outlen)
{
	size_t k = 0;

	for (size_t i = 0; w[i];) {
		int n;
		/* The shell's ${port} is the shell's, not ours. */
		if (i > 0 && w[i - 1] == '$')
			n = snprintf(out + k, outlen - k, "%c", w[i]), i++;
		else if (!strncmp(w + i, "{host}", 6))
			n = snprintf(out + k, outlen - k, "%s", v->host),
			i += 6;
		else if (!strncmp(w + i, "{port}", 6))
			n = snprintf(out + k, outlen - k, "%u", v->port),
			i += 6;
		else if (!strncmp(w + i, "{index}", 7))
			n = snprintf(out + k, outlen - k, "%u", v->index),
			i += 7;
		else
			n = snprintf(out + k, outlen - k, "%c", w[i]), i++;
		if (n < 0 || k + (size_t)n >= outlen)
			return -1;
		k += (size_t)n;
	}
	if (k >= outlen)
		return -1;
	out[k] = '\0';
	return (int)k;
}

int template_expand(const struct template *t, const struct template_vars *v,
                    char *store, size_t storelen, char **argv)
{
	int argc;

	for (argc = 0; argc < t->nwords; argc++) {
		int n = storelen
		            ? expand_word(v, t->words[argc], store, storelen)
		            : -1;
		if (n < 0)
			return -1;
		argv[argc] = store;
		store += n + 1;
		storelen -= (size_t)n + 1;
	}
	argv[argc] = NULL;
	return argc;
}
