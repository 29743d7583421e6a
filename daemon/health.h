/*
 * Health probes: one HTTP GET per instance per interval through the shared curl multi (http.c),
 * classified by classify.c, judged against the configured thresholds (probejudge.c) and reported
 * to whoever created the probe (the supervisor) through a callback.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "classify.h"
#include "config.h"
#include "macro.h"
#include "metrics.h"
#include "probejudge.h"
#include "window.h"

typedef struct Http Http;
typedef struct HttpRequest HttpRequest;

/* What a probe needs, as plain values; the strings and config stay the caller's while it lives. */
typedef struct ProbeSpec {
        const char *name;              /* the instance, in messages */
        unsigned index;                /* replaces %i in the URL */
        const HealthConfig *health;    /* url NULL: no probe */
        sd_event *event;
        Http *http;
        /*
         * After each answer, on the loop: count() for each event it counts as (EVK_DEGRADED,
         * EVK_HEALTH_FAILURE, EVK_TIMEOUT, in that order), then the probe logs what changed, then
         * report() with the verdict (v->good: a starting instance is ready; v->unhealthy:
         * restart it).
         */
        void (*count)(void *userdata, EventKind k);
        void (*report)(void *userdata, const ProbeVerdict *v);
        bool (*starting)(void *userdata); /* probed every start-interval while this holds */
        void *userdata;
} ProbeSpec;

typedef struct Probe {
        ProbeSpec spec;
        char *url;             /* with %i replaced by the instance number */
        char *unix_path;       /* for unix:/path:/health URLs */
        sd_event_source *timer;
        HttpRequest *req;      /* in flight, or NULL */
        usec_t next_at;        /* CLOCK_MONOTONIC of the next scheduled probe */
        usec_t started_at;     /* CLOCK_MONOTONIC of the spawn: start-period runs from here */

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
        MetricHistogram *latency; /* every answer's, since the probe was set up (metrics);
                                   * allocated for a worker with a health URL only */
} Probe;

/* Prepare the probe of an instance whose worker has a health URL; no-op otherwise. */
int probe_init(Probe *p, const ProbeSpec *spec);
void probe_done(Probe *p);
/* A process was spawned at `started_at` (CLOCK_MONOTONIC): reset the counters and schedule the
 * first probe. */
void probe_begin(Probe *p, usec_t started_at);
/* The process is being stopped or is gone: cancel the probe in flight and stop the schedule. */
void probe_end(Probe *p);
