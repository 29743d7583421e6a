/*
 * The systemd notification protocol: READY, STATUS, WATCHDOG (from the loop itself), RELOADING
 * and STOPPING.  Every call is silent when upkeepd was not started with $NOTIFY_SOCKET.
 */
#pragma once


typedef struct Supervisor Supervisor;

/*
 * Arm watchdog pings from the loop when the service manager asked for them, and observe s:
 * STATUS= and READY=1 as instances change state, RELOADING=1 and READY=1 around a reload,
 * STOPPING=1.
 */
int notify_observe(Supervisor *s);
