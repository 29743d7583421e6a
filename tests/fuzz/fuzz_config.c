/*
 * libFuzzer harness: the native configuration parser, conf_load() on the input's text as
 * conf_file_from_text() makes it (libconfuse, our validation callbacks and
 * conf_strip_comments(); a text that looks like a supervisord.conf goes through the translator
 * first, as in upkeepd).
 */
#include "conffile.h"
#include "config.h"
#include "fuzz-mem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc, (void) argv;
        fuzz_mem_init("upkeep.conf");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ConfFile f = {};
        Config *c = NULL;
        char *errors = NULL;
        int r;

        if (!fuzz_mem_allowed(data, size))
                return -1;
        r = conf_file_from_text(fuzz_path, (const char *) data, size, &f, &errors);
        if (r >= 0)
                r = conf_load(f.text, f.path, f.name, &c, &errors);
        if (r >= 0) {
                /* what upkeepd asks of every loaded configuration */
                for (size_t i = 0; i < c->n_workers; i++)
                        if (!c->workers[i].name || !c->workers[i].argv ||
                            !c->workers[i].argv[0])
                                abort();
                (void) conf_needs_http(c);
                conf_free(c);
        } else if (r != -ENOMEM && (!errors || !*errors)) {
                fprintf(stderr, "loading failed with %d and no message\n", r);
                abort();
        }
        conf_file_done(&f);
        free(errors);
        return 0;
}
