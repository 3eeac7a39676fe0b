/* The code cache's books: translations found by original address, by an
 * address inside their code (binary search in a region's list), and by the
 * pages of original code they were made from (invalidation), a forked copy
 * independent of its parent. */
#include "cache_index.h"
#include "prof/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* A translation of n instructions of 4 bytes at orig, its code at entry
 * (len bytes); the flags were decided reading [dep_lo, dep_hi). Its id is
 * the next one: add it before making another. */
static struct trans *make(struct cache_index *ix, uint64_t orig, uint32_t n, uint64_t entry,
			  uint64_t len, uint64_t dep_lo, uint64_t dep_hi)
{
	struct trans *x = xcalloc(1, sizeof *x);
	x->id = cache_index_next_id(ix);
	x->orig = orig;
	x->n = n;
	x->pc = xmalloc((n + 1) * sizeof *x->pc);
	x->cls = xcalloc(n + 1, 1);
	x->off = xcalloc(n + 1, sizeof *x->off);
	for (uint32_t k = 0; k <= n; k++)
		x->pc[k] = orig + 4 * k;
	x->entry = entry;
	x->end = entry + len;
	x->dep[0][0] = dep_lo;
	x->dep[0][1] = dep_hi;
	return x;
}

static void test_by_original_and_cache_address(void **state)
{
	(void)state;
	struct cache_index ix = { 0 };
	struct cache_by_addr region = { 0 };
	/* 3000 translations one after the other from 0x7000000 (gaps of 16). */
	for (uint32_t i = 0; i < 3000; i++)
		cache_index_add(&ix, make(&ix, 0x401000 + 64 * i, 4, 0x7000000 + 64 * i, 48, 0, 0), &region);
	assert_int_equal(ix.n, 3000);
	assert_int_equal(cache_index_orig(&ix, 0x401000 + 64 * 17)->id, 17);
	assert_null(cache_index_orig(&ix, 0x401004));
	assert_int_equal(cache_index_at(&ix, &region, 0x7000000)->id, 0);
	assert_int_equal(cache_index_at(&ix, &region, 0x7000000 + 64 * 2999 + 47)->id, 2999);
	assert_int_equal(cache_index_at(&ix, &region, 0x7000000 + 64 * 1234 + 10)->id, 1234);
	assert_null(cache_index_at(&ix, &region, 0x7000000 + 64 * 1234 + 48)); /* between two */
	assert_null(cache_index_at(&ix, &region, 0x6ffffff));
	assert_null(cache_index_at(&ix, &region, 0x7000000 + 64 * 3000));
	cache_by_addr_free(&region);
	cache_index_free(&ix);
}

static void kill(void *ctx, struct trans *x)
{
	x->dead = true;
	cache_index_unlist(ctx, x);
}

/* A block straddling two pages is killed from either; the code read for
 * its flags counts too; the others on the page live on. */
static void test_by_page(void **state)
{
	(void)state;
	struct cache_index ix = { 0 };
	struct cache_by_addr region = { 0 };
	struct trans *a = make(&ix, 0x401ff8, 4, 0x7000000, 32, 0, 0); /* 0x401ff8-0x402008 */
	cache_index_add(&ix, a, &region);
	struct trans *b = make(&ix, 0x402100, 2, 0x7000020, 32, 0x405000, 0x405004);
	cache_index_add(&ix, b, &region);
	struct trans *c = make(&ix, 0x402200, 2, 0x7000040, 32, 0, 0);
	cache_index_add(&ix, c, &region);
	assert_int_equal(cache_index_reading(&ix, 0x401000, 0x401ff8, kill, &ix), 0);
	assert_int_equal(cache_index_reading(&ix, 0x402004, 0x402008, kill, &ix), 1);
	assert_true(a->dead);
	assert_null(cache_index_orig(&ix, 0x401ff8));
	assert_int_equal(cache_index_reading(&ix, 0x405002, 0x405003, kill, &ix), 1);
	assert_true(b->dead);
	assert_false(c->dead);
	assert_ptr_equal(cache_index_orig(&ix, 0x402200), c);
	/* A range larger than all the pages listed walks the listed ones. */
	assert_int_equal(cache_index_reading(&ix, 0, 1ull << 46, kill, &ix), 1);
	assert_true(c->dead);
	/* Dead ones stay for the counts, by id. */
	assert_ptr_equal(ix.trans[1], b);
	cache_by_addr_free(&region);
	cache_index_free(&ix);
}

static void test_copy_is_independent(void **state)
{
	(void)state;
	struct cache_index ix = { 0 }, child;
	struct cache_by_addr region = { 0 }, child_region;
	cache_index_add(&ix, make(&ix, 0x401000, 2, 0x7000000, 32, 0, 0), &region);
	cache_index_copy(&child, &ix);
	cache_by_addr_copy(&child_region, &region);
	assert_int_equal(cache_index_reading(&child, 0x401000, 0x401001, kill, &child), 1);
	assert_non_null(cache_index_orig(&ix, 0x401000));
	assert_false(ix.trans[0]->dead);
	assert_null(cache_index_orig(&child, 0x401000));
	assert_int_equal(cache_index_at(&child, &child_region, 0x7000010)->id, 0);
	cache_by_addr_free(&child_region);
	cache_index_free(&child);
	cache_by_addr_free(&region);
	cache_index_free(&ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_original_and_cache_address),
		cmocka_unit_test(test_by_page),
		cmocka_unit_test(test_copy_is_independent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
