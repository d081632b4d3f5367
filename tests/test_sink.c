/* test_sink.c - an output stream that never blocks: queued when the
   reader stalls, droppable text dropped past its bound and counted, the
   end of a reader that goes away. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sink.h"

static int p[2];
static struct sink s;
static char line[1024];

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	if (pipe(p) < 0)
		return -1;
	sink_open(&s, p[1]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sink_close(&s);
	close(p[0]);
	close(p[1]);
	return 0;
}

/* Read what the pipe holds; return how many bytes. */
static size_t drain_pipe(void)
{
	char buf[65536];
	size_t total = 0;
	ssize_t r;

	fcntl(p[0], F_SETFL, O_NONBLOCK);
	while ((r = read(p[0], buf, sizeof(buf))) > 0)
		total += (size_t)r;
	return total;
}

static void a_pipe_is_our_own_nonblocking_description(void **state)
{
	(void)state;
	assert_true(s.own);
	assert_int_not_equal(s.fd, p[1]);
	assert_true(fcntl(s.fd, F_GETFL) & O_NONBLOCK);
	/* The descriptor we were given stays blocking for others. */
	assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK);
}

static void text_is_queued_until_flushed(void **state)
{
	(void)state;
	sink_put(&s, "hello\n", 6);
	assert_false(sink_idle(&s));
	sink_flush(&s);
	assert_true(sink_idle(&s));
	assert_int_equal(drain_pipe(), 6);
}

static void stalled_reader_queues_and_drops_only_droppable(void **state)
{
	size_t queued = 0, put = 0;

	(void)state;
	/* Fill the pipe and the drop bound with droppable lines. */
	while (sink_put_droppable(&s, line, sizeof(line)))
		put++, sink_flush(&s);
	assert_true(buf_used(&s.q) + sizeof(line) > SINK_DROP_BYTES);
	assert_int_equal(s.dropped, 1);
	assert_false(sink_put_droppable(&s, line, sizeof(line)));
	assert_int_equal(s.dropped, 2);
	/* Text that must not be lost is still taken. */
	queued = buf_used(&s.q);
	sink_put(&s, "report\n", 7);
	assert_int_equal(buf_used(&s.q), queued + 7);
	/* No notice while the reader has not caught up ... */
	assert_int_equal(sink_take_dropped(&s), 0);
	/* ... and once it has, the count, once. */
	while (!sink_idle(&s)) {
		drain_pipe();
		sink_flush(&s);
	}
	drain_pipe();
	assert_int_equal(sink_take_dropped(&s), 2);
	assert_int_equal(sink_take_dropped(&s), 0);
	assert_true(put > 0);
}

static void full_past_its_bound(void **state)
{
	/* More than the pipe and the bound together. */
	size_t n = SINK_FULL_BYTES + (1u << 20);
	char *big = calloc(1, n);

	(void)state;
	assert_non_null(big);
	assert_false(sink_full(&s));
	sink_put(&s, big, n);
	assert_true(sink_full(&s));
	free(big);
}

static void reader_that_goes_away_ends_the_stream(void **state)
{
	(void)state;
	sink_put(&s, "lost\n", 5);
	close(p[0]);
	p[0] = open("/dev/null", O_RDONLY); /* for teardown */
	sink_flush(&s);
	assert_true(sink_gone(&s));
	assert_true(sink_idle(&s));
	sink_put(&s, "more\n", 5); /* dropped quietly */
	assert_true(sink_idle(&s));
}

static void regular_file_is_written_directly(void **state)
{
	char path[] = "/tmp/test_sink.XXXXXX";
	int fd = mkstemp(path);
	struct sink f;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "head\n", 5), 5);
	sink_open(&f, fd);
	assert_true(f.direct);
	assert_false(f.own);
	sink_put(&f, "tail\n", 5);
	sink_flush(&f);
	sink_close(&f);
	/* Appended at the file's offset, not over what was there. */
	assert_int_equal(lseek(fd, 0, SEEK_END), 10);
	close(fd);
	unlink(path);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(a_pipe_is_our_own_nonblocking_description),
	    T(text_is_queued_until_flushed),
	    T(stalled_reader_queues_and_drops_only_droppable),
	    T(full_past_its_bound),
	    T(reader_that_goes_away_ends_the_stream),
	    T(regular_file_is_written_directly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
