/*
 * dlopen() of a library whose functions we call through a table of pointers (libcurl,
 * libmicrohttpd, PCRE2): loaded only when the configuration needs it, so a upkeepd without it
 * does not carry its pages.  Shared by daemon/ and config/.
 */
#pragma once

#include <stddef.h>

typedef struct DlSymbol {
        const char *name;        /* as the library exports it */
        size_t offset;           /* of its pointer in the table */
} DlSymbol;

/*
 * Open soname and fill table with each symbol; a missing one means a library older than
 * `expected` ("libcurl 7.88 or newer").  The handle, or NULL with why filled.
 */
void *dl_open_symbols(const char *soname, const DlSymbol *syms, size_t n, void *table,
                      const char *expected, char *why, size_t len);
