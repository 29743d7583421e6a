/*
 * The loop's time: CLOCK_MONOTONIC as sd-event read it when the current iteration of the loop
 * woke up, so that everything decided in one iteration shares one "now" (and costs no system
 * call).  Reading the clocks themselves is lib/clock.h's.
 */
#pragma once

#include <systemd/sd-event.h>

#include "macro.h"

static inline usec_t loop_now(sd_event *e) {
        usec_t t = 0;

        (void) sd_event_now(e, CLOCK_MONOTONIC, &t);
        return t;
}
