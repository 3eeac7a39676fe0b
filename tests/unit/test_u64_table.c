/* The generic table against a plain array model, under inserts, overwrites
 * and deletions that force long probe runs and wrap-around. */
#include "prof/u64_table.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_put_get_replace),
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_each),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
