/*
 * The clocks in microseconds (see clock.h).
 */
#include <time.h>

#include "clock.h"

static usec_t clock_usec(clockid_t id) {
        struct timespec ts;

        /* cannot fail for these two clocks, which every Linux has */
        (void) clock_gettime(id, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

usec_t clock_mono_usec(void) {
        return clock_usec(CLOCK_MONOTONIC);
}

usec_t clock_real_usec(void) {
        return clock_usec(CLOCK_REALTIME);
}

double usec_to_seconds(usec_t u) {
        return (double) u / (double) USEC_PER_SEC;
}

double usec_to_seconds_ms(usec_t u) {
        /* no u + 500 µs: that would wrap for USEC_INFINITY */
        usec_t ms = u / USEC_PER_MSEC + (u % USEC_PER_MSEC >= USEC_PER_MSEC / 2);

        return (double) ms / 1000.0;
}

usec_t seconds_to_usec(double s) {
        if (!(s > 0))
                return 0;
        /* past this the conversion to an integer is undefined */
        if (s >= (double) USEC_INFINITY / (double) USEC_PER_SEC)
                return USEC_INFINITY;
        /* to the nearest: 0.123 is 0.12299999999999999822 as a double, and must give 123 ms */
        return (usec_t) (s * (double) USEC_PER_SEC + 0.5);
}

struct timespec usec_to_timespec(usec_t u) {
        return (struct timespec) {
                .tv_sec = (time_t) (u / USEC_PER_SEC),
                .tv_nsec = (long) (u % USEC_PER_SEC) * 1000,
        };
}
