/*
 * Unit tests of an alert sink's delivery decisions (lib/alertqueue.h): the queue bound is exact
 * with and without a notice in flight, the oldest not in flight makes room, the order is kept;
 * retries double from 1 s to 5 min and the 5th failure in a row opens the circuit for a minute;
 * HTTP statuses as upkeep.conf(5) documents them (Slack: 200 only).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertqueue.h"

static AlertNotice *notice(unsigned id) {
        AlertNotice *n = calloc(1, sizeof(AlertNotice));
        char buf[16];

        assert_non_null(n);
        snprintf(buf, sizeof buf, "%u", id);
        n->body = strdup(buf);
        return n;
}

/* The queue from head to tail as "1,2,3", checked against its length and tail. */
static void check(const AlertQueue *q, const char *want) {
        char got[256] = "";
        unsigned n = 0;
        const AlertNotice *last = NULL;

        for (const AlertNotice *p = q->head; p; p = p->next, n++) {
                strcat(got, n ? "," : "");
                strcat(got, p->body);
                last = p;
        }
        assert_string_equal(got, want);
        assert_int_equal(n, q->len);
        assert_ptr_equal(last, q->tail);
}

static void test_fifo_within_bound(void **state) {
        AlertQueue q = { 0 };

        (void) state;
        for (unsigned i = 1; i <= 3; i++)
                assert_int_equal(alert_queue_push(&q, notice(i), 3, false), 0);
        check(&q, "1,2,3");
        alert_queue_pop(&q);
        check(&q, "2,3");
        alert_queue_clear(&q);
        check(&q, "");
        alert_queue_pop(&q); /* empty: nothing happens */
        check(&q, "");
}

static void test_full_drops_oldest(void **state) {
        AlertQueue q = { 0 };

        (void) state;
        for (unsigned i = 1; i <= 3; i++)
                alert_queue_push(&q, notice(i), 3, false);
        /* nothing in flight: the head itself is the oldest */
        assert_int_equal(alert_queue_push(&q, notice(4), 3, false), 1);
        check(&q, "2,3,4");
        /* the head is in flight: the one after it goes */
        assert_int_equal(alert_queue_push(&q, notice(5), 3, true), 1);
        check(&q, "2,4,5");
        alert_queue_clear(&q);
}

/* queue = 1 with the one notice in flight: the new one is dropped, counted once. */
static void test_bound_one_in_flight(void **state) {
        AlertQueue q = { 0 };

        (void) state;
        assert_int_equal(alert_queue_push(&q, notice(1), 1, false), 0);
        assert_int_equal(alert_queue_push(&q, notice(2), 1, true), 1);
        check(&q, "1");
        /* once delivered, there is room again */
        alert_queue_pop(&q);
        assert_int_equal(alert_queue_push(&q, notice(3), 1, false), 0);
        check(&q, "3");
        /* not in flight (waiting for a retry): the newest replaces it */
        assert_int_equal(alert_queue_push(&q, notice(4), 1, false), 1);
        check(&q, "4");
        alert_queue_clear(&q);
}

/* Every bound 1..6 and every fill 0..8, with and without a notice in flight: len <= bound. */
static void test_bound_exhaustive(void **state) {
        (void) state;
        for (unsigned max = 1; max <= 6; max++)
                for (int flight = 0; flight <= 1; flight++) {
                        AlertQueue q = { 0 };
                        unsigned dropped = 0;

                        for (unsigned i = 1; i <= 8; i++) {
                                dropped += alert_queue_push(&q, notice(i), max, flight && q.head);
                                assert_true(q.len <= max);
                                assert_int_equal(q.len + dropped, i);
                        }
                        /* the newest is kept whenever more than one fits */
                        if (max > 1)
                                assert_string_equal(q.tail->body, "8");
                        if (flight)
                                assert_string_equal(q.head->body, "1");
                        alert_queue_clear(&q);
                }
}

static void test_retry_delay(void **state) {
        bool open;

        (void) state;
        assert_int_equal(alert_retry_delay(1, 1, &open), USEC_PER_SEC);
        assert_false(open);
        assert_int_equal(alert_retry_delay(2, 2, &open), 2 * USEC_PER_SEC);
        assert_int_equal(alert_retry_delay(4, 4, &open), 8 * USEC_PER_SEC);
        assert_false(open);
        /* the 5th failure in a row: at least the circuit's minute */
        assert_int_equal(alert_retry_delay(5, 5, &open), 60 * USEC_PER_SEC);
        assert_true(open);
        assert_int_equal(alert_retry_delay(5, 6, &open), 16 * USEC_PER_SEC);
        assert_false(open);
        /* capped at 5 min, and no overflow however many attempts */
        assert_int_equal(alert_retry_delay(9, 9, &open), 256 * USEC_PER_SEC);
        assert_int_equal(alert_retry_delay(10, 10, &open), 5 * USEC_PER_MINUTE);
        assert_int_equal(alert_retry_delay(4000000000u, 3, &open), 5 * USEC_PER_MINUTE);
        assert_int_equal(alert_retry_delay(9, 5, &open), 256 * USEC_PER_SEC);
        assert_true(open);
}

static void test_http_verdict(void **state) {
        (void) state;
        for (long s = 100; s < 600; s++) {
                AlertVerdict want = s >= 200 && s < 300 ? ALERT_DELIVERED
                                    : s == 429 || s >= 500 ? ALERT_RETRY
                                                           : ALERT_DROP;
                assert_int_equal(alert_http_verdict(s, false), want);
                if (s >= 200 && s < 300)
                        want = s == 200 ? ALERT_DELIVERED : ALERT_DROP;
                assert_int_equal(alert_http_verdict(s, true), want);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fifo_within_bound),
                cmocka_unit_test(test_full_drops_oldest),
                cmocka_unit_test(test_bound_one_in_flight),
                cmocka_unit_test(test_bound_exhaustive),
                cmocka_unit_test(test_retry_delay),
                cmocka_unit_test(test_http_verdict),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
