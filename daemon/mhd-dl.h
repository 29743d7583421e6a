/*
 * libmicrohttpd, loaded with dlopen() when `metrics { listen }` asks for the listener.  It links
 * GnuTLS and a dozen libraries with it (about 3 MiB of resident memory and 400 KiB of heap at
 * start-up, from their constructors); a upkeepd without a listener never pays for them.  Code
 * that uses it includes this header after <microhttpd.h> and calls the usual names, which
 * resolve through the table below.
 */
#pragma once

#include <microhttpd.h>

typedef struct MhdFunctions {
        struct MHD_Daemon *(*start_daemon)(unsigned, uint16_t, MHD_AcceptPolicyCallback, void *,
                                           MHD_AccessHandlerCallback, void *, ...);
        void (*stop_daemon)(struct MHD_Daemon *);
        const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *,
                                                       enum MHD_DaemonInfoType, ...);
        enum MHD_Result (*run)(struct MHD_Daemon *);
        enum MHD_Result (*get_timeout)(struct MHD_Daemon *, MHD_UNSIGNED_LONG_LONG *);
        const char *(*lookup_connection_value)(struct MHD_Connection *, enum MHD_ValueKind,
                                               const char *);
        struct MHD_Response *(*create_response_from_buffer)(size_t, void *,
                                                            enum MHD_ResponseMemoryMode);
        enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *,
                                               const char *);
        enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int,
                                          struct MHD_Response *);
        void (*destroy_response)(struct MHD_Response *);
} MhdFunctions;

extern MhdFunctions mhd_fn;

/* Load libmicrohttpd (once); negative errno with a logged reason on failure. */
int mhd_dl_load(void);

#define MHD_start_daemon (*mhd_fn.start_daemon)
#define MHD_stop_daemon (*mhd_fn.stop_daemon)
#define MHD_get_daemon_info (*mhd_fn.get_daemon_info)
#define MHD_run (*mhd_fn.run)
#define MHD_get_timeout (*mhd_fn.get_timeout)
#define MHD_lookup_connection_value (*mhd_fn.lookup_connection_value)
#define MHD_create_response_from_buffer (*mhd_fn.create_response_from_buffer)
#define MHD_add_response_header (*mhd_fn.add_response_header)
#define MHD_queue_response (*mhd_fn.queue_response)
#define MHD_destroy_response (*mhd_fn.destroy_response)
