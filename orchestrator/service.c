/* service.c - see service.h. */
#include "service.h"

#include <systemd/sd-daemon.h>

static bool speaking;

void service_init(bool on)
{
	speaking = on;
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

void service_reloaded(unsigned nodes)
{
	if (speaking)
		sd_notifyf(0, "READY=1\nSTATUS=%u nodes wanted", nodes);
}

void service_stopping(void)
{
	if (speaking)
		sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}
