/* Function rows found by (name, DSO) through the generic table, keyed by the
 * hash of the pair. */
#include "profile_index.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

struct row_key {
	const struct func_row *rows;
	const char *name, *dso;
};

static bool same_row(uint64_t i, const void *ctx)
{
	const struct row_key *k = ctx;
	return strcmp(k->rows[i].name, k->name) == 0 && strcmp(k->rows[i].dso, k->dso) == 0;
}

/* An index over rows that already exist (after they were sorted). */
void profile_index_build(struct row_index *ix)
{
	u64_table_reset(&ix->table);
	u64_table_reserve(&ix->table, *ix->n);
	for (size_t i = 0; i < *ix->n; i++) {
		const struct func_row *r = &(*ix->rows)[i];
		u64_table_add(&ix->table, hash_two_strings(r->name, r->dso), i);
	}
}

void profile_index_free(struct row_index *ix)
{
	u64_table_clear(&ix->table);
}

struct func_row *profile_index_find(const struct row_index *ix, const char *name, const char *dso)
{
	struct row_key k = { *ix->rows, name, dso };
	uint64_t i;
	if (!u64_table_find_same(&ix->table, hash_two_strings(name, dso), same_row, &k, &i))
		return NULL;
	return &(*ix->rows)[i];
}

struct func_row *profile_index_get(struct row_index *ix, const char *name, const char *dso)
{
	struct func_row *r = profile_index_find(ix, name, dso);
	if (r)
		return r;
	*ix->rows = xrealloc(*ix->rows, (*ix->n + 1) * sizeof **ix->rows);
	r = &(*ix->rows)[*ix->n];
	memset(r, 0, sizeof *r);
	r->name = name;
	r->dso = dso;
	u64_table_add(&ix->table, hash_two_strings(name, dso), (*ix->n)++);
	return r;
}
