/* Early first stops of new threads: none is ever dropped, however many. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "early_stops.h"

static void test_many_threads_wait(void **state)
{
	struct early_stops es = { 0 };
	enum { N = 1000 }; /* far beyond the 64 a fixed buffer held */
	for (pid_t tid = 100; tid < 100 + N; tid++)
		early_stops_add(&es, tid);
	assert_int_equal(es.n, N);
	for (pid_t tid = 100 + N - 1; tid >= 100; tid--)
		assert_true(early_stops_take(&es, tid));
	assert_int_equal(es.n, 0);
	early_stops_free(&es);
}

static void test_take_only_what_waits(void **state)
{
	struct early_stops es = { 0 };
	assert_false(early_stops_take(&es, 7));
	early_stops_add(&es, 7);
	early_stops_add(&es, 8);
	assert_false(early_stops_take(&es, 9));
	assert_true(early_stops_take(&es, 7));
	assert_false(early_stops_take(&es, 7)); /* once */
	assert_true(early_stops_take(&es, 8));
	early_stops_free(&es);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_threads_wait),
		cmocka_unit_test(test_take_only_what_waits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
