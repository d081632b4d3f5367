/* outcome.c - see outcome.h. */
#include "outcome.h"

#include <signal.h>

#include "exitcode.h"

void outcome_stop(struct outcome *o, enum stop_reason reason)
{
	if (o->stop == STOP_NONE ||
	    (reason == STOP_ERROR && o->stop != STOP_SIGNAL))
		o->stop = reason;
}

void outcome_signal(struct outcome *o, int signo)
{
	o->interrupts++;
	if (o->stop != STOP_SIGNAL) {
		o->stop = STOP_SIGNAL;
		o->stop_signal = signo;
	}
}

void outcome_broadcast(struct outcome *o, bool full)
{
	o->sent++;
	if (full)
		o->fully_acked++;
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
