/*
 * libFuzzer harness: the native configuration parser, conf_load() on a file holding the input
 * (libconfuse, our validation callbacks and conf_strip_comments(); a file that looks like a
 * supervisord.conf goes through the translator first, as in upkeepd).
 */
#include "config.h"
#include "fuzz-file.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc, (void) argv;
        fuzz_file_init("upkeep.conf");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Config *c = NULL;
        char *errors = NULL;
        int r;

        if (!fuzz_file_allowed(data, size))
                return -1;
        fuzz_file_write(data, size);
        r = conf_load(fuzz_path, &c, &errors);
        if (r >= 0) {
                /* what upkeepd asks of every loaded configuration */
                for (size_t i = 0; i < c->n_workers; i++)
                        if (!c->workers[i].name || !c->workers[i].argv ||
                            !c->workers[i].argv[0])
                                abort();
                (void) conf_needs_http(c);
                conf_free(c);
        } else if (!errors || !*errors) {
                fprintf(stderr, "conf_load failed with %d and no message\n", r);
                abort();
        }
        free(errors);
        return 0;
}
