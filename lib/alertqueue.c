/*
 * Delivery decisions of an alert sink (see alertqueue.h).
 */
#include <stdlib.h>

#include "alertqueue.h"
#include "strv.h"

AlertNotice *alert_notice_free(AlertNotice *n) {
        if (n) {
                free(n->body);
                strv_free(n->env);
                free(n);
        }
        return NULL;
}

void alert_queue_pop(AlertQueue *q) {
        AlertNotice *n = q->head;

        if (!n)
                return;
        q->head = n->next;
        if (!q->head)
                q->tail = NULL;
        q->len--;
        alert_notice_free(n);
}

void alert_queue_clear(AlertQueue *q) {
        while (q->head)
                alert_queue_pop(q);
}

/* Remove the notice after the head (the oldest not in flight). */
static void drop_second(AlertQueue *q) {
        AlertNotice *victim = q->head->next;

        q->head->next = victim->next;
        if (q->tail == victim)
                q->tail = q->head;
        alert_notice_free(victim);
        q->len--;
}

unsigned alert_queue_push(AlertQueue *q, AlertNotice *n, unsigned max, bool in_flight) {
        unsigned dropped = 0;

        if (q->len >= max && q->head) {
                dropped = 1;
                if (!in_flight)
                        alert_queue_pop(q);
                else if (q->head->next)
                        drop_second(q);
                if (q->len >= max) {
                        alert_notice_free(n);
                        return dropped;
                }
        }
        n->next = NULL;
        if (q->tail)
                q->tail->next = n;
        else
                q->head = n;
        q->tail = n;
        q->len++;
        return dropped;
}

usec_t alert_retry_delay(unsigned attempts, unsigned failures, bool *ret_open) {
        usec_t delay = ALERT_RETRY_FIRST << MIN(attempts > 0 ? attempts - 1 : 0, 16u);

        delay = MIN(delay, ALERT_RETRY_MAX);
        *ret_open = failures == ALERT_CIRCUIT_FAILURES;
        return *ret_open ? MAX(delay, ALERT_CIRCUIT_OPEN) : delay;
}

AlertVerdict alert_http_verdict(long status, bool only_200) {
        if (status >= 200 && status < 300 && (!only_200 || status == 200))
                return ALERT_DELIVERED;
        return status == 429 || status >= 500 ? ALERT_RETRY : ALERT_DROP;
}
