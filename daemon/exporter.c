/*
 * The textfile (for node_exporter's textfile collector) and the HTTP listener, as metrics { }
 * says.  The textfile is written to a temporary name beside it and renamed over it, so a reader
 * sees the previous text or the new one, never half of one; it carries no timestamps (the
 * textfile collector refuses them).  A failure is logged once, and its end once.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "exporter.h"
#include "log.h"
#include "logfile.h"
#include "looptime.h"
#include "supervisor.h"
#include "webserver.h"

struct Exporter {
        Supervisor *sup;
        Alerts *alerts;
        char *textfile;          /* NULL: none */
        usec_t interval;
        sd_event_source *timer;
        bool failing;            /* the last write failed (logged once) */
        char *listen;            /* what web was opened on; NULL: no listener */
        char *token_file;
        WebServer *web;
};

static char *mfree(char *p) {
        free(p);
        return NULL;
}

static int write_textfile(Exporter *x) {
        _cleanup_free_ char *text = NULL, *tmp = NULL;
        size_t len;
        int fd, r;

        text = collector_text(x->sup, x->alerts, &len);
        if (!text || asprintf(&tmp, "%s.tmp.%d", x->textfile, (int) getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        r = logfile_write_full(fd, text, len);
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, x->textfile) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Exporter *x = userdata;
        int r;

        r = write_textfile(x);
        if (r < 0 && !x->failing)
                log_warning("metrics: cannot write %s: %s (retrying every %llu s)", x->textfile,
                            strerror(-r), (unsigned long long) (x->interval / USEC_PER_SEC));
        else if (r == 0 && x->failing)
                log_notice("metrics: %s written again", x->textfile);
        x->failing = r < 0;
        (void) sd_event_source_set_time(s, usec + x->interval);
        return 0;
}

static void stop_textfile(Exporter *x) {
        x->timer = sd_event_source_disable_unref(x->timer);
        x->textfile = mfree(x->textfile);
}

static void stop_web(Exporter *x) {
        x->web = webserver_free(x->web);
        x->listen = mfree(x->listen);
        x->token_file = mfree(x->token_file);
}

static bool same(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The textfile now and every interval; the listener (re)opened when its settings changed. */
static int apply(Exporter *x, const MetricsConfig *m) {
        sd_event *e = sup_event(x->sup);
        int r;

        stop_textfile(x);
        x->failing = false;
        if (m->textfile) {
                x->textfile = strdup(m->textfile);
                x->interval = m->textfile_interval;
                if (!x->textfile)
                        return -ENOMEM;
                r = sd_event_add_time(e, &x->timer, CLOCK_MONOTONIC, loop_now(e), 0, on_timer, x);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_enabled(x->timer, SD_EVENT_ON); /* not once only */
        }
        if (x->web && same(x->listen, m->listen) && same(x->token_file, m->token_file))
                return webserver_reload_token(x->web);
        stop_web(x);
        if (!m->listen)
                return 0;
        x->listen = strdup(m->listen);
        x->token_file = m->token_file ? strdup(m->token_file) : NULL;
        if (!x->listen || (m->token_file && !x->token_file))
                return -ENOMEM;
        return webserver_new(e, x->sup, x->alerts, m->listen, m->token_file, &x->web);
}

static void on_config_applied(void *userdata, const Config *c, Http *http) {
        Exporter *x = userdata;
        int r;

        (void) http;
        r = apply(x, &c->metrics);
        if (r < 0)
                log_error("metrics: cannot apply the new settings: %s", strerror(-r));
}

static void on_stopping(void *userdata) {
        Exporter *x = userdata;

        stop_textfile(x);
        stop_web(x);
}

static const SupObserver exporter_observer = {
        .config_applied = on_config_applied,
        .stopping = on_stopping,
};

int exporter_new(Supervisor *s, Alerts *alerts, Exporter **ret) {
        Exporter *x = calloc(1, sizeof *x);
        int r;

        if (!x)
                return -ENOMEM;
        /*
         * The text of a scrape is 1.2 KiB per instance, a megabyte for 1000: allocated and freed
         * at every scrape.  glibc raises its mmap threshold to the size of a freed mapping, after
         * which such buffers come from the heap and stay in upkeepd's RSS once freed; a fixed
         * threshold keeps them mappings, given back to the kernel as soon as they are freed.
         */
        if (sup_config(s)->metrics.listen || sup_config(s)->metrics.textfile)
                (void) mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        *x = (Exporter) { .sup = s, .alerts = alerts };
        r = apply(x, &sup_config(s)->metrics);
        if (r >= 0)
                r = sup_observe(s, &exporter_observer, x);
        if (r < 0) {
                exporter_free(x);
                return r;
        }
        *ret = x;
        return 0;
}

Exporter *exporter_free(Exporter *x) {
        if (!x)
                return NULL;
        stop_textfile(x);
        stop_web(x);
        free(x);
        return NULL;
}
