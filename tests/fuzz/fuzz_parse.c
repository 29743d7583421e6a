/*
 * libFuzzer harness: the small parsers of user-written values (include/parse.h) and
 * conf_parse_give_up().  The first byte chooses the parser, the rest is the value as a string.
 * Each result is checked for what its callers rely on.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char buf[64];
        char *s;

        if (size < 1)
                return -1;
        s = malloc(size);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';

        switch (data[0] % 9) {
        case 0: {
                usec_t d;
                if (parse_duration(s, &d) >= 0)
                        (void) format_duration(buf, sizeof buf, d);
                break;
        }
        case 1: {
                uint64_t v;
                (void) parse_size(s, &v);
                break;
        }
        case 2: {
                double f;
                if (parse_fraction(s, &f) >= 0 && !(f >= 0.0 && f <= 1.0))
                        abort();
                break;
        }
        case 3: {
                int sig;
                if (parse_signal(s, &sig) >= 0 && (sig <= 0 || sig >= 65))
                        abort();
                (void) signal_to_name(sig);
                break;
        }
        case 4: {
                char **argv = NULL;
                const char *err = NULL;
                if (argv_split(s, &argv, &err) >= 0) {
                        size_t total = 0;
                        if (!argv[0])
                                abort(); /* a command has a program */
                        for (char **p = argv; *p; p++)
                                total += strlen(*p);
                        if (total > strlen(s))
                                abort();
                        strv_free(argv);
                } else if (!err)
                        abort();
                break;
        }
        case 5: {
                char *out = NULL;
                unsigned line = 0, lines = 1;
                for (size_t i = 0; s[i]; i++)
                        lines += s[i] == '\n';
                if (conf_strip_comments(s, &out, &line) < 0) {
                        /* an unterminated comment opens on a line of the text */
                        if (!out && line > lines)
                                abort();
                        break;
                }
                /* same length, every newline kept: libconfuse's line numbers stay right */
                if (strlen(out) != strlen(s))
                        abort();
                for (size_t i = 0; s[i]; i++)
                        if ((s[i] == '\n') != (out[i] == '\n'))
                                abort();
                free(out);
                break;
        }
        case 6: {
                char *out = expand_instance(s, (unsigned) size * 2654435761u);
                free(out);
                break;
        }
        case 7: {
                unsigned n;
                usec_t w;
                if (conf_parse_give_up(s, &n, &w) >= 0 && (n < 1 || n > CFG_MAX_GIVE_UP))
                        abort();
                break;
        }
        case 8: {
                usec_t d;
                if (size - 1 >= sizeof d) {
                        memcpy(&d, data + 1, sizeof d);
                        (void) format_duration(buf, sizeof buf, d);
                }
                break;
        }
        }
        free(s);
        return 0;
}
