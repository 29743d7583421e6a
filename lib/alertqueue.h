/*
 * The delivery decisions of one alert sink, pure: its bounded FIFO of notices, how long to wait
 * after a failure and when the circuit opens, and what an HTTP answer means.  alerts.c performs
 * them with timers and transfers; tests drive them directly.
 */
#pragma once

#include <stdbool.h>

#include "macro.h"

typedef struct AlertNotice {
        struct AlertNotice *next;
        char *body;            /* HTTP sinks */
        char **env;            /* exec sinks: UPKEEP_* assignments */
        unsigned attempts;     /* failed deliveries so far */
} AlertNotice;

typedef struct AlertQueue {
        AlertNotice *head, *tail;
        unsigned len;
} AlertQueue;

AlertNotice *alert_notice_free(AlertNotice *n);
/* Drop the head (delivered or given up). */
void alert_queue_pop(AlertQueue *q);
void alert_queue_clear(AlertQueue *q);
/*
 * Append n (taken over), keeping at most max notices, the one in flight (the head, when
 * in_flight) included.  When full, the oldest that is not in flight makes room (the newest says
 * what is true now); when the only one queued is in flight, n itself is dropped.  Returns the
 * number of notices dropped: 0 or 1.
 */
unsigned alert_queue_push(AlertQueue *q, AlertNotice *n, unsigned max, bool in_flight);

#define ALERT_RETRY_FIRST USEC_PER_SEC
#define ALERT_RETRY_MAX (5 * USEC_PER_MINUTE)
#define ALERT_CIRCUIT_FAILURES 5
#define ALERT_CIRCUIT_OPEN (60 * USEC_PER_SEC)

/*
 * After a failed attempt of a notice (its attempts already counted) that is the sink's
 * failures-th in a row: the delay before the next attempt, 1 s doubling up to 5 min, and at
 * least the open circuit's minute when this failure is the 5th in a row (*ret_open).
 */
usec_t alert_retry_delay(unsigned attempts, unsigned failures, bool *ret_open);

typedef enum AlertVerdict {
        ALERT_DELIVERED,
        ALERT_RETRY,           /* 429, 5xx: the receiver may take it later */
        ALERT_DROP,            /* any other status: sending it again cannot help */
} AlertVerdict;

/* What an HTTP status means; only_200: the receiver (Slack) answers 200 and nothing else. */
AlertVerdict alert_http_verdict(long status, bool only_200);
