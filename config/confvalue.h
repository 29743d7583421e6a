/*
 * The parse callbacks of config.c's typed values (durations, sizes, fractions, signals,
 * policies, modes, the names of kinds): each converts its value once, while libconfuse still
 * knows the line, and reports a bad one as "file:line: ..." through cfg_error().
 */
#pragma once

#include <confuse.h>

int cb_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_signal(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_policy(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_fraction(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_type(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_degraded(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_ready(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_sink_type(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_severity(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_event(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_umask(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_others(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_size(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_listen_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
int cb_on_failure(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
/* memory-limit, memory-warn: a size from 1M to the machine's memory */
int cb_memory(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
/* cpu-warn, cpu-limit: a percentage of one CPU, up to every CPU of the machine */
int cb_cpu(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result);
