/*
 * dlopen() of libcurl (see curl-dl.h).  The symbol table is filled by name; a missing symbol
 * means a libcurl too old for us and is reported as such.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include "curl-dl.h"
#include "dlsyms.h"
#include "log.h"
#include "macro.h"

CurlFunctions curl_fn;
static void *handle;

static const DlSymbol symbols[] = {
#define SYM(field, name) { name, offsetof(CurlFunctions, field) }
        SYM(global_init, "curl_global_init"),
        SYM(global_cleanup, "curl_global_cleanup"),
        SYM(multi_init, "curl_multi_init"),
        SYM(multi_cleanup, "curl_multi_cleanup"),
        SYM(multi_setopt, "curl_multi_setopt"),
        SYM(multi_assign, "curl_multi_assign"),
        SYM(multi_socket_action, "curl_multi_socket_action"),
        SYM(multi_info_read, "curl_multi_info_read"),
        SYM(multi_add_handle, "curl_multi_add_handle"),
        SYM(multi_remove_handle, "curl_multi_remove_handle"),
        SYM(easy_init, "curl_easy_init"),
        SYM(easy_cleanup, "curl_easy_cleanup"),
        SYM(easy_setopt, "curl_easy_setopt"),
        SYM(easy_getinfo, "curl_easy_getinfo"),
        SYM(easy_strerror, "curl_easy_strerror"),
        SYM(slist_append, "curl_slist_append"),
        SYM(slist_free_all, "curl_slist_free_all"),
        SYM(url, "curl_url"),
        SYM(url_cleanup, "curl_url_cleanup"),
        SYM(url_set, "curl_url_set"),
        SYM(url_get, "curl_url_get"),
        SYM(free, "curl_free"),
#undef SYM
};

int curl_dl_load(void) {
        char why[256];

        if (handle)
                return 0;
        handle = dl_open_symbols("libcurl.so.4", symbols, ELEMENTSOF(symbols), &curl_fn,
                                 "libcurl 7.88 or newer", why, sizeof why);
        if (!handle) {
                log_error("health probes: %s", why);
                return -ENOENT;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("cannot initialise libcurl");
                dlclose(handle);
                handle = NULL;
                return -EIO;
        }
        return 0;
}

void curl_dl_unload(void) {
        if (!handle)
                return;
        curl_global_cleanup();
        dlclose(handle);
        handle = NULL;
}
