/*
 * Alert escalation for one worker as a pure state machine: the level only rises while rules
 * match (warning -> critical -> fatal), is repeated every `repeat` while it holds, and falls to
 * resolved once no rule has matched for `resolve-after`.  The caller evaluates the rules and
 * passes the highest matching severity and the clock; tests drive it directly.
 */
#pragma once

#include <stdbool.h>

#include "macro.h"

typedef enum Severity {
        SEV_NONE,
        SEV_WARNING,
        SEV_CRITICAL,
        SEV_FATAL,
        _SEV_MAX,
        _SEV_INVALID = -1,
} Severity;

typedef enum EscNotice {
        ESC_NOTHING,
        ESC_FIRING,   /* a new, higher level: tell everyone once */
        ESC_REPEAT,   /* the level holds and `repeat` has passed since the last notice */
        ESC_RESOLVED, /* no rule matched for resolve-after */
} EscNotice;

typedef struct EscState {
        Severity level;       /* SEV_NONE when nothing is firing */
        usec_t started_at;    /* when the current alert first fired */
        usec_t last_notice;   /* when the last firing/repeat notice went out */
        usec_t last_match;    /* when a rule last matched */
} EscState;

typedef struct EscPolicy {
        usec_t repeat;        /* 0: never repeat */
        usec_t resolve_after;
} EscPolicy;

EscNotice esc_step(EscState *st, const EscPolicy *p, Severity matched, usec_t now);
/* When esc_step() must run again even without events (repeat, resolve); USEC_INFINITY: never. */
usec_t esc_next_check(const EscState *st, const EscPolicy *p);

const char *severity_to_string(Severity s);
Severity severity_from_string(const char *s);
