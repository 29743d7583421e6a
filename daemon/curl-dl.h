/*
 * libcurl, loaded with dlopen() the first time something needs HTTP.  libcurl drags in a TLS
 * stack and a dozen other libraries (several MiB of resident memory at start-up); a upkeepd
 * without probes or webhooks never pays for them.  Code that uses curl includes this header
 * after <curl/curl.h> and calls the usual names, which resolve through the table below.
 */
#pragma once

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

typedef struct CurlFunctions {
        CURLcode (*global_init)(long);
        void (*global_cleanup)(void);
        CURLM *(*multi_init)(void);
        CURLMcode (*multi_cleanup)(CURLM *);
        CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
        CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
        CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
        CURLMsg *(*multi_info_read)(CURLM *, int *);
        CURLMcode (*multi_add_handle)(CURLM *, CURL *);
        CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
        CURL *(*easy_init)(void);
        void (*easy_cleanup)(CURL *);
        CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
        CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
        const char *(*easy_strerror)(CURLcode);
        struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
        void (*slist_free_all)(struct curl_slist *);
        CURLU *(*url)(void);
        void (*url_cleanup)(CURLU *);
        CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned);
        CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned);
        void (*free)(void *);
} CurlFunctions;

extern CurlFunctions curl_fn;

/* Load libcurl and initialise it (once); negative errno with a logged reason on failure. */
int curl_dl_load(void);
void curl_dl_unload(void);

/* curl.h may define some of these names as macros of its own */
#undef curl_multi_setopt
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (*curl_fn.global_init)
#define curl_global_cleanup (*curl_fn.global_cleanup)
#define curl_multi_init (*curl_fn.multi_init)
#define curl_multi_cleanup (*curl_fn.multi_cleanup)
#define curl_multi_setopt (*curl_fn.multi_setopt)
#define curl_multi_assign (*curl_fn.multi_assign)
#define curl_multi_socket_action (*curl_fn.multi_socket_action)
#define curl_multi_info_read (*curl_fn.multi_info_read)
#define curl_multi_add_handle (*curl_fn.multi_add_handle)
#define curl_multi_remove_handle (*curl_fn.multi_remove_handle)
#define curl_easy_init (*curl_fn.easy_init)
#define curl_easy_cleanup (*curl_fn.easy_cleanup)
#define curl_easy_setopt (*curl_fn.easy_setopt)
#define curl_easy_getinfo (*curl_fn.easy_getinfo)
#define curl_easy_strerror (*curl_fn.easy_strerror)
#define curl_slist_append (*curl_fn.slist_append)
#define curl_slist_free_all (*curl_fn.slist_free_all)
#define curl_url (*curl_fn.url)
#define curl_url_cleanup (*curl_fn.url_cleanup)
#define curl_url_set (*curl_fn.url_set)
#define curl_url_get (*curl_fn.url_get)
#define curl_free (*curl_fn.free)
