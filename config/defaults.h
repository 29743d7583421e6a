/*
 * Defaults and limits of upkeep's configuration that more than one part must agree on: config.c
 * builds its option tables and range checks from them, confcopy.c fills in what a missing
 * section leaves out, and the supervisord.conf importer
 * computes from them what the converted text leaves implicit (the give-up window that stands
 * for startretries assumes the default backoff) and clamps what config.c would refuse.
 */
#pragma once

#include "macro.h"

/* restart { } defaults: the backoff between restarts */
#define CFG_BACKOFF_INITIAL USEC_PER_SEC
#define CFG_BACKOFF_FACTOR 2.0
#define CFG_BACKOFF_MAX (5 * USEC_PER_MINUTE)
#define CFG_BACKOFF_JITTER 0.1

/* alerts { } defaults, also those of a worker without any alerts section */
#define CFG_ALERT_REPEAT USEC_PER_HOUR
#define CFG_ALERT_RESOLVE_AFTER (10 * USEC_PER_MINUTE)

/* the largest start-secs and stop-timeout a worker may have */
#define CFG_MAX_START_SECS USEC_PER_HOUR
#define CFG_MAX_STOP_TIMEOUT USEC_PER_HOUR

/* metrics { }: how often the textfile is rewritten, and its bounds */
#define CFG_METRICS_INTERVAL (15 * USEC_PER_SEC)
#define CFG_METRICS_MIN_INTERVAL USEC_PER_SEC
#define CFG_METRICS_MAX_INTERVAL USEC_PER_HOUR
/* memory-* of a worker: how often its tree is sampled, how many samples over the limit act,
 * and the smallest limit (below it, the runtime of any interpreter is over) */
#define CFG_MEMORY_INTERVAL (10 * USEC_PER_SEC)
#define CFG_MEMORY_FOR 3
#define CFG_MEMORY_MIN (1024ULL * 1024)
#define CFG_CPU_FOR (5 * USEC_PER_MINUTE)

#define CFG_MAX_INSTANCES 1000
#define CFG_MAX_WORKERS 10000
/* ready = notify or fd:N: not ready by then is a failed start */
#define CFG_READY_TIMEOUT (60 * USEC_PER_SEC)
#define CFG_MAX_GIVE_UP 1000

/* crash context: log { tail } lines kept per instance, within CFG_TAIL_BYTES of output */
#define CFG_TAIL_LINES 20
#define CFG_TAIL_MAX_LINES 200
#define CFG_TAIL_BYTES 4096
/* listen { } defaults and limits: the accept queue, a unix socket's mode, sockets per worker */
#define CFG_LISTEN_BACKLOG 1024
#define CFG_LISTEN_MODE 0666
#define CFG_MAX_LISTEN_BACKLOG 65535
#define CFG_MAX_SOCKETS 64

/* rolling { } defaults */
#define CFG_ROLL_MAX_UNAVAILABLE 1
#define CFG_ROLL_READY_TIMEOUT (60 * USEC_PER_SEC)
