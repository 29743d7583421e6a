/*
 * What an alert notification says, encoded for each kind of receiver; pure, from a plain
 * AlertEvent (no worker, no sink, no clock of its own), so tests check each shape directly:
 *   webhook       upkeep's own JSON object, documented in upkeep.conf(5);
 *   slack         an incoming-webhook message: {"text": "..."};
 *   alertmanager  the body of Alertmanager API v2 POST /api/v2/alerts: a list of one alert
 *                 {labels, annotations, startsAt, endsAt} with RFC 3339 times;
 *   exec          UPKEEP_* environment assignments for the notifier command.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "escalate.h"
#include "window.h"

/* A worker's counts over the windows status shows (win_spans: 1m, 5m, 15m, 1h). */
typedef struct AlertCounts {
        unsigned n[_EVK_MAX][WIN_N_SPANS];
} AlertCounts;

typedef struct AlertEvent {
        const char *worker, *instance, *host;
        Severity severity;
        bool resolved, repeat, test;
        const char *summary;
        usec_t started_at;          /* CLOCK_REALTIME, when the alert first fired */
        usec_t at;                  /* CLOCK_REALTIME, now */
        const AlertCounts *counts;  /* NULL: none (a test notification) */
        const char *output;         /* crash context: the instance's last lines; NULL: none */
        const char *last_error;     /* the last application error line (errors { }); NULL: none */
} AlertEvent;

/* Slack shows at most 3000 characters of a text block: the code block of output keeps the
 * last lines within this many bytes. */
#define ALERT_SLACK_OUTPUT_MAX 2800

void alert_counts(Window *win, usec_t now, AlertCounts *ret);

/* "2026-11-23T10:15:50Z" */
void alert_rfc3339(char *buf, size_t len, usec_t realtime);

json_t *alert_webhook_json(const AlertEvent *e);
json_t *alert_slack_json(const AlertEvent *e);
/* A firing alert ends `valid_for` after e->at unless sent again; a resolved one ends at e->at. */
json_t *alert_alertmanager_json(const AlertEvent *e, usec_t valid_for);
/* NULL-terminated, for strv_free(); NULL when out of memory. */
char **alert_exec_env(const AlertEvent *e);
