/*
 * Alerts: per-worker escalation (escalate.c) fed by the sliding windows, and delivery of each
 * notification to the configured sinks (log, exec, webhook, Slack, Alertmanager) without ever
 * blocking the loop.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

typedef struct Supervisor Supervisor;
typedef struct Worker Worker;
typedef struct Alerts Alerts;

int alerts_new(Supervisor *s, Alerts **ret);
Alerts *alerts_free(Alerts *a);
/* The configuration was replaced: rebuild the sinks (queued notifications are dropped). */
int alerts_reconfigure(Alerts *a);

/* Something was counted for this worker, or its state changed: evaluate its rules now. */
void alerts_evaluate(Alerts *a, Worker *w, const char *instance);
/* A worker is going away: stop its timer. */
void alerts_forget(Alerts *a, Worker *w);

/* {"active": [...], "sinks": [...]} for upkeepctl alerts. */
json_t *alerts_json(Alerts *a);
/* Queue a test notification on one sink; -ENOENT when there is no such sink. */
int alerts_test(Alerts *a, const char *sink);

/* "https://hooks.slack.com/…": scheme, host and port only; the rest may be a secret. */
char *redact_url(const char *url);
