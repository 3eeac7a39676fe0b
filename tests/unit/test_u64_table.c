/* The generic table against a plain array model, under inserts, overwrites
 * and deletions that force long probe runs and wrap-around; value slots,
 * reserve and reset; hashed keys whose hashes collide on purpose. */
#include "prof/u64_table.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_empty(void **state)
{
	struct u64_table t = { 0 };
	uint64_t v = 7;
	assert_false(u64_table_get(&t, 0, &v));
	assert_false(u64_table_remove(&t, 0));
	assert_int_equal(v, 7);
	u64_table_clear(&t);
}

static void test_put_get_replace(void **state)
{
	struct u64_table t = { 0 };
	u64_table_put(&t, 0, 10);  /* key 0 is a valid key */
	u64_table_put(&t, 0x401000, 20);
	u64_table_put(&t, 0x401000, 21);
	uint64_t v;
	assert_true(u64_table_get(&t, 0, &v));
	assert_int_equal(v, 10);
	assert_true(u64_table_get(&t, 0x401000, &v));
	assert_int_equal(v, 21);
	assert_int_equal(t.n, 2);
	assert_false(u64_table_get(&t, 1, NULL));
	u64_table_clear(&t);
	assert_int_equal(t.n, 0);
}

#define MODEL 4096

/* Keys that collide a lot: multiples of a large power of two. */
static uint64_t key_of(unsigned i)
{
	return (uint64_t)i << 40;
}

static void check_model(const struct u64_table *t, const int64_t *model)
{
	size_t n = 0;
	for (unsigned i = 0; i < MODEL; i++) {
		uint64_t v;
		bool there = u64_table_get(t, key_of(i), &v);
		assert_int_equal(there, model[i] >= 0);
		if (there)
			assert_int_equal(v, (uint64_t)model[i]);
		n += model[i] >= 0;
	}
	assert_int_equal(t->n, n);
}

static void test_against_model(void **state)
{
	struct u64_table t = { 0 };
	int64_t *model = malloc(MODEL * sizeof *model);
	for (unsigned i = 0; i < MODEL; i++)
		model[i] = -1;
	srand(12345);
	for (int round = 0; round < 40000; round++) {
		unsigned i = (unsigned)rand() % MODEL;
		if (rand() % 3) {
			u64_table_put(&t, key_of(i), (uint64_t)round);
			model[i] = round;
		} else {
			assert_int_equal(u64_table_remove(&t, key_of(i)), model[i] >= 0);
			model[i] = -1;
		}
		if (round % 5000 == 0)
			check_model(&t, model);
	}
	check_model(&t, model);
	struct u64_table copy;
	u64_table_copy(&copy, &t);
	u64_table_clear(&t);
	check_model(&copy, model);
	u64_table_clear(&copy);
	free(model);
}

static void sum_entry(uint64_t key, uint64_t val, void *ctx)
{
	uint64_t *sums = ctx;
	sums[0] += key;
	sums[1] += val;
	sums[2]++;
}

static void test_each(void **state)
{
	struct u64_table t = { 0 };
	for (uint64_t k = 1; k <= 100; k++)
		u64_table_put(&t, k, 2 * k);
	u64_table_remove(&t, 50);
	uint64_t sums[3] = { 0 };
	u64_table_each(&t, sum_entry, sums);
	assert_int_equal(sums[0], 5050 - 50);
	assert_int_equal(sums[1], 2 * (5050 - 50));
	assert_int_equal(sums[2], 99);
	u64_table_clear(&t);
}

static void test_find_and_slot(void **state)
{
	struct u64_table t = { 0 };
	assert_null(u64_table_find(&t, 5));
	bool added = false;
	uint64_t *v = u64_table_slot(&t, 5, &added);
	assert_true(added);
	assert_int_equal(*v, 0); /* a new slot starts at 0 */
	*v += 3;
	v = u64_table_slot(&t, 5, &added);
	assert_false(added);
	*v += 4;
	assert_ptr_equal(u64_table_find(&t, 5), v);
	assert_int_equal(*u64_table_find(&t, 5), 7);
	assert_int_equal(t.n, 1);
	/* Keys counted through slots, as a histogram would be. */
	for (uint64_t i = 0; i < 1000; i++)
		++*u64_table_slot(&t, (i % 37) << 40, NULL);
	for (uint64_t k = 0; k < 37; k++)
		assert_int_equal(*u64_table_find(&t, k << 40), 1000 / 37 + (k < 1000 % 37));
	assert_null(u64_table_find(&t, 37ull << 40));
	assert_int_equal(t.n, 38);
	u64_table_clear(&t);
}

static void test_reserve_and_reset(void **state)
{
	struct u64_table t = { 0 };
	u64_table_reserve(&t, 1000);
	size_t cap = t.cap;
	assert_true(cap * 3 >= 1000 * 4);
	uint64_t *first = u64_table_slot(&t, 0, NULL);
	*first = 42;
	for (uint64_t k = 1; k < 1000; k++)
		u64_table_put(&t, k, k);
	/* No growing up to the reserved count: slots did not move. */
	assert_int_equal(t.cap, cap);
	assert_ptr_equal(u64_table_find(&t, 0), first);
	assert_int_equal(*first, 42);
	u64_table_reserve(&t, 10); /* never shrinks */
	assert_int_equal(t.cap, cap);
	u64_table_reset(&t);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.cap, cap);
	assert_false(u64_table_get(&t, 0, NULL));
	assert_false(u64_table_get(&t, 999, NULL));
	u64_table_put(&t, 999, 1);
	assert_true(u64_table_get(&t, 999, NULL));
	assert_int_equal(t.n, 1);
	u64_table_clear(&t);
	u64_table_reset(&t); /* an empty table with no storage */
	assert_int_equal(t.cap, 0);
}

/* Wide keys as a table of hashes: names[] holds the real keys, and a hash
 * that keeps only a few bits makes most of them collide. */
struct names {
	char (*v)[16];
	const char *want;
};

static bool same_name(uint64_t i, const void *ctx)
{
	const struct names *n = ctx;
	return strcmp(n->v[i], n->want) == 0;
}

static uint64_t weak_hash(const char *s)
{
	uint64_t h = 0;
	for (; *s; s++)
		h += (unsigned char)*s;
	return h % 3 == 0 ? UINT64_MAX : h % 3; /* UINT64_MAX, 1 or 2 */
}

static bool lookup(const struct u64_table *t, struct names *n, const char *s, uint64_t *i)
{
	n->want = s;
	return u64_table_find_same(t, weak_hash(s), same_name, n, i);
}

static void test_hashed_keys(void **state)
{
	enum { N = 500 };
	struct u64_table t = { 0 };
	struct names n = { calloc(N, sizeof *n.v), NULL };
	uint64_t i;
	assert_false(lookup(&t, &n, "x", &i));
	for (unsigned k = 0; k < N; k++) {
		snprintf(n.v[k], sizeof n.v[k], "name%u", k);
		assert_false(lookup(&t, &n, n.v[k], &i));
		u64_table_add(&t, weak_hash(n.v[k]), k);
	}
	assert_int_equal(t.n, N);
	for (unsigned k = 0; k < N; k++) {
		assert_true(lookup(&t, &n, n.v[k], &i));
		assert_int_equal(i, k);
	}
	assert_false(lookup(&t, &n, "name500", &i));
	/* 0 and UINT64_MAX share a probe run but stay two entries. */
	struct u64_table z = { 0 };
	u64_table_add(&z, 0, 0);
	u64_table_add(&z, UINT64_MAX, 1);
	strcpy(n.v[0], "zero");
	strcpy(n.v[1], "max");
	n.want = "max";
	assert_true(u64_table_find_same(&z, UINT64_MAX, same_name, &n, &i));
	assert_int_equal(i, 1);
	n.want = "zero";
	assert_true(u64_table_find_same(&z, 0, same_name, &n, NULL));
	assert_int_equal(z.n, 2);
	u64_table_clear(&z);
	u64_table_clear(&t);
	free(n.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_put_get_replace),
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_find_and_slot),
		cmocka_unit_test(test_reserve_and_reset),
		cmocka_unit_test(test_hashed_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
