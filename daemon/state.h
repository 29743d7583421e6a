/*
 * The state file that lets a restarted upkeepd find and stop the workers of one that died
 * (see state.c).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

typedef struct Supervisor Supervisor;
typedef struct StateRecovery StateRecovery;

/* "<socket without .sock>.state": /run/upkeep/upkeep.sock gives /run/upkeep/upkeep.state. */
char *state_default_path(const char *socket);
int state_save(Supervisor *s);
/*
 * Read the previous run's file, restore operator stops, stop leftover process groups, then call
 * done() (at once when there is nothing to stop, otherwise from the loop).
 */
int state_recover(Supervisor *s, void (*done)(Supervisor *s));
/*
 * upkeepd is stopping during the recovery: SIGKILL the leftovers, exit when they are gone, or
 * after a bounded wait with the survivors kept in the state file.
 */
void state_recovery_kill(Supervisor *s);
/* Free the recovery (at exit): what is still alive is no longer watched. */
void state_recovery_abort(Supervisor *s);
uint64_t state_process_start_time(pid_t pid);
