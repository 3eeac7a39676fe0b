/* The shadow call stack and the writer together: calls and returns become
 * arcs with inclusive counts (recursion counted once, longjmp-abandoned
 * frames closed), aggregated by the writer thread into a real store. */
#include "callstack.h"
#include "tracer.h"
#include "writer.h"
#include "prof/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

struct fixture {
	char path[64];
	sqlite3 *db;
	struct writer w;
	struct tracer tr;
	struct proc p;
	struct tracee t;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->path, sizeof f->path, "/tmp/prof-unit-callstack-%d.db", (int)getpid());
	unlink(f->path);
	char err[256];
	f->db = store_create(f->path, err, sizeof err);
	assert_non_null(f->db);
	assert_int_equal(writer_start(&f->w, f->db), 0);
	f->tr.writer = &f->w;
	f->p.id = 1;
	f->t.id = 1;
	f->t.proc = &f->p;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sqlite3_close(f->db);
	char wal[80];
	snprintf(wal, sizeof wal, "%s-wal", f->path);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", f->path);
	unlink(wal);
	unlink(f->path);
	free(f);
	return 0;
}

static void run(struct fixture *f, uint64_t pc, int n)
{
	for (int i = 0; i < n; i++)
		tracer_count_insn(&f->tr, &f->t, pc + (uint64_t)i, CLASS_ALU);
}

/* Stops the writer and reads back one arc: calls, inclusive, outer inclusive. */
static void finish(struct fixture *f)
{
	callstack_unwind(&f->tr, &f->t);
	tracer_flush_arcs(&f->tr);
	assert_int_equal(writer_finish(&f->w), 0);
}

static void expect_arc(struct fixture *f, uint64_t caller, uint64_t callee, int64_t calls,
		       int64_t inclusive, int64_t outer)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT calls, inclusive, outer_inclusive FROM arcs"
				       " WHERE thread = 1 AND caller_pc = ? AND callee_pc = ?",
				       -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, (int64_t)caller);
	sqlite3_bind_int64(st, 2, (int64_t)callee);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), calls);
	assert_int_equal(sqlite3_column_int64(st, 1), inclusive);
	assert_int_equal(sqlite3_column_int64(st, 2), outer);
	sqlite3_finalize(st);
}

static void test_nested_calls(void **state)
{
	struct fixture *f = *state;
	callstack_push(&f->tr, &f->t, 0, 0x1000, 0, 0);         /* root */
	run(f, 0x1000, 3);
	for (int k = 0; k < 2; k++) {
		callstack_push(&f->tr, &f->t, 0x1003, 0x2000, 0x1008, 0x7ff8);
		run(f, 0x2000, 4);
		callstack_push(&f->tr, &f->t, 0x2004, 0x3000, 0x2009, 0x7ff0);
		run(f, 0x3000, 5);
		callstack_ret(&f->tr, &f->t, 0x2009, 0x7ff0);
		callstack_ret(&f->tr, &f->t, 0x1008, 0x7ff8);
	}
	finish(f);
	expect_arc(f, 0x1003, 0x2000, 2, 18, 18);
	expect_arc(f, 0x2004, 0x3000, 2, 10, 10);
}

static void test_recursion_counted_once(void **state)
{
	struct fixture *f = *state;
	callstack_push(&f->tr, &f->t, 0, 0x1000, 0, 0);
	/* fib -> fib -> fib, 2 instructions per level */
	callstack_push(&f->tr, &f->t, 0x1000, 0x4000, 0x1005, 0x7ff8);
	run(f, 0x4000, 2);
	callstack_push(&f->tr, &f->t, 0x4002, 0x4000, 0x4007, 0x7fe8);
	run(f, 0x4000, 2);
	callstack_push(&f->tr, &f->t, 0x4002, 0x4000, 0x4007, 0x7fd8);
	run(f, 0x4000, 2);
	callstack_ret(&f->tr, &f->t, 0x4007, 0x7fd8);
	callstack_ret(&f->tr, &f->t, 0x4007, 0x7fe8);
	callstack_ret(&f->tr, &f->t, 0x1005, 0x7ff8);
	finish(f);
	/* Inner activations add up (2 + 4), the outermost counts once (6). */
	expect_arc(f, 0x4002, 0x4000, 2, 6, 0);
	expect_arc(f, 0x1000, 0x4000, 1, 6, 6);
}

static void test_longjmp_closes_abandoned_frames(void **state)
{
	struct fixture *f = *state;
	callstack_push(&f->tr, &f->t, 0, 0x1000, 0, 0);
	callstack_push(&f->tr, &f->t, 0x1000, 0x2000, 0x1005, 0x7f00);
	run(f, 0x2000, 1);
	callstack_push(&f->tr, &f->t, 0x2001, 0x3000, 0x2006, 0x7e00);
	run(f, 0x3000, 7);
	/* A return above both frames (as after longjmp) closes them both. */
	callstack_ret(&f->tr, &f->t, 0x1005, 0x7f00);
	finish(f);
	expect_arc(f, 0x2001, 0x3000, 1, 7, 7);
	expect_arc(f, 0x1000, 0x2000, 1, 8, 8);
}


static void test_tail_jump_gets_a_frame(void **state)
{
	struct fixture *f = *state;
	callstack_push(&f->tr, &f->t, 0, 0x1000, 0, 0);
	callstack_push(&f->tr, &f->t, 0x1000, 0x2000, 0x1005, 0x7ff8);  /* main -> f@plt */
	run(f, 0x2000, 1);
	callstack_jump(&f->tr, &f->t, 0x2000, 0x3000);                   /* the stub's jmp -> f */
	run(f, 0x3000, 6);
	callstack_ret(&f->tr, &f->t, 0x1005, 0x7ff8);                    /* f returns to main */
	run(f, 0x1005, 2);
	finish(f);
	expect_arc(f, 0x1000, 0x2000, 1, 7, 7);
	expect_arc(f, 0x2000, 0x3000, 1, 6, 6);
}

/* longjmp back into 0x2000's frame, which calls again: the new return
 * address goes where 0x3000's was, so that frame is gone. The second call
 * is a push and its return, or a leaf (callstack_leaf, as the cache's
 * replay sees it): the same arcs, the abandoned frame closed at the call,
 * not after the leaf ran. */
static void call_over_abandoned_frames(struct fixture *f, bool leaf)
{
	callstack_push(&f->tr, &f->t, 0, 0x1000, 0, 0);
	callstack_push(&f->tr, &f->t, 0x1000, 0x2000, 0x1005, 0x7f00);
	run(f, 0x2000, 3);
	callstack_push(&f->tr, &f->t, 0x2003, 0x3000, 0x2008, 0x7e00);
	run(f, 0x3000, 4);
	if (leaf) {
		callstack_leaf(&f->tr, &f->t, 0x2010, 0x4000, 0x7e00, 5, true);
		run(f, 0x4000, 5);
	} else {
		callstack_push(&f->tr, &f->t, 0x2010, 0x4000, 0x2015, 0x7e00);
		run(f, 0x4000, 5);
		callstack_ret(&f->tr, &f->t, 0x2015, 0x7e00);
	}
	callstack_ret(&f->tr, &f->t, 0x1005, 0x7f00);
	finish(f);
	expect_arc(f, 0x2003, 0x3000, 1, 4, 4);
	expect_arc(f, 0x2010, 0x4000, 1, 5, 5);
	expect_arc(f, 0x1000, 0x2000, 1, 12, 12);
	assert_int_equal(f->tr.deepest_stack, 3);
}

static void test_call_over_abandoned_frames_closes_them(void **state)
{
	call_over_abandoned_frames(*state, false);
}

static void test_leaf_is_a_push_then_its_return(void **state)
{
	call_over_abandoned_frames(*state, true);
}

/* A leaf into a function already on the stack is not its outermost call;
 * one not recorded leaves no arc. */
static void test_leaf_inside_recursion(void **state)
{
	struct fixture *f = *state;
	callstack_push(&f->tr, &f->t, 0, 0x1000, 0, 0);
	callstack_push(&f->tr, &f->t, 0x1000, 0x4000, 0x1005, 0x7ff8);
	run(f, 0x4000, 2);
	callstack_leaf(&f->tr, &f->t, 0x4002, 0x4000, 0x7fe8, 2, true);
	run(f, 0x4000, 2);
	callstack_leaf(&f->tr, &f->t, 0x4010, 0x5000, 0x7fe8, 9, false);
	callstack_ret(&f->tr, &f->t, 0x1005, 0x7ff8);
	finish(f);
	expect_arc(f, 0x4002, 0x4000, 1, 2, 0);
	expect_arc(f, 0x1000, 0x4000, 1, 4, 4);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT COUNT(*) FROM arcs WHERE callee_pc = 20480",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 0);
	sqlite3_finalize(st);
}

static void test_deep_recursion_counted_once(void **state)
{
	struct fixture *f = *state;
	enum { DEPTH = 10000 };
	callstack_push(&f->tr, &f->t, 0, 0x1000, 0, 0);
	callstack_push(&f->tr, &f->t, 0x1000, 0x4000, 0x1005, 0x7ffff000);
	for (uint64_t d = 1; d < DEPTH; d++) {
		run(f, 0x4000, 1);
		callstack_push(&f->tr, &f->t, 0x4001, 0x4000, 0x4006, 0x7ffff000 - 16 * d);
	}
	for (uint64_t d = DEPTH - 1; d >= 1; d--)
		callstack_ret(&f->tr, &f->t, 0x4006, 0x7ffff000 - 16 * d);
	callstack_ret(&f->tr, &f->t, 0x1005, 0x7ffff000);
	finish(f);
	expect_arc(f, 0x1000, 0x4000, 1, DEPTH - 1, DEPTH - 1);
	/* Nested activations: 1 + 2 + ... + (DEPTH - 2) instructions, none outermost. */
	expect_arc(f, 0x4001, 0x4000, DEPTH - 1, (int64_t)(DEPTH - 2) * (DEPTH - 1) / 2, 0);
}

static void expect_part_arc(struct fixture *f, int part, uint64_t callee, int64_t calls,
			    int64_t inclusive)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT calls, inclusive FROM arcs"
				       " WHERE thread = 1 AND part = ? AND callee_pc = ?",
				       -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int(st, 1, part);
	sqlite3_bind_int64(st, 2, (int64_t)callee);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), calls);
	assert_int_equal(sqlite3_column_int64(st, 1), inclusive);
	sqlite3_finalize(st);
}

static void send(struct fixture *f, uint32_t kind)
{
	struct prof_event ev = { .kind = kind, .thread = 1 };
	tracer_emit(&f->tr, &ev);
}

/* A call under way when its part ends: what it ran so far stays in that
 * part (no call counted there), the rest and the call go to the next. */
static void test_call_across_parts(void **state)
{
	struct fixture *f = *state;
	callstack_push(&f->tr, &f->t, 0, 0x1000, 0, 0);
	callstack_push(&f->tr, &f->t, 0x1000, 0x2000, 0x1005, 0x7f00);
	run(f, 0x2000, 4);
	callstack_end_part(&f->tr, &f->t);
	send(f, EV_PART);
	run(f, 0x2000, 5);
	callstack_ret(&f->tr, &f->t, 0x1005, 0x7f00);
	finish(f);
	expect_part_arc(f, 1, 0x2000, 0, 4);
	expect_part_arc(f, 2, 0x2000, 1, 5);
	expect_part_arc(f, 1, 0x1000, 0, 4); /* the root: 4 in part 1, 5 in part 2 */
	expect_part_arc(f, 2, 0x1000, 1, 5);
}

/* Zeroing drops the part's counts: a call under way counts from there. */
static void test_call_across_zero(void **state)
{
	struct fixture *f = *state;
	callstack_push(&f->tr, &f->t, 0, 0x1000, 0, 0);
	callstack_push(&f->tr, &f->t, 0x1000, 0x2000, 0x1005, 0x7f00);
	run(f, 0x2000, 4);
	callstack_restart(&f->t);
	send(f, EV_ZERO);
	run(f, 0x2000, 5);
	callstack_ret(&f->tr, &f->t, 0x1005, 0x7f00);
	finish(f);
	expect_part_arc(f, 1, 0x2000, 1, 5);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT SUM(count) FROM insns", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 5);
	sqlite3_finalize(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nested_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recursion_counted_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longjmp_closes_abandoned_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_jump_gets_a_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_over_abandoned_frames_closes_them, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leaf_is_a_push_then_its_return, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leaf_inside_recursion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_recursion_counted_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_across_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_across_zero, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
