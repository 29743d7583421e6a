/*
 * The metrics { } section at work: the textfile, rewritten on a timer, and the read-only HTTP
 * listener (webserver.c).  It observes the supervisor, so a reload applies a changed section,
 * and stops both when upkeepd begins to stop.
 */
#pragma once

typedef struct Supervisor Supervisor;
typedef struct Alerts Alerts;
typedef struct Exporter Exporter;

/* From the running configuration's metrics { }, and observe s from now on. */
int exporter_new(Supervisor *s, Alerts *alerts, Exporter **ret);
Exporter *exporter_free(Exporter *x);
