/* log.c - see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "";
static void (*writer)(void *arg, const char *line, size_t len);
static void *writer_arg;

void log_set_writer(void (*fn)(void *arg, const char *line, size_t len),
                    void *arg)
{
	writer = fn;
	writer_arg = arg;
}

void log_init(const char *progname)
{
	prog = progname ? progname : "";
}

/* Format one line and write it in a single call; keeps errno intact. */
__attribute__((format(printf, 2, 0))) static void emit(int err, const char *fmt,
                                                       va_list ap)
{
	char line[2048];
	size_t n = 0;
	int saved = errno, r;

	if (*prog) {
		r = snprintf(line, sizeof(line), "%s: ", prog);
		n = r > 0 ? (size_t)r : 0;
	}
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = r < 0 ? n : n + (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (err) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(err));
		n = r < 0 ? n : n + (size_t)r;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	if (writer)
		writer(writer_arg, line, n);
	else /* best effort: nowhere to report a failed write */
		(void)!write(STDERR_FILENO, line, n);
	errno = saved;
}

void log_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(0, fmt, ap);
	va_end(ap);
}

void log_errno(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	emit(err, fmt, ap);
	va_end(ap);
}
