/*
 * Exponential backoff (see backoff.h).  delay(n) = min(initial * factor^n, cap), then spread by
 * +/- jitter and capped again, so the cap is a promise the user can rely on.  Computed in double
 * and clamped before converting, so huge attempt counts saturate at the cap instead of
 * overflowing.
 */
#include <math.h>

#include "backoff.h"

/* factor^n by squaring: exact enough, O(log n), and no libm (a few hundred KiB of RSS) */
static double ipow(double b, unsigned n) {
        double r = 1.0;

        while (n > 0) {
                if (n & 1)
                        r *= b;
                b *= b;
                n >>= 1;
        }
        return r;
}

usec_t backoff_delay(const BackoffParams *p, unsigned attempt, double rnd) {
        double d;

        if (p->initial == 0)
                return 0; /* and not 0 * inf */
        d = (double) p->initial * ipow(p->factor, attempt);

        if (!isfinite(d) || d > (double) p->max_delay)
                d = (double) p->max_delay;
        if (p->jitter > 0.0)
                d *= 1.0 + p->jitter * (2.0 * rnd - 1.0);
        if (d > (double) p->max_delay)
                d = (double) p->max_delay;
        if (d < 0.0)
                d = 0.0;
        return (usec_t) d;
}

unsigned backoff_attempt_after_run(const BackoffParams *p, unsigned attempt, usec_t ran) {
        /* reset-after = 0: never, like systemd's restart counter */
        return p->reset_after > 0 && ran >= p->reset_after ? 0 : attempt;
}
