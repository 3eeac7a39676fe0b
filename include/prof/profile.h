/* A recording aggregated for reading: per function, DSO, class, thread and
 * syscall. report and diff both build on this one aggregation. */
#ifndef PROF_PROFILE_H
#define PROF_PROFILE_H

#include "prof/classes.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct profile_filter {
	int pid;   /* 0: every process */
	int tid;   /* 0: every thread */
};

struct func_row {
	const char *name, *dso;   /* owned by the profile's symbolizer or string pool */
	uint64_t count, inclusive;
	uint64_t classes[CLASS_COUNT];
};

struct syscall_row {
	long nr;
	const char *name;
	uint64_t calls, errors;
	double seconds;
};

/* Calls from one function to another, summed over call sites. */
struct edge_row {
	const char *caller, *caller_dso, *callee, *callee_dso;
	uint64_t calls, inclusive;
};

struct thread_row {
	int tid, pid;
	char *name;
	uint64_t count;
};

struct profile {
	char *mode, *command, *state;   /* state: complete, incomplete, recording */
	bool complete;
	double wall_seconds;
	uint64_t total;
	uint64_t classes[CLASS_COUNT];
	struct func_row *funcs;  size_t nfuncs;   /* sorted by count, descending */
	struct func_row *dsos;   size_t ndsos;    /* name = DSO; sorted likewise */
	struct syscall_row *sys; size_t nsys;     /* sorted by calls, descending */
	struct thread_row *threads; size_t nthreads;
	bool has_call_graph;                      /* arcs were recorded */
	struct edge_row *edges;  size_t nedges;   /* sorted by calls, descending */
	struct symbolizer *symbolizer;
	char **pool; size_t npool;   /* strings the profile owns */
};

/* Returns 0, or -1 after printing one error line. */
int profile_load(sqlite3 *db, const struct profile_filter *filter, struct profile *p);
void profile_free(struct profile *p);

#endif
