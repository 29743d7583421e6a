#include "macro.h"
#include "restartreason.h"

static const char *const names[_RESTART_REASON_MAX] = {
        [RESTART_CRASH] = "crash",
        [RESTART_HEALTH] = "health",
        [RESTART_MEMORY] = "memory",
        [RESTART_MANUAL] = "manual",
        [RESTART_RELOAD] = "reload",
        [RESTART_SCHEDULE] = "schedule",
};

const char *restart_reason_to_string(RestartReason r) {
        return r >= 0 && r < _RESTART_REASON_MAX ? names[r] : NULL;
}
