/* service.c - see service.h. */
#include "service.h"

#include <systemd/sd-daemon.h>

static bool speaking;

void service_init(bool on)
{
	speaking = on;
}

/* Margin for what is not bounded by the configuration (the loop, the
   last reports), in us. */
#define MARGIN_US 10000000ULL

void service_starting(unsigned ms)
{
	if (speaking)
		sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=starting",
		           ms * 1000ULL + MARGIN_US);
}

void service_ready(unsigned nodes)
{
	if (speaking)
		sd_notifyf(0, "READY=1\nSTATUS=%u nodes ready", nodes);
}

void service_reloading(void)
{
	if (speaking)
		sd_notify(0, "RELOADING=1\nSTATUS=reloading");
}

void service_reloaded(unsigned nodes, bool failed)
{
	if (!speaking)
		return;
	if (failed)
		sd_notifyf(0,
		           "READY=1\nSTATUS=reload failed (see the log); "
		           "%u nodes wanted, as before",
		           nodes);
	else
		sd_notifyf(0, "READY=1\nSTATUS=%u nodes wanted", nodes);
}

void service_stopping(unsigned ms)
{
	if (speaking)
		sd_notifyf(0,
		           "STOPPING=1\nEXTEND_TIMEOUT_USEC=%llu\n"
		           "STATUS=stopping",
		           ms * 1000ULL + MARGIN_US);
}
