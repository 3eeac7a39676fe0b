/* The code cache's books of its translations: by counter id, by original
 * address, by cache address (a region's translations follow each other in
 * address order: a binary search, not a scan) and by page of the original
 * code they were made from (what code that changes must kill). No memory
 * of the program is touched here. See docs/code-cache.md, "Modules". */
#ifndef PROF_CACHE_INDEX_H
#define PROF_CACHE_INDEX_H

#include "translate.h"
#include "prof/u64_table.h"

#include <stddef.h>
#include <stdint.h>

/* The translations made from one page of the program's code (dead ones
 * are dropped as they are met). */
struct cache_page {
	uint32_t *ids;
	uint32_t n, cap;
};

/* Translations in the order of their addresses in the cache (one region's). */
struct cache_by_addr {
	uint32_t *ids;
	size_t n, cap;
};

struct cache_index {
	struct trans **trans;   /* by counter id (NULL once forgotten) */
	uint32_t n, cap;
	struct u64_table by_orig;   /* original address -> id + 1 (live ones) */
	struct u64_table by_page;   /* page of original code -> index in pages, + 1 */
	struct cache_page *pages;
	size_t npages, pages_cap;
};

/* A forked child's copy (its memory holds the same translations). */
void cache_index_copy(struct cache_index *dst, const struct cache_index *src);
/* Every translation freed (their ids stay used: counters keep their places). */
void cache_index_clear(struct cache_index *ix);
void cache_index_free(struct cache_index *ix);

/* The id the next translation gets (room made for it). */
uint32_t cache_index_next_id(struct cache_index *ix);
/* Files x (its id the next one) by its original address, by the pages its
 * code (and the code read for its flags) lies in, and in addr's order. */
void cache_index_add(struct cache_index *ix, struct trans *x, struct cache_by_addr *addr);
/* The live translation of the block at pc. */
const struct trans *cache_index_orig(const struct cache_index *ix, uint64_t pc);
/* The translation whose code holds addr, among addr's list. */
const struct trans *cache_index_at(const struct cache_index *ix, const struct cache_by_addr *l,
				   uint64_t addr);
/* x is no longer the translation of its original address. */
void cache_index_unlist(struct cache_index *ix, const struct trans *x);
/* Calls kill for every live translation made from code in [lo, hi) (each
 * marks x dead); returns how many. */
size_t cache_index_reading(struct cache_index *ix, uint64_t lo, uint64_t hi,
			   void (*kill)(void *ctx, struct trans *x), void *ctx);

void cache_by_addr_copy(struct cache_by_addr *dst, const struct cache_by_addr *src);
void cache_by_addr_free(struct cache_by_addr *l);

#endif
