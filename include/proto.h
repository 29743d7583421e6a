/*
 * The control protocol between upkeepctl and upkeepd: a Unix stream socket carrying one JSON
 * object per line in each direction.  Requests: {"cmd": "status"|"start"|"stop"|"restart",
 * "name": "..."}; answers always carry "ok" and, when it is false, a one-line "error".  The full
 * schema is in man/upkeepctl.1.
 */
#pragma once

#define UPKEEP_VERSION "0.1.0"
#define PROTO_VERSION 1
#define PROTO_MAX_REQUEST (64 * 1024)    /* bytes in one request line */
#define PROTO_MAX_ANSWER (64 * 1024 * 1024)
#define PROTO_IDLE_TIMEOUT_SEC 10        /* a client that sends nothing is dropped */
#define PROTO_MAX_CLIENTS 64
#define DEFAULT_SOCKET "/run/upkeep/upkeep.sock"
#define DEFAULT_CONFIG "/etc/upkeep/upkeep.conf"
