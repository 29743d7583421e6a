/*
 * The state file that lets a restarted upkeepd find and stop the workers of one that died
 * (see statefile.c).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

typedef struct Supervisor Supervisor;
typedef struct StateFile StateFile;

/* "<socket without .sock>.state": /run/upkeep/upkeep.sock gives /run/upkeep/upkeep.state. */
char *statefile_default_path(const char *socket);
/*
 * The state file at path (NULL: none) observes s: it is saved 1 ms after the first change of a
 * burst, and the recovery below is hurried when upkeepd begins to stop.
 */
int statefile_new(Supervisor *s, const char *path, StateFile **ret);
/* Frees the recovery too (at exit): what is still alive is no longer watched. */
StateFile *statefile_free(StateFile *f);
int statefile_save(StateFile *f);
/*
 * Read the previous run's file, restore operator stops, stop leftover process groups, then call
 * done() (at once when there is nothing to stop, otherwise from the loop).
 */
int statefile_recover(StateFile *f, void (*done)(Supervisor *s));
uint64_t statefile_process_start_time(pid_t pid);
