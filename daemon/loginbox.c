/*
 * The way back to the loop (see loginbox.h).  The threads never block on the loop: a message
 * is copied into a bounded queue under a short lock, an entry is linked once however many
 * flags it gets, and the eventfd is written; the loop takes everything in one go.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include "loginbox.h"

#define MSG_QUEUE 64

typedef struct Msg {
        int level;
        bool has_label;
        char label[80];
        char event[32];
        char file[256];
        char text[400];
} Msg;

static struct {
        pthread_mutex_t lock;
        InboxEntry *entries;
        Msg msgs[MSG_QUEUE];
        unsigned n_msgs, lost;
        int efd;
        sd_event_source *src;
        inbox_report_t report;
        inbox_deliver_t deliver;
} I = { .lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

static void inbox_kick(void) {
        (void) eventfd_write(I.efd, 1);
}

void inbox_push(InboxEntry *e, unsigned flags) {
        pthread_mutex_lock(&I.lock);
        if (e->flags == 0) {
                e->next = I.entries;
                I.entries = e;
        }
        e->flags |= flags;
        pthread_mutex_unlock(&I.lock);
        inbox_kick();
}

void inbox_postv(int level, const char *label, const char *event, const char *file,
                 const char *fmt, va_list ap) {
        Msg *m;

        pthread_mutex_lock(&I.lock);
        if (I.n_msgs >= MSG_QUEUE) {
                I.lost++;
                pthread_mutex_unlock(&I.lock);
                return;
        }
        m = &I.msgs[I.n_msgs++];
        m->level = level;
        m->has_label = label;
        snprintf(m->label, sizeof m->label, "%s", label ?: "");
        snprintf(m->event, sizeof m->event, "%s", event);
        snprintf(m->file, sizeof m->file, "%s", file);
        vsnprintf(m->text, sizeof m->text, fmt, ap);
        pthread_mutex_unlock(&I.lock);
        inbox_kick();
}

void inbox_report(int level, const char *fmt, ...) {
        char text[sizeof(((Msg *) NULL)->text)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        if (I.report)
                I.report(level, NULL, NULL, NULL, text);
}

/* Log what the threads reported, then hand each entry its flags. */
void inbox_process(void) {
        static Msg msgs[MSG_QUEUE];
        unsigned n, lost;
        InboxEntry *l;

        pthread_mutex_lock(&I.lock);
        n = I.n_msgs;
        memcpy(msgs, I.msgs, n * sizeof(Msg));
        I.n_msgs = 0;
        lost = I.lost;
        I.lost = 0;
        l = I.entries;
        I.entries = NULL;
        pthread_mutex_unlock(&I.lock);

        for (unsigned k = 0; k < n; k++)
                if (I.report)
                        I.report(msgs[k].level, msgs[k].has_label ? msgs[k].label : NULL,
                                 msgs[k].event, msgs[k].file, msgs[k].text);
        if (lost > 0)
                inbox_report(LOG_WARNING, "log writer: %u messages lost", lost);
        while (l) {
                InboxEntry *e = l;
                unsigned flags;

                l = e->next; /* stable while its flags are set */
                pthread_mutex_lock(&I.lock);
                flags = e->flags;
                e->flags = 0;
                pthread_mutex_unlock(&I.lock);
                I.deliver(e, flags);
        }
}

static int on_inbox(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        eventfd_t v;

        (void) src, (void) revents, (void) userdata;
        (void) eventfd_read(fd, &v);
        inbox_process();
        return 0;
}

int inbox_start(sd_event *e, inbox_report_t report, inbox_deliver_t deliver) {
        int r;

        I.report = report;
        I.deliver = deliver;
        I.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (I.efd < 0)
                return -errno;
        r = sd_event_add_io(e, &I.src, I.efd, EPOLLIN, on_inbox, NULL);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(I.src, "log-writer");
        return 0;
}

void inbox_stop(void) {
        I.src = sd_event_source_disable_unref(I.src);
}

void inbox_close(void) {
        if (I.efd >= 0)
                close(I.efd);
        I.efd = -1;
}
