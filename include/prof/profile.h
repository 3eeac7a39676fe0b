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
	int part;  /* 0: the whole run; else one part (a period the program dumped) */
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

/* A part of the recording: the program ended it with a dump (valgrind's
 * CALLGRIND_DUMP_STATS[_AT]), or the recording's end did. */
struct part_row {
	int number;               /* from 1, in order */
	const char *name;         /* the program's name for it; NULL: none (known by number) */
	uint64_t count;           /* instructions counted in it (pid and tid filters applied) */
};

struct thread_row {
	int tid, pid;
	char *name;
	uint64_t count;
};

/* What the recorded program saw (record --cpu, --no-aslr, --reproducible);
 * every field NULL in a recording older than these. */
struct profile_cpu {
	char *model;                    /* "host", "x86-64-v3", ... */
	char *host_vendor, *host_name;  /* "AuthenticAMD", "AMD EPYC" */
	char *host_level;               /* the highest psABI level the host has */
	char *host_features;            /* space separated */
	char *interception;             /* how prof answered cpuid and xgetbv */
	char *aslr;                     /* "on" or "off" */
	char *environment;              /* "inherited" or "fixed" */
};

struct profile {
	char *mode, *command, *state;   /* state: complete, incomplete, recording */
	struct profile_cpu cpu;
	char *killed_by;                /* the signal that killed the program ("SIGSEGV"), or NULL */
	char *collect;                  /* record --collect FUNC, or NULL */
	char *lost;                     /* what cost exactness: "KIND N, KIND N", or NULL */
	uint64_t nlost;                 /* how many such events */
	bool complete;
	double wall_seconds;
	uint64_t total;
	uint64_t classes[CLASS_COUNT];
	struct func_row *funcs;  size_t nfuncs;   /* sorted by count, descending */
	struct func_row *dsos;   size_t ndsos;    /* name = DSO; sorted likewise */
	struct syscall_row *sys; size_t nsys;     /* sorted by calls, descending */
	struct thread_row *threads; size_t nthreads;
	struct part_row *parts;  size_t nparts;   /* every part, in order (at least one) */
	int part;                                 /* the part loaded; 0: the whole run */
	bool has_call_graph;                      /* arcs were recorded, or stacks sampled */
	bool jump_frames;                         /* tail calls and PLT jumps opened frames when recorded */
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

/* How the CPU the program saw reads in one line ("x86-64-v3", or "the
 * host's AMD EPYC (AuthenticAMD, x86-64-v4)"); NULL for an older recording.
 * Caller frees. */
char *profile_cpu_seen(const struct profile_cpu *c);

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
/* ... and of the part chosen (?3), for the tables that have parts: insns,
 * arcs, syscalls. */
#define PROFILE_PART_FILTER_JOIN PROFILE_FILTER_JOIN " AND (?3 = 0 OR x.part = ?3)"
sqlite3_stmt *profile_query(sqlite3 *db, const char *sql, const struct profile_filter *f);

/* Returns 0, or -1 after printing one error line. */
int profile_load(sqlite3 *db, const struct profile_filter *filter, struct profile *p);
/* Only the parts, into a zeroed profile (profile_free frees them). */
int profile_load_parts(sqlite3 *db, const struct profile_filter *filter, struct profile *p);
/* The part a user names: a part's name, else its number. Returns the
 * number, 0 when there is no such part (err says which there are), or -1
 * after one error line. */
int profile_find_part(sqlite3 *db, const char *arg, char *err, size_t errlen);
/* A part's name for people: its own, else its number ("3"); buf holds the latter. */
const char *profile_part_label(const struct part_row *r, char *buf, size_t len);
void profile_free(struct profile *p);
/* Adds per-source-line counts (DWARF) to a loaded profile. Returns 0 or -1. */
int profile_load_lines(sqlite3 *db, const struct profile_filter *filter, struct profile *p);
/* Adds per-instruction counts and per-call-site arcs. Returns 0 or -1. */
int profile_load_pcs(sqlite3 *db, const struct profile_filter *filter, struct profile *p);

#endif
