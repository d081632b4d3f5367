/* template.c - see template.h. */
#include "template.h"

#include <stdio.h>
#include <string.h>

/* Write word w (wlen bytes) into out with placeholders replaced. Return
   its length, or -1 if it does not fit in outlen with its NUL. */
static int expand_word(const struct template_vars *v, const char *w,
                       size_t wlen, char *out, size_t outlen)
{
	size_t k = 0;

	for (size_t i = 0; i < wlen;) {
		int n;
		if (wlen - i >= 6 && !strncmp(w + i, "{host}", 6))
			n = snprintf(out + k, outlen - k, "%s", v->host),
			i += 6;
		else if (wlen - i >= 6 && !strncmp(w + i, "{port}", 6))
			n = snprintf(out + k, outlen - k, "%u", v->port),
			i += 6;
		else if (wlen - i >= 7 && !strncmp(w + i, "{index}", 7))
			n = snprintf(out + k, outlen - k, "%u", v->index),
			i += 7;
		else
			n = snprintf(out + k, outlen - k, "%c", w[i]), i++;
		if (n < 0 || k + (size_t)n >= outlen)
			return -1;
		k += (size_t)n;
	}
	return (int)k;
}

int template_expand(const char *tmpl, const struct template_vars *v,
                    char *store, size_t storelen, char **argv)
{
	const char *p = tmpl;
	int argc = 0;

	for (;;) {
		size_t len;
		int n;
		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		if (len == 0)
			break;
		if (argc == TEMPLATE_MAX_WORDS || storelen == 0)
			return -1;
		n = expand_word(v, p, len, store, storelen);
		if (n < 0)
			return -1;
		argv[argc++] = store;
		store += n + 1;
		storelen -= (size_t)n + 1;
		p += len;
	}
	argv[argc] = NULL;
	return argc;
}
