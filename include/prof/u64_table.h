/* One open-addressing hash table for the tracer's, the writer's and the
 * report's lookups keyed by a 64-bit number (an address, an id) or by the
 * 64-bit hash of a wider key: linear probing, power-of-two capacity, grown at
 * 3/4 full, backward-shift deletion (no tombstones). */
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

/* Value slots, to update a value in place without a second lookup. A slot
 * stays put until the table grows (put, add, reserve) or loses an entry. */
/* The slot of key, or NULL. */
uint64_t *u64_table_find(const struct u64_table *t, uint64_t key);
/* The slot of key; a missing key is inserted with the value 0 first, and
 * *added (when not NULL) tells whether it was. */
uint64_t *u64_table_slot(struct u64_table *t, uint64_t key, bool *added);
/* Room for n entries in all: no growing (and no moving slots) until then. */
void u64_table_reserve(struct u64_table *t, size_t n);
/* Empties the table but keeps its storage, for one refilled over and over. */
void u64_table_reset(struct u64_table *t);

/* Wider keys (strings, pairs of numbers) go in by their 64-bit hash, any
 * value UINT64_MAX included, with as value where the caller keeps the real
 * key (an index into its array). Several entries may then share a hash:
 * same(val, ctx) tells the one looked for from the others. A table holds
 * either plain keys (get, put, remove, find, slot) or hashes (these two). */
bool u64_table_find_same(const struct u64_table *t, uint64_t hash,
			 bool (*same)(uint64_t val, const void *ctx), const void *ctx, uint64_t *val);
/* A new entry, even when others have the same hash (find_same found none). */
void u64_table_add(struct u64_table *t, uint64_t hash, uint64_t val);

#endif
