/* Internal to common/: the names a recording holds (schema 3, written at
 * the end of record by names_write.c), read back for report. */
#ifndef PROF_RECORDED_NAMES_H
#define PROF_RECORDED_NAMES_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct recorded_function {
	int64_t id;
	const char *name, *demangled;   /* demangled is NULL when it is not a C++/Rust name */
	const char *dso;                /* the DSO's path, or "[anon]", "[vdso]", ... */
	bool has_extent;
	uint64_t start, size;           /* link-time (runtime for code in no file) */
	size_t first_line, nlines;      /* its rows of source lines */
	size_t dso_id;                  /* filled in by the symbolizer */
};

struct recorded_names;

/* NULL after one error line. */
struct recorded_names *recorded_names_load(sqlite3 *db);
void recorded_names_free(struct recorded_names *rn);
/* The function the pc ran in, and pc - bias its link-time address. */
struct recorded_function *recorded_names_lookup(const struct recorded_names *rn, uint32_t proc,
						uint64_t pc, uint32_t gen, int64_t *bias);
/* Every function (for annotate's candidates). */
size_t recorded_names_count(const struct recorded_names *rn);
struct recorded_function *recorded_names_at(const struct recorded_names *rn, size_t i);
/* A source line recorded for the function's link-time address vaddr. */
bool recorded_names_line(const struct recorded_names *rn, const struct recorded_function *f,
			 uint64_t vaddr, const char **file, int *line);
/* The target of the direct jmp executed at pc; false when pc is no
 * executed direct jmp. */
bool recorded_names_jump(const struct recorded_names *rn, uint32_t proc, uint64_t pc, uint32_t gen,
			 uint64_t *target);
/* One process's ranges of one function: the (proc, gen, runtime start) of
 * its first range, for finding its code bytes. false when it never ran. */
bool recorded_names_where(const struct recorded_names *rn, const struct recorded_function *f,
			  uint32_t *proc, uint32_t *gen, uint64_t *runtime_start);

#endif
