/* Function rows found by (name, DSO) through open addressing. */
#include "profile_index.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

/* Rebuilds the table with cap slots (a power of two above twice the rows). */
static void profile_index_resize(struct row_index *ix, size_t cap)
{
	size_t *slots = xcalloc(cap, sizeof *slots);
	for (size_t i = 0; i < *ix->n; i++) {
		struct func_row *r = &(*ix->rows)[i];
		size_t h = hash_two_strings(r->name, r->dso) & (cap - 1);
		while (slots[h])
			h = (h + 1) & (cap - 1);
		slots[h] = i + 1;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
}

/* The slot holding (name, dso), or the empty slot where it would go. */
static size_t profile_index_slot(const struct row_index *ix, const char *name, const char *dso)
{
	size_t h = hash_two_strings(name, dso) & (ix->cap - 1);
	for (; ix->slots[h]; h = (h + 1) & (ix->cap - 1)) {
		const struct func_row *r = &(*ix->rows)[ix->slots[h] - 1];
		if (strcmp(r->name, name) == 0 && strcmp(r->dso, dso) == 0)
			break;
	}
	return h;
}

static void profile_index_grow(struct row_index *ix)
{
	profile_index_resize(ix, ix->cap ? ix->cap * 2 : 256);
}

/* An index over rows that already exist (after they were sorted). */
void profile_index_build(struct row_index *ix)
{
	size_t cap = 256;
	while ((*ix->n + 1) * 2 > cap)
		cap *= 2;
	profile_index_resize(ix, cap);
}

struct func_row *profile_index_find(const struct row_index *ix, const char *name, const char *dso)
{
	size_t h = profile_index_slot(ix, name, dso);
	return ix->slots[h] ? &(*ix->rows)[ix->slots[h] - 1] : NULL;
}

struct func_row *profile_index_get(struct row_index *ix, const char *name, const char *dso)
{
	if ((*ix->n + 1) * 2 > ix->cap)
		profile_index_grow(ix);
	size_t h = profile_index_slot(ix, name, dso);
	if (ix->slots[h])
		return &(*ix->rows)[ix->slots[h] - 1];
	*ix->rows = xrealloc(*ix->rows, (*ix->n + 1) * sizeof **ix->rows);
	struct func_row *r = &(*ix->rows)[*ix->n];
	memset(r, 0, sizeof *r);
	r->name = name;
	r->dso = dso;
	ix->slots[h] = ++*ix->n;
	return r;
}

