/*
 * The read-only HTTP listener of metrics { listen }: libmicrohttpd without threads of its own,
 * its epoll descriptor one sd-event source and its timeout one timer.  GET only; it serves
 * /metrics, /status.json, / (the page) and /healthz, and nothing that changes anything.
 */
#pragma once

#include <systemd/sd-event.h>

typedef struct Supervisor Supervisor;
typedef struct Alerts Alerts;
typedef struct WebServer WebServer;

/* Listen on `listen` ("127.0.0.1:9310"); token_file NULL: no bearer token asked for. */
int webserver_new(sd_event *e, Supervisor *sup, Alerts *alerts, const char *listen,
                  const char *token_file, WebServer **ret);
WebServer *webserver_free(WebServer *w);
/* Read the token file again (a reload): its new content is asked for from now on. */
int webserver_reload_token(WebServer *w);
