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

bool u64_table_get(const struct u64_table *t, uint64_t key, uint64_t *val)
{
	if (!t->n)
		return false;
	size_t h = find(t, key);
	if (!t->keys[h])
		return false;
	if (val)
		*val = t->vals[h];
	return true;
}

static void grow(struct u64_table *t)
{
	struct u64_table old = *t;
	t->cap = old.cap ? 2 * old.cap : 16;
	t->keys = xcalloc(t->cap, sizeof *t->keys);
	t->vals = xcalloc(t->cap, sizeof *t->vals);
	t->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i])
			u64_table_put(t, old.keys[i] - 1, old.vals[i]);
	free(old.keys);
	free(old.vals);
}

void u64_table_put(struct u64_table *t, uint64_t key, uint64_t val)
{
	if ((t->n + 1) * 4 > t->cap * 3)
		grow(t);
	size_t h = find(t, key);
	if (!t->keys[h]) {
		t->keys[h] = key + 1;
		t->n++;
	}
	t->vals[h] = val;
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
