/*
 * The status page of the metrics listener: server-rendered HTML from the status answer (the
 * `status --json` document) and the alerts answer.  Pure, no JavaScript: it refreshes itself
 * with a meta refresh, and every value from the answers is escaped (a health answer's reason is
 * a service's text; it is shown, never interpreted).
 */
#pragma once

struct json_t;

/* The page (free() it); NULL when out of memory.  alerts may be NULL (none shown). */
char *status_page_html(const struct json_t *status, const struct json_t *alerts,
                       unsigned refresh_sec);
