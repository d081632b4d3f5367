/* outcome.c - see outcome.h. */
#include "outcome.h"

#include <signal.h>

#include "clock.h"
#include "exitcode.h"

void outcome_stop(struct outcome *o, enum stop_reason reason)
{
	if (o->stop == STOP_NONE ||
	    (reason == STOP_ERROR && o->stop != STOP_SIGNAL))
		o->stop = reason;
}

/* Whether a signal from source is the echo of the last one, from last:
   the terminal's and our parent's (a wrapper forwarding it), or twice
   from one process (timeout signals its child, then its group). */
static bool echo(int source, int last, int parent)
{
	return (source != 0 && source == last) ||
	       (source == 0 && last == parent) ||
	       (last == 0 && source == parent);
}

void outcome_signal(struct outcome *o, int signo, int source, int parent,
                    uint64_t now_ns)
{
	if (o->interrupts > 0 && signo == o->last_signal &&
	    echo(source, o->last_source, parent) &&
	    now_ns - o->last_signal_ns < MS_NS(OUTCOME_ECHO_MS))
		return;
	o->last_signal = signo;
	o->last_source = source;
	o->last_signal_ns = now_ns;
	o->interrupts++;
	if (o->stop != STOP_SIGNAL) {
		o->stop = STOP_SIGNAL;
		o->stop_signal = signo;
	}
}

void outcome_broadcast(struct outcome *o, bool went_well, bool replies)
{
	o->sent++;
	o->replies |= replies;
	if (went_well)
		o->clean++;
	else
		o->incomplete = true;
}

int outcome_signal_status(const struct outcome *o)
{
	return o->stop_signal == SIGINT ? EXIT_SIGINT : EXIT_SIGTERM;
}

int outcome_status(const struct outcome *o, const char **reason)
{
	static const char *const reasons[] = {"eof", "eof", "exit", "signal",
	                                      "error"};

	*reason = reasons[o->stop];
	if (o->stop == STOP_SIGNAL)
		return outcome_signal_status(o);
	return o->incomplete || o->stop == STOP_ERROR ? EXIT_INCOMPLETE
	                                              : EXIT_OK;
}
