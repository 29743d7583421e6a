/*
 * The state file that lets a restarted upkeepd find and stop the workers of one that died
 * (see state.c).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

typedef struct Supervisor Supervisor;
typedef struct StateFile StateFile;

/* "<socket without .sock>.state": /run/upkeep/upkeep.sock gives /run/upkeep/upkeep.state. */
char *state_default_path(const char *socket);
/*
 * The state file at path (NULL: none) observes s: it is saved 1 ms after the first change of a
 * burst, and the recovery below is hurried when upkeepd begins to stop.
 */
int state_file_new(Supervisor *s, const char *path, StateFile **ret);
/* Frees the recovery too (at exit): what is still alive is no longer watched. */
StateFile *state_file_free(StateFile *f);
int state_save(StateFile *f);
/*
 * Read the previous run's file, restore operator stops, stop leftover process groups, then call
 * done() (at once when there is nothing to stop, otherwise from the loop).
 */
int state_recover(StateFile *f, void (*done)(Supervisor *s));
uint64_t state_process_start_time(pid_t pid);
