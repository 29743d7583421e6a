/*
 * dlopen() of libmicrohttpd (see mhd-dl.h).  The symbol table is filled by name; a missing
 * symbol means a library too old for us and is reported as such.  Never unloaded: GnuTLS's
 * destructors are not meant to run while the process goes on.
 */
#include <errno.h>
#include <stddef.h>

#include "dlsyms.h"
#include "log.h"
#include "macro.h"
#include "mhd-dl.h"

MhdFunctions mhd_fn;
static void *handle;

static const DlSymbol symbols[] = {
#define SYM(field, name) { name, offsetof(MhdFunctions, field) }
        SYM(start_daemon, "MHD_start_daemon"),
        SYM(stop_daemon, "MHD_stop_daemon"),
        SYM(get_daemon_info, "MHD_get_daemon_info"),
        SYM(run, "MHD_run"),
        SYM(get_timeout, "MHD_get_timeout"),
        SYM(lookup_connection_value, "MHD_lookup_connection_value"),
        SYM(create_response_from_buffer, "MHD_create_response_from_buffer"),
        SYM(add_response_header, "MHD_add_response_header"),
        SYM(queue_response, "MHD_queue_response"),
        SYM(destroy_response, "MHD_destroy_response"),
#undef SYM
};

int mhd_dl_load(void) {
        char why[256];

        if (handle)
                return 0;
        handle = dl_open_symbols("libmicrohttpd.so.12", symbols, ELEMENTSOF(symbols), &mhd_fn,
                                 "0.9.71 or newer", why, sizeof why);
        if (!handle) {
                log_error("metrics: %s", why);
                return -ENOENT;
        }
        return 0;
}
