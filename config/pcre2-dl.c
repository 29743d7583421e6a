/*
 * dlopen() of PCRE2 (see pcre2-dl.h).  The symbol table is filled by name; a missing symbol
 * means a library too old for us and is reported as such.  Never unloaded: the compiled
 * patterns of the running configuration live in it.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"
#include "pcre2-dl.h"

Pcre2Functions pcre2_fn;
static void *handle;

static const struct {
        const char *name;
        size_t offset;
} symbols[] = {
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
        void *h;

        if (handle)
                return NULL;
        h = dlopen("libpcre2-8.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                snprintf(why, sizeof why, "cannot load libpcre2-8.so.0: %s", dlerror());
                return why;
        }
        for (size_t i = 0; i < ELEMENTSOF(symbols); i++) {
                void *f = dlsym(h, symbols[i].name);

                if (!f) {
                        snprintf(why, sizeof why, "libpcre2-8.so.0 lacks %s, expected PCRE2 "
                                 "10.34 or newer", symbols[i].name);
                        dlclose(h);
                        return why;
                }
                *(void **) ((char *) &pcre2_fn + symbols[i].offset) = f;
        }
        handle = h;
        return NULL;
}
