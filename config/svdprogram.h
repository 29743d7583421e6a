/*
 * supervisord.conf import: a [program:x] section becomes one native worker, with instances when
 * its processes differ only in their number, or else one worker per process, named like it.
 * Keys without a native equivalent become warnings; values supervisord would refuse are errors.
 */
#pragma once

#include "svdemit.h"

/* Translate [program:x] `s` under the daemon's settings `g`, adding its workers to `outs`. */
int svd_translate_program(Parser *p, const Globals *g, const Section *s, Outs *outs);
