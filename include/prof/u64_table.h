/* One open-addressing hash table for the tracer's and the report's lookups
 * keyed by a 64-bit number (an address, an id): linear probing, power-of-two
 * capacity, grown at 3/4 full, backward-shift deletion (no tombstones). */
#ifndef PROF_U64_TABLE_H
#define PROF_U64_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64_table {
	uint64_t *keys;     /* key + 1; 0 marks an empty slot */
	uint64_t *vals;
	size_t cap, n;
};

/* The key UINT64_MAX is not allowed (it would read as empty). */
bool u64_table_get(const struct u64_table *t, uint64_t key, uint64_t *val);
/* Inserts or replaces. */
void u64_table_put(struct u64_table *t, uint64_t key, uint64_t val);
/* Returns whether the key was there. */
bool u64_table_remove(struct u64_table *t, uint64_t key);
void u64_table_clear(struct u64_table *t);
/* A copy with its own storage. */
void u64_table_copy(struct u64_table *dst, const struct u64_table *src);
/* Calls fn for every entry, in no particular order. */
void u64_table_each(const struct u64_table *t, void (*fn)(uint64_t key, uint64_t val, void *ctx),
		    void *ctx);

#endif
