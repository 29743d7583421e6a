/*
 * The Prometheus text format (see metrics.h): https://prometheus.io/docs/instrumenting/
 * exposition_formats/.  Written into a memory stream: the text for 1000 workers is a few
 * hundred kilobytes, built once per scrape.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics.h"
#include "utf8.h"

const double metric_latency_bounds[METRIC_LATENCY_BUCKETS] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static const char *const type_names[_METRIC_TYPE_MAX] = {
        [METRIC_GAUGE] = "gauge",
        [METRIC_COUNTER] = "counter",
        [METRIC_HISTOGRAM] = "histogram",
};

static bool grow(void **p, size_t *n_alloc, size_t want, size_t size) {
        size_t n;
        void *q;

        if (want <= *n_alloc)
                return true;
        n = MAX(*n_alloc * 2, (size_t) 16);
        q = reallocarray(*p, n, size);
        if (!q)
                return false;
        *p = q;
        *n_alloc = n;
        return true;
}

MetricFamily *metrics_family(MetricSet *s, const char *name, MetricType type, const char *help) {
        MetricFamily *f;

        if (!grow((void **) &s->families, &s->n_alloc, s->n_families + 1, sizeof(MetricFamily))) {
                s->oom = true;
                return NULL;
        }
        f = &s->families[s->n_families++];
        *f = (MetricFamily) { .name = name, .help = help, .type = type };
        return f;
}

void metrics_sample(MetricSet *s, MetricFamily *f, const char *suffix, double value,
                    const MetricLabel *labels, size_t n) {
        MetricSample *m;

        if (!f)
                return;
        if (!grow((void **) &f->samples, &f->n_alloc, f->n_samples + 1, sizeof(MetricSample))) {
                s->oom = true;
                return;
        }
        m = &f->samples[f->n_samples++];
        *m = (MetricSample) { .suffix = suffix, .value = value, .n_labels = MIN(n, (size_t) METRIC_MAX_LABELS) };
        for (size_t k = 0; k < m->n_labels; k++)
                m->labels[k] = labels[k];
}

void metrics_set_done(MetricSet *s) {
        for (size_t k = 0; k < s->n_families; k++)
                free(s->families[k].samples);
        free(s->families);
        *s = (MetricSet) {};
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v; the spellings of the format for the rest. */
static void put_value(FILE *f, double v) {
        char buf[32];

        if (isnan(v)) {
                fputs("NaN", f);
                return;
        }
        if (isinf(v)) {
                fputs(v > 0 ? "+Inf" : "-Inf", f);
                return;
        }
        snprintf(buf, sizeof buf, "%.15g", v);
        if (strtod(buf, NULL) != v)
                snprintf(buf, sizeof buf, "%.16g", v);
        if (strtod(buf, NULL) != v)
                snprintf(buf, sizeof buf, "%.17g", v);
        fputs(buf, f);
}

/*
 * Label values: backslash, double quote and newline escaped; HELP texts: backslash and newline.
 * The text must be UTF-8: an invalid byte becomes U+FFFD (a configured name may hold anything).
 */
static void put_escaped(FILE *f, const char *s, bool quote) {
        size_t len = strlen(s);

        for (size_t k = 0; k < len;) {
                bool valid;
                size_t n = utf8_sequence(s + k, len - k, &valid);

                if (!valid)
                        fputs("\xef\xbf\xbd", f);
                else if (s[k] == '\\')
                        fputs("\\\\", f);
                else if (s[k] == '\n')
                        fputs("\\n", f);
                else if (quote && s[k] == '"')
                        fputs("\\\"", f);
                else
                        fwrite(s + k, 1, n, f);
                k += n ? n : 1;
        }
}

static void put_sample(FILE *f, const MetricFamily *fam, const MetricSample *m) {
        fputs(fam->name, f);
        if (m->suffix)
                fputs(m->suffix, f);
        for (size_t k = 0; k < m->n_labels; k++) {
                fputc(k == 0 ? '{' : ',', f);
                fputs(m->labels[k].name, f);
                fputs("=\"", f);
                put_escaped(f, m->labels[k].value ? m->labels[k].value : "", true);
                fputc('"', f);
        }
        if (m->n_labels > 0)
                fputc('}', f);
        fputc(' ', f);
        put_value(f, m->value);
        fputc('\n', f);
}

char *metrics_render(const MetricSet *s, size_t *ret_len) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        if (s->oom)
                return NULL;
        f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        for (size_t k = 0; k < s->n_families; k++) {
                const MetricFamily *fam = &s->families[k];

                fprintf(f, "# HELP %s ", fam->name);
                put_escaped(f, fam->help ? fam->help : "", false);
                fprintf(f, "\n# TYPE %s %s\n", fam->name, type_names[fam->type]);
                for (size_t n = 0; n < fam->n_samples; n++)
                        put_sample(f, fam, &fam->samples[n]);
        }
        if (ferror(f)) {
                fclose(f);
                free(buf);
                return NULL;
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        if (ret_len)
                *ret_len = len;
        return buf;
}

static bool name_valid(const char *name, bool colon) {
        if (!name || !*name || (name[0] >= '0' && name[0] <= '9'))
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || (colon && *p == ':')))
                        return false;
        return true;
}

bool metrics_name_valid(const char *name) {
        return name_valid(name, true);
}

bool metrics_label_name_valid(const char *name) {
        return name_valid(name, false) && strncmp(name, "__", 2) != 0;
}

void metric_histogram_observe(MetricHistogram *h, double seconds) {
        size_t k = 0;

        while (k < METRIC_LATENCY_BUCKETS && seconds > metric_latency_bounds[k])
                k++;
        h->buckets[k]++;
        h->count++;
        h->sum += seconds;
}

void metrics_histogram(MetricSet *s, MetricFamily *f, const MetricHistogram *h,
                       const MetricLabel *labels, size_t n) {
        /* le values as Prometheus' own clients spell them */
        static const char *const le[METRIC_LATENCY_BUCKETS + 1] = {
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
                "+Inf",
        };
        MetricLabel l[METRIC_MAX_LABELS];
        uint64_t cumulative = 0;

        n = MIN(n, (size_t) METRIC_MAX_LABELS - 1);
        memcpy(l, labels, n * sizeof *l);
        for (size_t k = 0; k <= METRIC_LATENCY_BUCKETS; k++) {
                cumulative += h->buckets[k];
                l[n] = (MetricLabel) { "le", le[k] };
                metrics_sample(s, f, "_bucket", (double) cumulative, l, n + 1);
        }
        metrics_sample(s, f, "_sum", h->sum, labels, n);
        metrics_sample(s, f, "_count", (double) h->count, labels, n);
}
