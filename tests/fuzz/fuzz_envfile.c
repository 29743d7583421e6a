/*
 * libFuzzer harness: the env-file parser, envfile_parse(), straight from the input buffer (no
 * file: the reader's bounds are unit-tested).  Every assignment it returns must be NAME=value
 * with a non-empty name of letters, digits and '_'; an error must say where and never carry a
 * byte of the input past the path (values are secrets).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envfile.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char **env = NULL, err[256] = "";
        int r;

        r = envfile_parse((const char *) data, size, "f.env", &env, err, sizeof err);
        if (r < 0 && r != -EINVAL && r != -ENOMEM)
                abort();
        if (r == -EINVAL && strncmp(err, "f.env:", 6) != 0)
                abort();
        if (r == 0 && err[0])
                abort();
        for (char **e = env; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                if (!eq || eq == *e)
                        abort();
                for (const char *k = *e; k < eq; k++)
                        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
                              (*k >= '0' && *k <= '9') || *k == '_'))
                                abort();
        }
        strv_free(env);
        return 0;
}
