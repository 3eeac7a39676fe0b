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
	bool no_demangle;   /* keep C++/Rust symbol names as mangled */
};

struct func_row {
	const char *name, *dso;   /* owned by the profile's symbolizer or string pool */
	const char *dso_path;     /* full path of the DSO as mapped (functions only) */
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

/* Instructions of one source line in one function (profile_load_lines). */
struct line_row {
	const char *file;         /* NULL: no line information */
	int line;
	const char *function, *dso;
	uint64_t count;
};

/* Sample mode: one sampled stack of one thread, outermost frame first. */
struct stack_row {
	const char **names, **dsos;   /* depth entries each */
	size_t depth;
	uint64_t count;
};

struct thread_row {
	int tid, pid;
	char *name;
	uint64_t count;
};

struct profile {
	char *mode, *command, *state;   /* state: complete, incomplete, recording */
	char *killed_by;                /* the signal that killed the program ("SIGSEGV"), or NULL */
	char *collect;                  /* record --collect FUNC, or NULL */
	bool complete;
	double wall_seconds;
	uint64_t total;
	uint64_t classes[CLASS_COUNT];
	struct func_row *funcs;  size_t nfuncs;   /* sorted by count, descending */
	struct func_row *dsos;   size_t ndsos;    /* name = DSO; sorted likewise */
	struct syscall_row *sys; size_t nsys;     /* sorted by calls, descending */
	struct thread_row *threads; size_t nthreads;
	bool has_call_graph;                      /* arcs were recorded, or stacks sampled */
	bool sampled;                             /* sample mode: counts are samples */
	unsigned sample_freq;
	char *sample_clock;                       /* "cpu" or "wall" */
	struct edge_row *edges;  size_t nedges;   /* sorted by calls, descending */
	struct edge_row *roots;  size_t nroots;   /* caller "[root]": a thread's first frame */
	struct stack_row *stacks; size_t nstacks; /* sample mode: the sampled stacks */
	struct line_row *lines;  size_t nlines;   /* sorted by count; profile_load_lines */
	struct pc_row *pcs;      size_t npcs;     /* by DSO, function, address; profile_load_pcs */
	struct site_row *sites;  size_t nsites;   /* by caller DSO, function, call site */
	struct jump_row *jumps;  size_t njumps;   /* jumps counted as calls */
	struct symbolizer *symbolizer;
	char **pool; size_t npool;   /* strings the profile owns */
};

/* Per instruction and per call site, for exporters that show machine code
 * (profile_load_pcs). Positions are link-time addresses in the DSO (the
 * runtime pc where the code is in no ELF file), as objdump prints them. */
struct position {
	const char *function, *dso, *dso_path;
	uint64_t addr;
	const char *file;         /* NULL: no line information */
	int line;
};

struct pc_row {
	struct position at;
	uint64_t count;
};

/* Calls from one call instruction to one callee entry (threads' first
 * frames, which have no call site, are left out). */
struct site_row {
	struct position site, callee;
	uint64_t calls, inclusive;
};

/* A function entered by a jump, counted as called from the function that
 * jumped (common/jumps.c): one jump instruction of each pair of functions
 * stands for all of them. */
struct jump_row {
	uint32_t proc, site_gen;
	uint64_t site_pc;
	const char *callee, *callee_dso, *callee_path;
	uint64_t calls, inclusive;
};

/* Rows of a table x of the recording, joined to their thread and process
 * and filtered: "SELECT ... FROM insns x" PROFILE_FILTER_JOIN. NULL after
 * printing one error line. */
#define PROFILE_FILTER_JOIN " JOIN threads t ON t.id = x.thread JOIN processes p ON p.id = t.proc" \
			    " WHERE (?1 = 0 OR p.pid = ?1) AND (?2 = 0 OR t.tid = ?2)"
sqlite3_stmt *profile_query(sqlite3 *db, const char *sql, const struct profile_filter *f);

/* Returns 0, or -1 after printing one error line. */
int profile_load(sqlite3 *db, const struct profile_filter *filter, struct profile *p);
void profile_free(struct profile *p);
/* Adds per-source-line counts (DWARF) to a loaded profile. Returns 0 or -1. */
int profile_load_lines(sqlite3 *db, const struct profile_filter *filter, struct profile *p);
/* Adds per-instruction counts and per-call-site arcs. Returns 0 or -1. */
int profile_load_pcs(sqlite3 *db, const struct profile_filter *filter, struct profile *p);

#endif
