/*
 * Time in upkeep: microseconds in a usec_t (macro.h) read from the kernel's clocks, and
 * durations as the JSON answers carry them, seconds in a double.
 *
 * CLOCK_MONOTONIC is for deadlines and durations: it does not jump when the wall clock is set.
 * CLOCK_REALTIME is only for what people or other machines read as a date (log stamps, "at"
 * times of alerts and probes).  Inside upkeepd's event loop the loop's own time of the current
 * turn (sd_event_now()) is what the handlers use, so that one turn sees one "now"; these are for
 * code that runs outside it or must read the clock itself.
 */
#pragma once

#include <time.h>

#include "macro.h"

usec_t clock_mono_usec(void);
usec_t clock_real_usec(void);

/* A duration in seconds. */
double usec_to_seconds(usec_t u);
/*
 * The same rounded to the nearest millisecond: how the answers give "uptime_s", "firing_s", ...
 * Built from whole milliseconds, so that with proto_dump()'s precision 13.851797 s prints as
 * 13.852 and not as 13.851796999999999.
 */
double usec_to_seconds_ms(usec_t u);
/* The reverse, for such a number read back: 0 for one that is negative or not a number. */
usec_t seconds_to_usec(double s);
/* A time of one of the clocks as the timespec pthread_cond_timedwait() and the like take. */
struct timespec usec_to_timespec(usec_t u);
