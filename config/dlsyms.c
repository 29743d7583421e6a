/*
 * dlopen() with a table of function pointers filled by name (see dlsyms.h).
 */
#include <dlfcn.h>
#include <stdio.h>

#include "dlsyms.h"

void *dl_open_symbols(const char *soname, const DlSymbol *syms, size_t n, void *table,
                      const char *expected, char *why, size_t len) {
        void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

        if (!h) {
                snprintf(why, len, "cannot load %s: %s", soname, dlerror());
                return NULL;
        }
        for (size_t i = 0; i < n; i++) {
                void *f = dlsym(h, syms[i].name);

                if (!f) {
                        snprintf(why, len, "%s lacks %s, expected %s", soname, syms[i].name,
                                 expected);
                        dlclose(h);
                        return NULL;
                }
                *(void **) ((char *) table + syms[i].offset) = f;
        }
        return h;
}
