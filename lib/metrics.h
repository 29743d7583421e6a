/*
 * The Prometheus text exposition format (version 0.0.4), rendered from plain structs.  Pure: the
 * collector (daemon/metrics.c) fills a MetricSet from the supervisor, the unit test
 * (tests/unit/test_metrics.c) fills one by hand.
 *
 * Each family is written as its # HELP and # TYPE lines, once, followed by its samples in the
 * order they were added; label values and help texts are escaped, values are printed so that
 * they read back as the same double, and the text ends with a newline.  No timestamps: the
 * scraper stamps the samples.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum MetricType {
        METRIC_GAUGE,
        METRIC_COUNTER,   /* its name ends in _total */
        METRIC_HISTOGRAM, /* samples name_bucket{le}, name_sum, name_count */
        _METRIC_TYPE_MAX,
} MetricType;

#define METRIC_MAX_LABELS 4

typedef struct MetricLabel {
        const char *name, *value;
} MetricLabel;

/* A family as metrics_family() added it: pass it to metrics_sample() for its samples. */
typedef struct MetricFamily {
        const char *name, *help;
        MetricType type;
        unsigned serial;          /* 0: not added (out of memory) */
} MetricFamily;

/*
 * The exposition being written: each family's HELP and TYPE when it is added, each sample at
 * once, so that a scrape of thousands of instances keeps no sample in memory, only the text.
 * Samples go to the family added last; one for another is refused (failed).  The strings are
 * only read while they are passed.
 */
typedef struct MetricSet {
        FILE *out;                /* a memory stream over text/len */
        char *text;
        size_t len;
        unsigned serial;          /* of the family added last */
        bool failed;              /* out of memory, or a sample out of order: no text */
} MetricSet;

/* Add a family (its HELP and TYPE lines); on failure (remembered) its serial is 0. */
MetricFamily metrics_family(MetricSet *s, const char *name, MetricType type, const char *help);
/* A sample of f, which must be the family added last (else the set fails), with n labels (at
 * most METRIC_MAX_LABELS). */
void metrics_sample(MetricSet *s, const MetricFamily *f, const char *suffix, double value,
                    const MetricLabel *labels, size_t n);
/* Frees what the set holds (the text too, unless metrics_render() handed it over). */
void metrics_set_done(MetricSet *s);

/* The exposition, NUL-terminated (*ret_len without the NUL), handed over to the caller (free()
 * it); NULL when anything failed. */
char *metrics_render(MetricSet *s, size_t *ret_len);

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names without ':' and not "__" first. */
bool metrics_name_valid(const char *name);
bool metrics_label_name_valid(const char *name);

/*
 * A latency histogram with fixed buckets (seconds), for health probes: counts per bucket (not
 * cumulative; the renderer sums them), the sum and the count.
 */
#define METRIC_LATENCY_BUCKETS 11
extern const double metric_latency_bounds[METRIC_LATENCY_BUCKETS];
typedef struct MetricHistogram {
        uint64_t buckets[METRIC_LATENCY_BUCKETS + 1]; /* the last: above every bound */
        uint64_t count;
        double sum;
} MetricHistogram;

void metric_histogram_observe(MetricHistogram *h, double seconds);
/* Its _bucket (with le="..."), _sum and _count samples in f, after the given labels (at most
 * METRIC_MAX_LABELS - 1). */
void metrics_histogram(MetricSet *s, const MetricFamily *f, const MetricHistogram *h,
                       const MetricLabel *labels, size_t n);
