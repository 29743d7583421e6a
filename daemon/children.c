/*
 * The child registry (see children.h).
 *
 * Invariants:
 *   - a watched child's exit is noticed through its pidfd and collected with waitid(P_PIDFD),
 *     so a recycled pid can never be mistaken for it; without pidfds (kernels before 5.3,
 *     valgrind) it is collected by pid, still race-free since only this code reaps the pids it
 *     watches;
 *   - orphans are reaped by pid after a WNOWAIT peek, which never consumes the status of a
 *     process somebody watches;
 *   - with CHILD_KILL_GROUP, what is left of the group is SIGKILLed while the main process is
 *     still a zombie, so the group id cannot have been reused.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "children.h"
#include "log.h"
#include "macro.h"

typedef struct Child {
        Children *owner;
        pid_t pid;
        int pidfd;               /* -1 without pidfds */
        unsigned flags;
        ChildExited cb;
        void *userdata;
        sd_event_source *source; /* on the pidfd */
} Child;

struct Children {
        sd_event *event;
        Child **l;               /* a handful to a few thousand: a linear walk, as before */
        size_t n, cap;
        bool no_pidfd;
};

int children_new(sd_event *e, Children **ret) {
        Children *c = calloc(1, sizeof(Children));

        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(e);
        *ret = c;
        return 0;
}

static void child_free(Child *ch) {
        sd_event_source_disable_unref(ch->source);
        if (ch->pidfd >= 0)
                close(ch->pidfd);
        free(ch);
}

Children *children_free(Children *c) {
        if (!c)
                return NULL;
        for (size_t k = 0; k < c->n; k++)
                child_free(c->l[k]);
        free(c->l);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

bool children_no_pidfd(const Children *c) {
        return c->no_pidfd;
}

static size_t find(const Children *c, pid_t pid) {
        for (size_t k = 0; k < c->n; k++)
                if (c->l[k]->pid == pid)
                        return k;
        return c->n;
}

/* Out of the registry, before its callback runs: the callback may watch the next process. */
static void unlink_at(Children *c, size_t k) {
        c->l[k] = c->l[--c->n];
}

/*
 * An adopted main process: its status when it is our child (re-parented to upkeepd, or a zombie
 * of ours); when it is not (it ended while its parent still ran), its readable pidfd says it is
 * gone and nothing more can be known (*ret_unknown).  False while it runs.
 */
static bool adopted_collect(Child *ch, siginfo_t *si, bool *ret_unknown) {
        struct pollfd p = { .fd = ch->pidfd, .events = POLLIN };

        *ret_unknown = false;
        if (waitid(P_PIDFD, (id_t) ch->pidfd, si, WEXITED | WNOHANG) == 0)
                return si->si_pid != 0;
        if (errno != ECHILD || poll(&p, 1, 0) != 1)
                return false;
        *ret_unknown = true;
        return true;
}

/*
 * Collect ch's status if it has ended, then tell its owner.  Called from its pidfd source and
 * from the SIGCHLD scan, whichever comes first.
 */
static bool child_reap(Children *c, Child *ch) {
        idtype_t type = ch->pidfd >= 0 ? P_PIDFD : P_PID;
        id_t id = ch->pidfd >= 0 ? (id_t) ch->pidfd : (id_t) ch->pid;
        ChildExited cb = ch->cb;
        void *userdata = ch->userdata;
        unsigned flags = ch->flags;
        pid_t pid = ch->pid;
        siginfo_t si = { 0 };
        bool unknown = flags & CHILD_FOREIGN;

        if (flags & CHILD_FOREIGN)
                si.si_pid = pid; /* a readable pidfd: it is gone, nothing to collect */
        else if (flags & CHILD_ADOPTED) {
                if (!adopted_collect(ch, &si, &unknown))
                        return false;
        } else {
                if (waitid(type, id, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                        return false;
                /* still a zombie: kill what is left of its group before the pid is recycled */
                if (flags & CHILD_KILL_GROUP)
                        (void) kill(-pid, SIGKILL);
                si = (siginfo_t) { 0 };
                if (waitid(type, id, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                        return false;
        }
        unlink_at(c, find(c, pid));
        child_free(ch);
        cb(pid, unknown ? NULL : &si, userdata);
        return true;
}

static int on_pidfd(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Child *ch = userdata;

        (void) src, (void) fd, (void) revents;
        (void) child_reap(ch->owner, ch);
        return 0;
}

int children_watch(Children *c, pid_t pid, unsigned flags, ChildExited cb, void *userdata) {
        Child *ch;
        int r;

        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 16;
                Child **nl = reallocarray(c->l, cap, sizeof(Child *));

                if (!nl)
                        return -ENOMEM;
                c->l = nl;
                c->cap = cap;
        }
        ch = calloc(1, sizeof(Child));
        if (!ch)
                return -ENOMEM;
        *ch = (Child) { .owner = c, .pid = pid, .flags = flags, .cb = cb, .userdata = userdata };
        ch->pidfd = pidfd_open(pid, 0);
        if (ch->pidfd < 0 && errno == ENOSYS) {
                if (!c->no_pidfd)
                        log_notice("pidfd_open() is not available, watching children through "
                                   "SIGCHLD only");
                c->no_pidfd = true;
                if (flags & (CHILD_FOREIGN | CHILD_ADOPTED)) {
                        free(ch);
                        return -ENOSYS;
                }
        } else if (ch->pidfd < 0) {
                r = negative_errno();
                free(ch);
                return r;
        } else {
                r = sd_event_add_io(c->event, &ch->source, ch->pidfd, EPOLLIN, on_pidfd, ch);
                if (r < 0) {
                        child_free(ch);
                        return r;
                }
                (void) sd_event_source_set_description(ch->source, "child");
        }
        c->l[c->n++] = ch;
        return 0;
}

int children_signal(Children *c, pid_t pid, int sig) {
        size_t k = find(c, pid);

        if (k < c->n && c->l[k]->pidfd >= 0)
                return pidfd_send_signal(c->l[k]->pidfd, sig, NULL, 0) < 0 ? negative_errno() : 0;
        return kill(pid, sig) < 0 ? negative_errno() : 0;
}

void children_forget(Children *c, pid_t pid) {
        size_t k;

        if (!c || (k = find(c, pid)) == c->n)
                return;
        child_free(c->l[k]);
        unlink_at(c, k);
}

bool children_reap(Children *c, pid_t pid) {
        size_t k = find(c, pid);

        return k < c->n && child_reap(c, c->l[k]);
}

/* every orphan this process reaped: a reap is process-wide, whichever registry did it */
static uint64_t orphans_reaped;

uint64_t children_reaped_orphans(void) {
        return orphans_reaped;
}

unsigned children_scan(Children *c) {
        unsigned orphans = 0;

        for (;;) {
                siginfo_t si = { 0 };
                size_t k;

                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                        return orphans;
                k = find(c, si.si_pid);
                if (k < c->n && !(c->l[k]->flags & CHILD_FOREIGN)) {
                        if (!child_reap(c, c->l[k]))
                                return orphans; /* cannot happen: it is a zombie; do not spin */
                } else if (waitpid(si.si_pid, NULL, WNOHANG) > 0) {
                        orphans++;
                        orphans_reaped++;
                        log_debug("reaped orphan %d", (int) si.si_pid);
                }
        }
}
