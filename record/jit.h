/* The files a process's JIT writes for profilers: /tmp/perf-PID.map and the
 * jit-PID.dump it maps. They are read while the program runs (before each
 * code change, so a name read belongs to the code it named) and when each
 * process ends (before its pid can be reused by another process that would
 * write the same file), and copied into the recording: reports never
 * depend on /tmp. Bad files are ignored or used in part, with one warning
 * line per file. */
#ifndef PROF_JIT_H
#define PROF_JIT_H

#include "prof/maps.h"

#include <stdbool.h>
#include <sys/types.h>

struct tracer;
struct proc;
struct jit_source;

struct jit_files {
	struct jit_source *perf_map;
	struct jit_source *jitdump;    /* once the program maps its jit-PID.dump */
	uid_t uid, euid;               /* the process's: its own files are believed */
	uint64_t jitdump_flags;        /* bit 0: timestamps are TSC, not CLOCK_MONOTONIC ns */
};

/* A new process image. from_start: it has not run yet, so a perf map
 * already there was left by an earlier process with the same pid, and only
 * what is written to it from now on counts. */
void jit_files_init(struct jit_files *jf, pid_t pid, bool from_start);
/* Notices the jit-PID.dump among the process's executable mappings. */
void jit_files_saw_maps(struct jit_files *jf, pid_t pid, const struct map_list *exec_maps);
/* Reads what the files gained; entries go to the recording. */
void jit_files_poll(struct tracer *tr, struct proc *p);
/* The process image ends: reads the rest, warns about bad input, frees. */
void jit_files_close(struct tracer *tr, struct proc *p);

#endif
