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

typedef struct MetricSample {
        const char *suffix;   /* NULL, or "_bucket", "_sum", "_count" in a histogram */
        MetricLabel labels[METRIC_MAX_LABELS];
        size_t n_labels;
        double value;
} MetricSample;

typedef struct MetricFamily {
        const char *name, *help;
        MetricType type;
        MetricSample *samples;
        size_t n_samples, n_alloc;
} MetricFamily;

/* The strings are borrowed: they must outlive the set's rendering. */
typedef struct MetricSet {
        MetricFamily *families;
        size_t n_families, n_alloc;
        bool oom;             /* an addition failed: metrics_render() returns NULL */
} MetricSet;

/*
 * Add a family; returns it, or NULL when out of memory (the set remembers, and the samples
 * added to NULL are dropped).  The pointer is valid until the next metrics_family().
 */
MetricFamily *metrics_family(MetricSet *s, const char *name, MetricType type, const char *help);
/* Add a sample to the family f (NULL: ignored) with n labels. */
void metrics_sample(MetricSet *s, MetricFamily *f, const char *suffix, double value,
                    const MetricLabel *labels, size_t n);
void metrics_set_done(MetricSet *s);

/* The exposition, NUL-terminated (*ret_len without the NUL); NULL when out of memory. */
char *metrics_render(const MetricSet *s, size_t *ret_len);

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
void metrics_histogram(MetricSet *s, MetricFamily *f, const MetricHistogram *h,
                       const MetricLabel *labels, size_t n);
