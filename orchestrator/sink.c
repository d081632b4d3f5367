/* sink.c - see sink.h. */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

void sink_open(struct sink *s, int fd)
{
	struct stat st;
	char path[64];
	int own, fl;

	*s = (struct sink){.fd = fd, .tty = isatty(fd), .restore = -1};
	if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) ||
	    (S_ISCHR(st.st_mode) && !s->tty)) {
		s->direct = true;
		return;
	}
	if (S_ISSOCK(st.st_mode)) {
		s->socket = true;
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (own >= 0) {
		s->fd = own;
		s->own = true;
		return;
	}
	/* Not ours to reopen (a pipe of another user: EACCES; no /proc).
	   A pipe or FIFO is made non-blocking where it is, and put back
	   at sink_close(); a terminal is not (the shell shares it, and
	   would find it non-blocking if we died), so it is written as it
	   is: it can stall only by its user's doing (Ctrl-S). */
	fl = fcntl(fd, F_GETFL);
	if (S_ISFIFO(st.st_mode) && fl >= 0 &&
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
		s->restore = fl;
}

/* Write from p (n bytes) without blocking; return the bytes written, 0
   when the reader takes nothing now, or -1 when the stream is done. */
static ssize_t try_write(struct sink *s, const void *p, size_t n)
{
	ssize_t w;

	do
		w = s->socket ? send(s->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL)
		              : write(s->fd, p, n);
	while (w < 0 && errno == EINTR);
	if (w >= 0)
		return w;
	return errno == EAGAIN ? 0 : -1;
}

/* The reader went away: drop everything, now and after. */
static void set_gone(struct sink *s)
{
	s->gone = true;
	buf_consume(&s->q, buf_used(&s->q));
	if (s->loop)
		loop_watch(s->loop, &s->w, 0);
}

void sink_flush(struct sink *s)
{
	while (!s->gone && buf_used(&s->q) > 0) {
		ssize_t w = try_write(s, buf_head(&s->q), buf_used(&s->q));
		if (w < 0) {
			set_gone(s);
		} else if (w > 0) {
			buf_consume(&s->q, (size_t)w);
		} else if (s->direct) {
			set_gone(s); /* a file that takes nothing: disk full */
		} else {
			break; /* the reader takes nothing now */
		}
	}
	if (s->loop && !s->gone)
		loop_watch(s->loop, &s->w, buf_used(&s->q) ? EPOLLOUT : 0);
}

static void on_writable(struct watcher *w, uint32_t events)
{
	(void)events;
	sink_flush(w->arg);
}

void sink_watch(struct sink *s, struct loop *loop)
{
	if (s->direct)
		return;
	s->w = (struct watcher){.fd = s->fd, .fn = on_writable, .arg = s};
	s->loop = loop;
	sink_flush(s);
}

void sink_put(struct sink *s, const void *p, size_t n)
{
	if (s->gone || n == 0)
		return;
	if (buf_append(&s->q, p, n) < 0) {
		s->dropped++; /* out of memory: lost, and counted */
		return;
	}
	/* Batched until the loop's flush, but never without bound. */
	if (buf_used(&s->q) >= SINK_BATCH_BYTES)
		sink_flush(s);
}

bool sink_put_droppable(struct sink *s, const void *p, size_t n)
{
	if (buf_used(&s->q) + n > SINK_DROP_BYTES) {
		s->dropped++;
		return false;
	}
	sink_put(s, p, n);
	return true;
}

uint64_t sink_take_dropped(struct sink *s)
{
	uint64_t n = s->dropped, now = clock_ns();

	if (n == 0 || s->gone || buf_used(&s->q) > SINK_DROP_BYTES / 4 ||
	    (s->told_ns && now - s->told_ns < MS_NS(1000)))
		return 0;
	s->dropped = 0;
	s->told_ns = now;
	return n;
}

void sink_drain(struct sink *s, int idle_ms, int stop_fd,
                bool (*stop)(void *arg), void *arg)
{
	uint64_t give_up = clock_ns() + MS_NS(idle_ms < 0 ? 0 : idle_ms);

	while (!s->gone && buf_used(&s->q) > 0 &&
	       (idle_ms < 0 || clock_ns() < give_up)) {
		struct pollfd p[2] = {{.fd = s->fd, .events = POLLOUT},
		                      {.fd = stop_fd, .events = POLLIN}};
		size_t before = buf_used(&s->q);
		int r = poll(p, 2, idle_ms < 0 ? -1 : clock_ms_until(give_up));
		if (r < 0 && errno != EINTR)
			return;
		if (r > 0 && p[1].revents && (!stop || stop(arg)))
			return; /* stop waiting */
		sink_flush(s);
		if (buf_used(&s->q) < before) /* progress: wait anew */
			give_up = clock_ns() + MS_NS(idle_ms < 0 ? 0 : idle_ms);
	}
}

void sink_close(struct sink *s)
{
	if (s->loop)
		loop_watch(s->loop, &s->w, 0);
	s->loop = NULL;
	buf_free(&s->q);
	if (s->own)
		close(s->fd);
	if (s->restore >= 0)
		fcntl(s->fd, F_SETFL, s->restore);
	s->own = false;
	s->restore = -1;
}
