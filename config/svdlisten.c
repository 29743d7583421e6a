/*
 * The event listeners the import translates (see svdlisten.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "svdlisten.h"
#include "svdvalue.h"

/* Does `events` (comma-separated) hold a process's end, and nothing but process states? */
static bool events_on_death(const char *events) {
        _cleanup_free_ char *v = strdup(events);
        char *tok, *save = NULL;
        bool death = false;

        if (!v)
                return false;
        for (tok = strtok_r(v, ", \t\r\n", &save); tok; tok = strtok_r(NULL, ", \t\r\n", &save)) {
                if (strcasecmp(tok, "PROCESS_STATE_FATAL") == 0 ||
                    strcasecmp(tok, "PROCESS_STATE_EXITED") == 0 ||
                    strcasecmp(tok, "PROCESS_STATE_STOPPED") == 0)
                        death = true;
                else if (strncasecmp(tok, "PROCESS_STATE", 13) != 0 && strcasecmp(tok, "TICK_5") &&
                         strcasecmp(tok, "TICK_60"))
                        return false;
        }
        return death;
}

/* Does the command stop supervisord?  kill -QUIT $PPID, supervisorctl shutdown, the
 * kill_supervisor.py / stop-supervisor.sh / supervisord-watchdog scripts of the field. */
static bool command_stops_supervisord(const char *cmd) {
        static const char *const words[] = { "kill", "shutdown", "stop-supervisor",
                                             "stop_supervisor", "watchdog" };

        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strcasestr(cmd, words[i]))
                        return true;
        return false;
}

static bool is_supervisor_stdout(const Section *s) {
        const Key *cmd = svd_find_key(s, "command"), *rh = svd_find_key(s, "result_handler");

        return (cmd && strstr(cmd->value, "supervisor_stdout")) ||
               (rh && strstr(rh->value, "supervisor_stdout"));
}

static int take_name(Parser *p, const Section *s, char **ret) {
        if (*ret)
                return 0; /* the first one names the translation */
        *ret = strdup(s->name);
        return *ret ? 0 : svd_fail(p, -ENOMEM, NO_FILE, 0, "out of memory");
}

int svd_read_listeners(Parser *p, Globals *g) {
        for (size_t i = 0; i < p->n_sections; i++) {
                const Section *s = &p->sections[i];
                const Key *cmd, *ev;
                int r;

                if (strncmp(s->name, "eventlistener:", 14) != 0)
                        continue;
                cmd = svd_find_key(s, "command");
                ev = svd_find_key(s, "events");
                if (is_supervisor_stdout(s)) {
                        r = take_name(p, s, &g->stdout_listener);
                        if (r < 0)
                                return r;
                        svd_warn(p, s->file, s->line, "[%s] supervisor_stdout: the programs with "
                                 "stdout_events_enabled or stderr_events_enabled write to "
                                 "upkeepd's standard output (log-dir = \"-\")", s->name);
                } else if (cmd && ev && events_on_death(ev->value) &&
                           command_stops_supervisord(cmd->value)) {
                        r = take_name(p, s, &g->stop_listener);
                        if (r < 0)
                                return r;
                        svd_warn(p, s->file, s->line, "[%s] stops supervisord when a program "
                                 "dies: translated as required = true on every program (upkeepd "
                                 "ends when one is FATAL or ends for good)", s->name);
                } else
                        svd_warn(p, s->file, s->line, "[%s] the event listener protocol is not "
                                 "supported by upkeep, ignoring this listener", s->name);
        }
        return 0;
}
