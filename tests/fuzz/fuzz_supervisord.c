/*
 * libFuzzer harness: the supervisord.conf translator, svd_convert_text() on the input.  Its
 * invariant is checked too: text it returns for a file upkeepd would take for a supervisord.conf
 * must load with conf_load() (the same path upkeepd takes), so a translation that writes
 * something config.c refuses is a finding.
 */
#include "config.h"
#include "fuzz-mem.h"
#include "supervisord.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc, (void) argv;
        fuzz_mem_init("supervisord.conf");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = NULL, *warnings = NULL, *errors = NULL;
        Config *c = NULL;
        int r;

        if (!fuzz_mem_allowed(data, size))
                return -1;
        r = svd_convert_text(fuzz_path, (const char *) data, size, &text, &warnings);
        if (!warnings) {
                fprintf(stderr, "svd_convert_text returned %d and no message\n", r);
                abort();
        }
        if (r >= 0 && svd_detect_text((const char *) data, size)) {
                if (conf_load(text, fuzz_path, NULL, &c, &errors) < 0) {
                        fprintf(stderr, "converted text refused by conf_load:\n%s\n--- text:\n%s\n",
                                errors, text);
                        abort();
                }
                conf_free(c);
        }
        free(text);
        free(warnings);
        free(errors);
        return 0;
}
