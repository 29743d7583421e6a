/*
 * The way back from the log writer's threads to the event loop: messages for upkeepd's log, and
 * flags on entries (room came back in a destination, a destination is done with), through one
 * eventfd. So upkeepd's log is only ever written, and a destination only ever freed, on the loop.
 */
#pragma once

#include <stdarg.h>
#include <systemd/sd-event.h>

#include "macro.h"

/* Embedded in what a thread hands back; its fields belong to the inbox. */
typedef struct InboxEntry {
        unsigned flags;
        struct InboxEntry *next;
} InboxEntry;

/*
 * How a message reaches upkeepd's log, on the loop: `label` is a destination's ("api:0"), NULL for
 * upkeepd's own log-file or the writer itself; `event` ("log-write-error") and `file` (the
 * destination's path, "-" for stdout) may be NULL.
 */
typedef void (*inbox_report_t)(int level, const char *label, const char *event,
                               const char *file, const char *text);
/* What the loop does with an entry's flags (accumulated since it last ran). */
typedef void (*inbox_deliver_t)(InboxEntry *e, unsigned flags);

int inbox_start(sd_event *e, inbox_report_t report, inbox_deliver_t deliver);
/* Disable the loop's source (the threads are gone), then close the eventfd. */
void inbox_stop(void);
void inbox_close(void);

/* From any thread.  A message beyond the queue's room is counted, and the count reported. */
void inbox_push(InboxEntry *e, unsigned flags);
void inbox_postv(int level, const char *label, const char *event, const char *file,
                 const char *fmt, va_list ap) _printf_(5, 0);

/* On the loop: report a message now; deliver everything queued. */
void inbox_report(int level, const char *fmt, ...) _printf_(2, 3);
void inbox_process(void);
