/*
 * dlopen() of PCRE2 (see pcre2-dl.h).  The symbol table is filled by name; a missing symbol
 * means a library too old for us and is reported as such.  Never unloaded: the compiled
 * patterns of the running configuration live in it.
 */
#include <stddef.h>

#include "dlsyms.h"
#include "macro.h"
#include "pcre2-dl.h"

Pcre2Functions pcre2_fn;
static void *handle;

static const DlSymbol symbols[] = {
#define SYM(field) { "pcre2_" #field "_8", offsetof(Pcre2Functions, field) }
        SYM(compile),
        SYM(code_free),
        SYM(get_error_message),
        SYM(jit_compile),
        SYM(jit_match),
        SYM(match),
        SYM(match_data_create),
        SYM(match_data_create_from_pattern),
        SYM(match_data_free),
        SYM(get_ovector_pointer),
#undef SYM
};

const char *pcre2_dl_load(void) {
        static char why[256];

        if (handle)
                return NULL;
        handle = dl_open_symbols("libpcre2-8.so.0", symbols, ELEMENTSOF(symbols), &pcre2_fn,
                                 "PCRE2 10.34 or newer", why, sizeof why);
        return handle ? NULL : why;
}
