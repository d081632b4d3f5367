/*
 * service.h - what a fleet run by systemd tells it (orchestrator
 * --service, the fanout@ user unit): sd_notify(3) messages over
 * $NOTIFY_SOCKET, for Type=notify (systemd.service(5)).
 *
 * READY=1 once every node is connected, RELOADING=1 and READY=1 around
 * a reload, STOPPING=1 when the teardown begins, STATUS= a line for
 * `systemctl status`. Without --service, or without $NOTIFY_SOCKET,
 * nothing is sent. Nodes and launchers never see $NOTIFY_SOCKET
 * (fleet.c and hosts.c leave it out of their environment), so only the
 * orchestrator speaks for the fleet.
 */
#ifndef FANOUT_SERVICE_H
#define FANOUT_SERVICE_H

#include <stdbool.h>

/* Speak to the service manager from now on if on (--service). */
void service_init(bool on);

/* Start-up begins and may take up to ms (ms: [connect] timeout_ms):
   the service manager's start timeout is extended by as much. */
void service_starting(unsigned ms);

/* The fleet is ready: nodes of them connected. */
void service_ready(unsigned nodes);

/* A reload begins (SIGHUP, /reload, a watched edit). */
void service_reloading(void);

/* The reload is done: nodes wanted now; failed when the file could not
   be used (the running configuration was kept: STATUS says so). */
void service_reloaded(unsigned nodes, bool failed);

/* The teardown begins and may take up to ms (stop_timeout_ms and what
   SIGKILL is given): the stop timeout is extended by as much. */
void service_stopping(unsigned ms);

#endif
