/*
 * uk-confdump FILE: load a configuration as upkeepd does (a supervisord.conf through the
 * importer) and print what upkeepd understood, as one JSON object: the settings of every worker
 * that a comparison with another supervisor needs.  A test helper, not installed.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanexit.h"
#include "conffile.h"
#include "parse.h"

static json_t *strv_json(char *const *l) {
        json_t *a = json_array();

        for (; l && *l; l++)
                json_array_append_new(a, json_string(*l));
        return a;
}

/* The exit codes and signals on-failure takes for clean. */
static json_t *clean_json(const CleanExits *c) {
        json_t *codes = json_array(), *sigs = json_array();

        for (int i = 0; i < 256; i++)
                if (clean_exits_test(c, i, 0))
                        json_array_append_new(codes, json_integer(i));
        for (int s = 1; s < 65; s++)
                if (clean_exits_test(c, 0, s))
                        json_array_append_new(sigs, json_string(SIGNAL_NAME(s)));
        return json_pack("{s:o, s:o}", "codes", codes, "signals", sigs);
}

static json_t *worker_json(const WorkerConfig *w) {
        return json_pack("{s:s, s:o, s:s?, s:i, s:s, s:o, s:s, s:f, s:s?, s:s?, s:I, s:i, s:b, "
                         "s:i, s:b}",
                         "name", w->name, "argv", strv_json(w->argv), "directory", w->directory,
                         "umask", w->umask, "policy", restart_policy_to_string(w->policy),
                         "clean", clean_json(&w->clean), "stop_signal",
                         SIGNAL_NAME(w->stop_signal), "stop_timeout_s",
                         (double) w->stop_timeout / USEC_PER_SEC, "log_file", w->log_file,
                         "log_dir", w->log_dir, "log_max_size", (json_int_t) w->log.max_size,
                         "log_keep", (int) w->log.keep, "required", w->required, "instances",
                         (int) w->instances, "autostart", w->autostart);
}

int main(int argc, char **argv) {
        Config *c = NULL;
        char *errors = NULL, *warnings = NULL;
        json_t *workers, *root;

        if (argc != 2) {
                fprintf(stderr, "usage: uk-confdump FILE\n");
                return 2;
        }
        if (conf_load_file(argv[1], &c, &warnings, &errors) < 0) {
                fprintf(stderr, "%s", errors ? errors : "cannot load\n");
                return 2;
        }
        workers = json_array();
        for (size_t i = 0; i < c->n_workers; i++)
                json_array_append_new(workers, worker_json(&c->workers[i]));
        root = json_pack("{s:o, s:s?, s:s?}", "workers", workers, "log_file", c->log_file,
                         "warnings", warnings);
        json_dumpf(root, stdout, JSON_INDENT(1));
        putchar('\n');
        json_decref(root);
        conf_free(c);
        free(warnings);
        free(errors);
        return 0;
}
