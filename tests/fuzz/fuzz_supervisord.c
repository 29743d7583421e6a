/*
 * libFuzzer harness: the supervisord.conf translator, svd_convert() on a file holding the input.
 * Its invariant is checked too: text it returns must load with conf_load() (the same path
 * upkeepd takes), so a translation that writes something config.c refuses is a finding.
 */
#include "config.h"
#include "fuzz-file.h"
#include "supervisord.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc, (void) argv;
        fuzz_file_init("supervisord.conf");
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = NULL, *warnings = NULL, *errors = NULL;
        Config *c = NULL;
        int r;

        if (!fuzz_file_allowed(data, size))
                return -1;
        fuzz_file_write(data, size);
        r = svd_convert(fuzz_path, &text, &warnings);
        if (!warnings) {
                fprintf(stderr, "svd_convert returned %d and no message\n", r);
                abort();
        }
        if (r >= 0 && svd_detect(fuzz_path)) {
                if (conf_load(fuzz_path, &c, &errors) < 0) {
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
