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

/* The memory stream, opened at the first family. */
static FILE *out(MetricSet *s) {
        if (!s->out && !s->failed) {
                s->out = open_memstream(&s->text, &s->len);
                s->failed = !s->out;
        }
        return s->failed ? NULL : s->out;
}

static void put_header(FILE *f, const MetricFamily *fam);

MetricFamily metrics_family(MetricSet *s, const char *name, MetricType type, const char *help) {
        MetricFamily fam = { .name = name, .help = help, .type = type };
        FILE *f = out(s);

        if (!f)
                return fam;
        fam.serial = ++s->serial;
        put_header(f, &fam);
        return fam;
}

static void put_sample(FILE *f, const MetricFamily *fam, const char *suffix, double value,
                       const MetricLabel *labels, size_t n);

void metrics_sample(MetricSet *s, const MetricFamily *f, const char *suffix, double value,
                    const MetricLabel *labels, size_t n) {
        /* the text format wants a family's samples together, after its header */
        if (f->serial == 0 || f->serial != s->serial || n > METRIC_MAX_LABELS) {
                s->failed = true;
                return;
        }
        if (out(s))
                put_sample(out(s), f, suffix, value, labels, n);
}

void metrics_set_done(MetricSet *s) {
        if (s->out)
                fclose(s->out);
        free(s->text);
        *s = (MetricSet) {};
}

/*
 * Integers (most values: counts, 0 and 1) as integers; others as the shortest of %.15g, %.16g
 * and %.17g that reads back as v; the format's spellings of NaN and the infinities.
 */
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
        if (fabs(v) < 1e15 && v == (double) (long long) v) {
                fprintf(f, "%lld", (long long) v);
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
static bool plain(char c, bool quote) {
        return (unsigned char) c < 0x80 && c != '\\' && c != '\n' && !(quote && c == '"');
}

static void put_escaped(FILE *f, const char *s, bool quote) {
        size_t len = strlen(s);

        for (size_t k = 0; k < len;) {
                bool valid;
                size_t n = 0;

                /* the common case: a run of ASCII that needs nothing, written at once */
                while (k + n < len && plain(s[k + n], quote))
                        n++;
                if (n > 0) {
                        fwrite(s + k, 1, n, f);
                        k += n;
                        continue;
                }
                n = utf8_sequence(s + k, len - k, &valid);
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

static void put_header(FILE *f, const MetricFamily *fam) {
        fprintf(f, "# HELP %s ", fam->name);
        put_escaped(f, fam->help ? fam->help : "", false);
        fprintf(f, "\n# TYPE %s %s\n", fam->name, type_names[fam->type]);
}

static void put_sample(FILE *f, const MetricFamily *fam, const char *suffix, double value,
                       const MetricLabel *labels, size_t n) {
        fputs(fam->name, f);
        if (suffix)
                fputs(suffix, f);
        for (size_t k = 0; k < n; k++) {
                fputc(k == 0 ? '{' : ',', f);
                fputs(labels[k].name, f);
                fputs("=\"", f);
                put_escaped(f, labels[k].value ? labels[k].value : "", true);
                fputc('"', f);
        }
        if (n > 0)
                fputc('}', f);
        fputc(' ', f);
        put_value(f, value);
        fputc('\n', f);
}

char *metrics_render(MetricSet *s, size_t *ret_len) {
        FILE *f = out(s);
        char *text;

        if (!f)
                return NULL;
        s->out = NULL;
        if (ferror(f) | (fclose(f) != 0)) {
                s->failed = true;
                return NULL;
        }
        if (s->failed)
                return NULL;
        text = s->text;
        if (ret_len)
                *ret_len = s->len;
        s->text = NULL;
        return text;
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

void metrics_histogram(MetricSet *s, const MetricFamily *f, const MetricHistogram *h,
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
