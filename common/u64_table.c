#include "prof/u64_table.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

static size_t home(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find(const struct u64_table *t, uint64_t key)
{
	size_t h = home(key, t->cap);
	while (t->keys[h] && t->keys[h] != key + 1)
		h = (h + 1) & (t->cap - 1);
	return h;
}

/* The first empty slot of key's probe run: where a new entry goes. */
static size_t free_slot(const struct u64_table *t, uint64_t key)
{
	size_t h = home(key, t->cap);
	while (t->keys[h])
		h = (h + 1) & (t->cap - 1);
	return h;
}

uint64_t *u64_table_find(const struct u64_table *t, uint64_t key)
{
	if (!t->n)
		return NULL;
	size_t h = find(t, key);
	return t->keys[h] ? &t->vals[h] : NULL;
}

bool u64_table_get(const struct u64_table *t, uint64_t key, uint64_t *val)
{
	const uint64_t *v = u64_table_find(t, key);
	if (v && val)
		*val = *v;
	return v != NULL;
}

/* Moves every entry into cap slots. Entries go straight to a free slot, never
 * through put: in a table of hashes, equal keys are distinct entries. */
static void rehash(struct u64_table *t, size_t cap)
{
	struct u64_table old = *t;
	t->cap = cap;
	t->keys = xcalloc(t->cap, sizeof *t->keys);
	t->vals = xcalloc(t->cap, sizeof *t->vals);
	for (size_t i = 0; i < old.cap; i++) {
		if (old.keys[i]) {
			size_t h = free_slot(t, old.keys[i] - 1);
			t->keys[h] = old.keys[i];
			t->vals[h] = old.vals[i];
		}
	}
	free(old.keys);
	free(old.vals);
}

void u64_table_reserve(struct u64_table *t, size_t n)
{
	size_t cap = t->cap ? t->cap : 16;
	while (n * 4 > cap * 3)
		cap *= 2;
	if (cap != t->cap)
		rehash(t, cap);
}

uint64_t *u64_table_slot(struct u64_table *t, uint64_t key, bool *added)
{
	u64_table_reserve(t, t->n + 1);
	size_t h = find(t, key);
	bool missing = !t->keys[h];
	if (missing) {
		t->keys[h] = key + 1;
		t->vals[h] = 0;
		t->n++;
	}
	if (added)
		*added = missing;
	return &t->vals[h];
}

void u64_table_put(struct u64_table *t, uint64_t key, uint64_t val)
{
	*u64_table_slot(t, key, NULL) = val;
}

bool u64_table_remove(struct u64_table *t, uint64_t key)
{
	if (!t->n)
		return false;
	size_t h = find(t, key);
	if (!t->keys[h])
		return false;
	/* Shift later members of the probe run back so lookups never stop early. */
	size_t hole = h;
	for (size_t i = (h + 1) & (t->cap - 1); t->keys[i]; i = (i + 1) & (t->cap - 1)) {
		size_t want = home(t->keys[i] - 1, t->cap);
		bool movable = hole <= i ? (want <= hole || want > i) : (want <= hole && want > i);
		if (movable) {
			t->keys[hole] = t->keys[i];
			t->vals[hole] = t->vals[i];
			hole = i;
		}
	}
	t->keys[hole] = 0;
	t->n--;
	return true;
}

void u64_table_clear(struct u64_table *t)
{
	free(t->keys);
	free(t->vals);
	memset(t, 0, sizeof *t);
}

void u64_table_reset(struct u64_table *t)
{
	if (t->cap)
		memset(t->keys, 0, t->cap * sizeof *t->keys);
	t->n = 0;
}

void u64_table_copy(struct u64_table *dst, const struct u64_table *src)
{
	*dst = *src;
	if (!src->cap)
		return;
	dst->keys = xmalloc(src->cap * sizeof *dst->keys);
	dst->vals = xmalloc(src->cap * sizeof *dst->vals);
	memcpy(dst->keys, src->keys, src->cap * sizeof *dst->keys);
	memcpy(dst->vals, src->vals, src->cap * sizeof *dst->vals);
}

void u64_table_each(const struct u64_table *t, void (*fn)(uint64_t key, uint64_t val, void *ctx),
		    void *ctx)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->keys[i])
			fn(t->keys[i] - 1, t->vals[i], ctx);
}

/* A hash stored as is, but for UINT64_MAX, which would read as an empty
 * slot: it shares 0's probe run, and same() tells them apart. */
static uint64_t hash_key(uint64_t hash)
{
	return hash == UINT64_MAX ? 0 : hash;
}

bool u64_table_find_same(const struct u64_table *t, uint64_t hash,
			 bool (*same)(uint64_t val, const void *ctx), const void *ctx, uint64_t *val)
{
	if (!t->n)
		return false;
	uint64_t key = hash_key(hash);
	for (size_t h = home(key, t->cap); t->keys[h]; h = (h + 1) & (t->cap - 1)) {
		if (t->keys[h] == key + 1 && same(t->vals[h], ctx)) {
			if (val)
				*val = t->vals[h];
			return true;
		}
	}
	return false;
}

void u64_table_add(struct u64_table *t, uint64_t hash, uint64_t val)
{
	u64_table_reserve(t, t->n + 1);
	uint64_t key = hash_key(hash);
	size_t h = free_slot(t, key);
	t->keys[h] = key + 1;
	t->vals[h] = val;
	t->n++;
}
