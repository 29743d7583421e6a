/*
 * The metrics of upkeepd in the Prometheus text format: the workers as the supervisor shows
 * them, the alerts, and upkeepd's own process figures.  Read-only; rendered by lib/metrics.c.
 */
#pragma once

#include <stddef.h>

typedef struct Supervisor Supervisor;
typedef struct Alerts Alerts;

/* The exposition (free() it), *ret_len its length; NULL when out of memory.  alerts may be NULL. */
char *collector_text(Supervisor *sup, Alerts *alerts, size_t *ret_len);
