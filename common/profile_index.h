/* Internal to common/: an index from (name, dso) to the function rows of a
 * profile, for the loaders that add counts to them. */
#ifndef PROF_PROFILE_INDEX_H
#define PROF_PROFILE_INDEX_H

#include "prof/profile.h"
#include "prof/u64_table.h"

#include <stddef.h>

struct row_index {
	struct func_row **rows;
	size_t *n;
	struct u64_table table; /* hash of (name, dso) -> row index */
};

/* An index over rows that already exist (after they were sorted). */
void profile_index_build(struct row_index *ix);
void profile_index_free(struct row_index *ix);
struct func_row *profile_index_find(const struct row_index *ix, const char *name, const char *dso);
/* The row of (name, dso), appended zeroed when there is none. */
struct func_row *profile_index_get(struct row_index *ix, const char *name, const char *dso);

/* The edge from caller to callee, appended with no calls when there is none. */
struct edge_row *profile_edge(struct profile *p, const char *caller, const char *caller_dso,
			      const char *callee, const char *callee_dso);

/* Functions entered by a jump (tail calls, PLT stubs): edges from the
 * function that jumped, and their inclusive counts (jumps.c). Call after
 * the arcs are loaded, before the inclusive counts are clamped to self. */
void profile_add_jumps(sqlite3 *db, const struct profile_filter *f, struct profile *p);

#endif
