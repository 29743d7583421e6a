/*
 * The systemd notification protocol: READY, STATUS, WATCHDOG (from the loop itself), RELOADING
 * and STOPPING.  Every call is silent when upkeepd was not started with $NOTIFY_SOCKET.
 */
#pragma once

#include <systemd/sd-event.h>

typedef struct Supervisor Supervisor;

/* Arm watchdog pings from the loop, when the service manager asked for them. */
void notify_init(sd_event *e);
/* Any instance changed state: update STATUS=, send READY=1 when readiness is first reached. */
void notify_state_changed(Supervisor *s);
void notify_reloading(sd_event *e);
void notify_reloaded(Supervisor *s);
void notify_stopping(void);
