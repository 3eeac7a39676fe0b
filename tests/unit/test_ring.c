/* Ring buffer: FIFO order, wrap-around, back-pressure, and a real
 * producer/consumer pair across two threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "prof/ring.h"

#include <pthread.h>
#include <string.h>

struct item {
	uint64_t seq;
	uint32_t tag;
};

static void test_push_pop_one(void **state)
{
	struct ring r;
	assert_int_equal(ring_init(&r, 4, sizeof(struct item)), 0);
	assert_int_equal(ring_count(&r), 0);

	struct item in = { 42, 7 }, out;
	memset(&out, 0, sizeof out);
	assert_false(ring_try_pop(&r, &out)); /* empty */
	assert_true(ring_try_push(&r, &in));
	assert_int_equal(ring_count(&r), 1);
	assert_true(ring_try_pop(&r, &out));
	assert_int_equal(out.seq, 42);
	assert_int_equal(out.tag, 7);
	assert_int_equal(ring_count(&r), 0);
	assert_false(ring_try_pop(&r, &out));
	ring_destroy(&r);
}

static void test_capacity_rounds_up(void **state)
{
	struct ring r;
	assert_int_equal(ring_init(&r, 5, sizeof(uint64_t)), 0);
	/* 5 rounds up to 8: eight pushes fit, the ninth does not. */
	for (uint64_t i = 0; i < 8; i++)
		assert_true(ring_try_push(&r, &i));
	uint64_t v = 99;
	assert_false(ring_try_push(&r, &v));
	assert_int_equal(ring_count(&r), 8);
	ring_destroy(&r);
}

/* 1000 items through a ring of 8 in batches of varying size: indices wrap
 * many times and the order must survive every wrap. */
static void test_fifo_across_wraparound(void **state)
{
	struct ring r;
	assert_int_equal(ring_init(&r, 8, sizeof(uint64_t)), 0);
	uint64_t next_in = 0, next_out = 0;
	unsigned batch = 1;
	while (next_out < 1000) {
		unsigned n = batch;
		for (unsigned k = 0; k < n && next_in < 1000; k++) {
			if (!ring_try_push(&r, &next_in))
				break;
			next_in++;
		}
		/* Pop a different amount than pushed so head and tail drift apart. */
		unsigned m = (batch % 3) + 2;
		for (unsigned k = 0; k < m; k++) {
			uint64_t v;
			if (!ring_try_pop(&r, &v))
				break;
			assert_int_equal(v, next_out);
			next_out++;
		}
		assert_int_equal(ring_count(&r), next_in - next_out);
		batch = batch % 8 + 1;
	}
	assert_int_equal(next_in, 1000);
	assert_int_equal(next_out, 1000);
	ring_destroy(&r);
}

static void test_try_push_backpressure(void **state)
{
	struct ring r;
	assert_int_equal(ring_init(&r, 8, sizeof(uint64_t)), 0);
	uint64_t v;
	for (v = 0; v < 8; v++)
		assert_true(ring_try_push(&r, &v));
	v = 100;
	assert_false(ring_try_push(&r, &v)); /* full: refused, not overwritten */
	assert_false(ring_try_push(&r, &v));

	uint64_t out;
	assert_true(ring_try_pop(&r, &out));
	assert_int_equal(out, 0);
	assert_true(ring_try_push(&r, &v)); /* one slot freed */
	assert_false(ring_try_push(&r, &v));

	/* Nothing was lost or overwritten: 1..7 then 100. */
	for (uint64_t want = 1; want < 8; want++) {
		assert_true(ring_try_pop(&r, &out));
		assert_int_equal(out, want);
	}
	assert_true(ring_try_pop(&r, &out));
	assert_int_equal(out, 100);
	assert_false(ring_try_pop(&r, &out));
	ring_destroy(&r);
}

static void test_pop_after_close(void **state)
{
	struct ring r;
	assert_int_equal(ring_init(&r, 8, sizeof(uint64_t)), 0);
	uint64_t v = 5, out = 0;
	ring_push(&r, &v);
	ring_close(&r);
	/* Items pushed before close are still delivered, then pop reports the end. */
	assert_true(ring_pop(&r, &out));
	assert_int_equal(out, 5);
	assert_false(ring_pop(&r, &out));
	ring_destroy(&r);
}

#define N_ITEMS 1000000ull

struct consumer_result {
	struct ring *r;
	uint64_t received, sum;
	uint64_t first_bad; /* index of the first out-of-sequence item, or N_ITEMS */
};

static void *consumer(void *arg)
{
	struct consumer_result *c = arg;
	uint64_t v;
	c->first_bad = N_ITEMS;
	while (ring_pop(c->r, &v)) {
		if (v != c->received && c->first_bad == N_ITEMS)
			c->first_bad = c->received;
		c->sum += v;
		c->received++;
	}
	return NULL;
}

static void test_two_threads(void **state)
{
	struct ring r;
	assert_int_equal(ring_init(&r, 64, sizeof(uint64_t)), 0);
	struct consumer_result c = { &r, 0, 0, 0 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, consumer, &c), 0);
	for (uint64_t i = 0; i < N_ITEMS; i++)
		ring_push(&r, &i);
	ring_close(&r);
	assert_int_equal(pthread_join(th, NULL), 0);

	assert_int_equal(c.first_bad, N_ITEMS); /* every item in sequence */
	assert_int_equal(c.received, N_ITEMS);
	assert_int_equal(c.sum, N_ITEMS * (N_ITEMS - 1) / 2);
	assert_int_equal(ring_count(&r), 0);
	/* A million items through 64 slots: the producer must have waited. */
	assert_true(atomic_load(&r.producer_waits) > 0);
	ring_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_pop_one),
		cmocka_unit_test(test_capacity_rounds_up),
		cmocka_unit_test(test_fifo_across_wraparound),
		cmocka_unit_test(test_try_push_backpressure),
		cmocka_unit_test(test_pop_after_close),
		cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
