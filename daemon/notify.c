/*
 * sd_notify for upkeepd (see notify.h).
 *
 * Readiness (global `ready =`): `started` (default) is reached once every autostart instance has
 * had its first spawn attempt, so one crash-looping worker does not hold the whole service in
 * "activating"; `healthy` waits until every autostart instance is RUNNING (and healthy, when it
 * has probes), or has ended in FATAL.  STATUS= is sent only when its text changes.  Watchdog
 * pings come from sd_event itself at the start of each loop iteration, so a stuck callback
 * stops them and systemd restarts us: exactly what the watchdog is for.
 */
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "looptime.h"
#include "notify.h"
#include "supervisor.h"

static bool ready_sent;
static char last_status[256];

static void watchdog_init(sd_event *e) {
        int r = sd_event_set_watchdog(e, true);

        if (r > 0)
                log_info("systemd watchdog enabled, pinging from the event loop");
        else if (r < 0)
                log_warning("cannot enable the systemd watchdog: %s, continuing without it",
                            strerror(-r));
}

static bool instance_ready(const Supervisor *s, const InstanceView *i) {
        if (!i->cfg->autostart)
                return true;
        if (sup_config(s)->ready == READY_STARTED)
                /* one that waits for its dependencies was started as far as upkeepd goes */
                return i->spawn_attempted || i->state == STATE_WAITING;
        if (i->state == STATE_FATAL || i->state == STATE_EXITED)
                return true;
        if (i->state != STATE_RUNNING)
                return false;
        return !i->probe->url || i->probe->state == HEALTH_HEALTHY ||
               i->probe->state == HEALTH_DEGRADED;
}

/* Update STATUS=, send READY=1 when readiness is first reached. */
static void notify_state_changed(Supervisor *s) {
        unsigned counts[_STATE_MAX] = { 0 };
        bool ready = true;
        char status[256];
        size_t n;
        Worker *const *workers = sup_workers(s, &n);

        for (size_t w = 0; w < n; w++)
                for (unsigned k = 0; k < worker_n_instances(workers[w]); k++) {
                        InstanceView i;

                        sup_instance_view(worker_instance(workers[w], k), &i);
                        counts[i.state]++;
                        ready = ready && instance_ready(s, &i);
                }
        snprintf(status, sizeof status,
                 "%u running, %u starting, %u backoff, %u fatal, %u stopped",
                 counts[STATE_RUNNING], counts[STATE_STARTING], counts[STATE_BACKOFF],
                 counts[STATE_FATAL],
                 counts[STATE_STOPPED] + counts[STATE_EXITED] + counts[STATE_STOPPING]);
        if (counts[STATE_WAITING] > 0) /* only then: the usual line stays as it was */
                snprintf(status + strlen(status), sizeof status - strlen(status), ", %u waiting",
                         counts[STATE_WAITING]);
        if (strcmp(status, last_status) != 0) {
                snprintf(last_status, sizeof last_status, "%s", status);
                (void) sd_notifyf(false, "STATUS=%s", status);
        }
        if (ready && !ready_sent && !sup_shutting_down(s)) {
                ready_sent = true;
                (void) sd_notify(false, "READY=1");
                log_info("ready: %s", status);
        }
}

static void notify_reloading(sd_event *e) {
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) loop_now(e));
}

static void notify_reloaded(Supervisor *s) {
        ready_sent = false;
        notify_state_changed(s);
        if (!ready_sent) {
                /* systemd waits for READY=1 after RELOADING=1 whatever our own readiness rule */
                ready_sent = true;
                (void) sd_notify(false, "READY=1");
        }
}

static void on_instance_changed(void *userdata, const Instance *i, InstanceState old) {
        (void) i, (void) old;
        notify_state_changed(userdata);
}

static void on_reloading(void *userdata) {
        notify_reloading(sup_event(userdata));
}

static void on_reloaded(void *userdata) {
        notify_reloaded(userdata);
}

static void on_stopping(void *userdata) {
        (void) userdata;
        (void) sd_notify(false, "STOPPING=1");
}

int notify_observe(Supervisor *s) {
        static const SupObserver ops = {
                .instance_changed = on_instance_changed,
                .reloading = on_reloading,
                .reloaded = on_reloaded,
                .stopping = on_stopping,
        };

        watchdog_init(sup_event(s));
        return sup_observe(s, &ops, s);
}
