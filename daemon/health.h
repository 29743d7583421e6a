/*
 * Health probes: one HTTP GET per instance per interval through the shared curl multi (http.c),
 * classified by classify.c, turned into EV_HEALTHY / EV_UNHEALTHY for the state machine after
 * the configured thresholds.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "classify.h"
#include "macro.h"

typedef struct Instance Instance;
typedef struct HttpRequest HttpRequest;

typedef struct Probe {
        char *url;             /* with %i replaced by the instance number */
        char *unix_path;       /* for unix:/path:/health URLs */
        sd_event_source *timer;
        HttpRequest *req;      /* in flight, or NULL */
        usec_t next_at;        /* CLOCK_MONOTONIC of the next scheduled probe */

        HealthClass state;     /* after thresholds: what status shows */
        unsigned fails;        /* consecutive counted failures */
        unsigned oks;          /* consecutive good answers */
        uint64_t sent, answered, skipped;

        bool has_last;         /* the last answer, for status */
        usec_t last_at;        /* CLOCK_REALTIME */
        usec_t last_latency;
        long last_code;
        HealthClass last_class;
        char last_reason[160];
} Probe;

/* Prepare the probe of an instance whose worker has a health URL; no-op otherwise. */
int probe_init(Instance *i);
void probe_done(Instance *i);
/* A process was spawned: reset the counters and schedule the first probe. */
void probe_begin(Instance *i);
/* The process is being stopped or is gone: cancel the probe in flight and stop the schedule. */
void probe_end(Instance *i);
