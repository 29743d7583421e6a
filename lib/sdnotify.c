/*
 * sd_notify datagrams (see sdnotify.h).  Like systemd, a datagram is taken line by line, a
 * line without '=' is skipped, and the last value of a key wins.
 */
#include <errno.h>
#include <string.h>

#include "sdnotify.h"

static bool is(const char *line, size_t len, const char *assignment) {
        return len == strlen(assignment) && memcmp(line, assignment, len) == 0;
}

static bool prefix(const char *line, size_t len, const char *key) {
        return len >= strlen(key) && memcmp(line, key, strlen(key)) == 0;
}

/* Printable ASCII and anything above it (UTF-8 bytes) stay; control characters become '?'. */
static void copy_status(char *dst, size_t size, const char *src, size_t len) {
        size_t k;

        for (k = 0; k < len && k + 1 < size; k++)
                dst[k] = (unsigned char) src[k] < 0x20 || src[k] == 0x7f ? '?' : src[k];
        dst[k] = '\0';
}

static pid_t parse_pid(const char *s, size_t len) {
        long v = 0;

        if (len == 0 || len > 10)
                return 0;
        for (size_t k = 0; k < len; k++) {
                if (s[k] < '0' || s[k] > '9')
                        return 0;
                v = v * 10 + (s[k] - '0');
        }
        return v > 0 && v <= 0x7fffffff ? (pid_t) v : 0;
}

int sd_notify_parse(const char *buf, size_t n, SdNotify *ret) {
        bool any = false;

        *ret = (SdNotify) {};
        for (size_t at = 0; at < n;) {
                const char *line = buf + at, *nl = memchr(line, '\n', n - at);
                size_t len = nl ? (size_t) (nl - line) : n - at;

                at += len + 1;
                if (!memchr(line, '=', len))
                        continue;
                any = true;
                if (is(line, len, "READY=1"))
                        ret->ready = true;
                else if (is(line, len, "STOPPING=1"))
                        ret->stopping = true;
                else if (is(line, len, "RELOADING=1"))
                        ret->reloading = true;
                else if (is(line, len, "WATCHDOG=1"))
                        ret->watchdog = true;
                else if (is(line, len, "WATCHDOG=trigger"))
                        ret->watchdog_trigger = true;
                else if (prefix(line, len, "STATUS=")) {
                        ret->has_status = true;
                        copy_status(ret->status, sizeof ret->status, line + 7, len - 7);
                } else if (prefix(line, len, "MAINPID="))
                        ret->mainpid = parse_pid(line + 8, len - 8);
        }
        return any ? 0 : -EINVAL;
}

bool sd_notify_sender_ok(pid_t main, pid_t pid, pid_t session, const pid_t *ancestors,
                         size_t n) {
        if (main <= 0 || pid <= 0)
                return false;
        if (pid == main || session == main)
                return true;
        for (size_t k = 0; k < n; k++)
                if (ancestors[k] == main)
                        return true;
        return false;
}

SdMainPid sd_notify_mainpid(pid_t pid, pid_t main, pid_t self, bool member) {
        if (pid <= 0 || pid == main)
                return SD_MAINPID_NONE;
        if (pid == 1 || pid == self)
                return SD_MAINPID_SELF;
        return member ? SD_MAINPID_ADOPT : SD_MAINPID_FOREIGN;
}
