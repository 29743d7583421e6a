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
typedef struct Http Http;

/*
 * Alerts for the workers of s, with the sinks of c (HTTP ones through http, NULL when none
 * needs it); once alerts_observe() made them one of its observers, they follow the supervisor
 * (reloads included).
 */
int alerts_new(Supervisor *s, const Config *c, Http *http, Alerts **ret);
int alerts_observe(Alerts *a);
Alerts *alerts_free(Alerts *a);

/* {"active": [...], "sinks": [...]} for upkeepctl alerts. */
json_t *alerts_json(Alerts *a);
/* Queue a test notification on one sink; -ENOENT when there is no such sink. */
int alerts_test(Alerts *a, const char *sink);

/*
 * An alert that no window counts (a rolling restart paused): to every sink whose min-severity
 * it reaches, and upkeepd's log; resolved says it is over.
 */
void alerts_raise(Alerts *a, const char *worker, const char *instance, Severity sev,
                  bool resolved, const char *summary);

/* "https://hooks.slack.com/…": scheme, host and port only; the rest may be a secret. */
char *redact_url(const char *url);
