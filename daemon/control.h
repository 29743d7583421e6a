/*
 * The control socket server (see control.c for its rules).
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "supervisor.h"

typedef struct Alerts Alerts;
typedef struct Control Control;

/* Take the socket path (refusing when another upkeepd owns it) and start serving requests
 * about sup and its alerts. */
int control_new(sd_event *e, Supervisor *sup, Alerts *alerts, const char *path, Control **ret);
Control *control_free(Control *control, bool unlink_socket);
