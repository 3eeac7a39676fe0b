/* The tracer's arc sums: whatever goes in, the arcs that reach the sink add
 * up to the same calls and inclusive counts per key, through collisions,
 * flushes and 32-bit overflows of calls. */
#include "arc_sum.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define KEYS 10000

struct totals {
	uint64_t calls[KEYS], inclusive[KEYS], outer[KEYS];
	size_t events;
};

/* Keys are numbered by callee_pc - 0x1000; the other fields derive from it. */
static struct prof_event arc(size_t key, uint32_t calls, uint64_t inclusive, uint64_t outer)
{
	struct prof_event ev = { .kind = EV_ARC, .thread = 1 + (uint32_t)(key % 3) };
	ev.arc.caller_pc = 0x400000 + 16 * (key % 97);
	ev.arc.callee_pc = 0x1000 + key;
	ev.arc.caller_gen = (uint32_t)(key % 5);
	ev.arc.callee_gen = (uint32_t)(key % 7);
	ev.arc.calls = calls;
	ev.arc.inclusive = inclusive;
	ev.arc.outer_inclusive = outer;
	return ev;
}

/* Into s, the arc of key as arc() numbers it. */
static void add_arc(struct arc_sum *s, size_t key, uint32_t calls, uint64_t inclusive, uint64_t outer)
{
	struct prof_event ev = arc(key, calls, inclusive, outer);
	struct arc_key k = { ev.arc.caller_pc, ev.arc.callee_pc, ev.arc.caller_gen, ev.arc.callee_gen,
			     ev.thread };
	arc_sum_add_arc(s, &k, inclusive, outer, calls);
}

static void add_up(void *ctx, const struct prof_event *ev)
{
	struct totals *t = ctx;
	size_t key = ev->arc.callee_pc - 0x1000;
	assert_true(key < KEYS);
	struct prof_event want = arc(key, 0, 0, 0);
	assert_int_equal(ev->kind, EV_ARC);
	assert_int_equal(ev->thread, want.thread);
	assert_int_equal(ev->arc.caller_pc, want.arc.caller_pc);
	assert_int_equal(ev->arc.caller_gen, want.arc.caller_gen);
	assert_int_equal(ev->arc.callee_gen, want.arc.callee_gen);
	t->calls[key] += ev->arc.calls;
	t->inclusive[key] += ev->arc.inclusive;
	t->outer[key] += ev->arc.outer_inclusive;
	t->events++;
}

static void test_sums_survive_collisions(void **state)
{
	(void)state;
	struct totals *got = calloc(1, sizeof *got), *want = calloc(1, sizeof *want);
	struct arc_sum s = { .sink = add_up, .ctx = got };
	uint64_t x = 12345;
	for (int i = 0; i < 200000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		size_t key = (x >> 33) % (i < 100000 ? 50 : KEYS); /* a hot few, then many */
		uint32_t calls = (uint32_t)(x >> 20) & 1;
		uint64_t incl = (x >> 40) & 0xffff, outer = (x & 1) ? incl : 0;
		add_arc(&s, key, calls, incl, outer);
		want->calls[key] += calls;
		want->inclusive[key] += incl;
		want->outer[key] += outer;
		if (i == 150000)
			arc_sum_flush(&s); /* a part ends: and the sums go on after it */
	}
	arc_sum_end(&s);
	assert_null(s.slots);
	assert_memory_equal(got->calls, want->calls, sizeof want->calls);
	assert_memory_equal(got->inclusive, want->inclusive, sizeof want->inclusive);
	assert_memory_equal(got->outer, want->outer, sizeof want->outer);
	/* The hot phase went out as sums, not one event per arc. */
	assert_true(got->events < 120000);
	free(got);
	free(want);
}

static void test_hot_arc_is_one_event(void **state)
{
	(void)state;
	struct totals *got = calloc(1, sizeof *got);
	struct arc_sum s = { .sink = add_up, .ctx = got };
	for (int i = 0; i < 1000; i++)
		add_arc(&s, 7, 1, 10, 10);
	assert_int_equal(got->events, 0); /* held until flushed */
	arc_sum_flush(&s);
	assert_int_equal(got->events, 1);
	assert_int_equal(got->calls[7], 1000);
	assert_int_equal(got->inclusive[7], 10000);
	arc_sum_flush(&s);
	assert_int_equal(got->events, 1); /* nothing held twice */
	arc_sum_end(&s);
	free(got);
}

/* More calls than an event's 32-bit field holds arrive whole. */
static void test_calls_beyond_32_bits(void **state)
{
	(void)state;
	struct totals *got = calloc(1, sizeof *got);
	struct arc_sum s = { .sink = add_up, .ctx = got };
	for (int i = 0; i < 3; i++)
		add_arc(&s, 3, UINT32_MAX, 5, 0);
	arc_sum_end(&s);
	assert_int_equal(got->calls[3], 3ull * UINT32_MAX);
	assert_int_equal(got->inclusive[3], 15);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums_survive_collisions),
		cmocka_unit_test(test_hot_arc_is_one_event),
		cmocka_unit_test(test_calls_beyond_32_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
