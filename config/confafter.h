/*
 * The dependency graph of the configuration (`after`): each entry checked as it is parsed,
 * where it was set remembered, and the graph checked once every worker is known (names that
 * exist, no self, no cycle), its errors pointing at the line of the `after` concerned.
 */
#pragma once

#include <confuse.h>
#include <stdio.h>

#include "confmodel.h"

/* libconfuse's validate function of a worker's `after` */
int conf_after_validate(cfg_t *cfg, cfg_opt_t *opt);
/* The line where worker's `after` was set (0: nowhere), until conf_after_clear(). */
unsigned conf_after_line(const char *worker);
void conf_after_clear(void);
/* 0, or -EINVAL with "file:line: ..." written to errors; -ENOMEM. */
int conf_after_check(const Config *c, const char *shown, FILE *errors);
