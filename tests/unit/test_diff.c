/* prof diff's comparison on hand-made profiles: matching by (name, DSO),
 * deltas, functions on one side only, sorting, classes and the gate. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "prof/diff.h"

#include <string.h>

static struct func_row fn(const char *name, const char *dso, uint64_t count)
{
	struct func_row r;
	memset(&r, 0, sizeof r);
	r.name = name;
	r.dso = dso;
	r.count = count;
	return r;
}

/* A profile over rows (no database): total is their sum, all of class alu
 * except `load` instructions. */
static struct profile make(struct func_row *rows, size_t n, uint64_t load)
{
	struct profile p;
	memset(&p, 0, sizeof p);
	p.mode = "block";
	p.command = "app";
	p.funcs = rows;
	p.nfuncs = n;
	for (size_t i = 0; i < n; i++)
		p.total += rows[i].count;
	p.classes[CLASS_LOAD] = load;
	p.classes[CLASS_ALU] = p.total - load;
	return p;
}

static const struct diff_row *find(const struct diff *d, const char *name, const char *dso)
{
	for (size_t i = 0; i < d->nrows; i++)
		if (strcmp(d->rows[i].name, name) == 0 && strcmp(d->rows[i].dso, dso) == 0)
			return &d->rows[i];
	return NULL;
}

static void test_match_and_deltas(void **state)
{
	struct func_row b[] = { fn("hot", "app", 1000), fn("memcpy", "libc.so.6", 200),
				fn("old", "app", 50), fn("main", "app", 10) };
	struct func_row n[] = { fn("hot", "app", 400), fn("memcpy", "libc.so.6", 260),
				fn("main", "app", 10), fn("fresh", "app", 30),
				/* same name, other DSO: another function */
				fn("hot", "libother.so", 5) };
	struct profile pb = make(b, 4, 100), pn = make(n, 5, 150);
	struct diff d;
	diff_compute(&pb, &pn, NULL, NULL, &d);
	assert_int_equal(d.nrows, 6);

	const struct diff_row *r = find(&d, "hot", "app");
	assert_non_null(r);
	assert_int_equal(r->base, 1000);
	assert_int_equal(r->new, 400);
	assert_int_equal(r->delta, -600);
	assert_true(r->percent > -60.0001 && r->percent < -59.9999);
	assert_int_equal(r->status, DIFF_BOTH);

	r = find(&d, "memcpy", "libc.so.6");
	assert_int_equal(r->delta, 60);
	assert_true(r->percent > 29.9999 && r->percent < 30.0001);

	r = find(&d, "old", "app");
	assert_int_equal(r->status, DIFF_GONE);
	assert_int_equal(r->new, 0);
	assert_int_equal(r->delta, -50);

	r = find(&d, "fresh", "app");
	assert_int_equal(r->status, DIFF_NEW);
	assert_int_equal(r->base, 0);
	assert_int_equal(r->delta, 30);

	r = find(&d, "hot", "libother.so");
	assert_int_equal(r->status, DIFF_NEW);
	assert_int_equal(r->new, 5);

	r = find(&d, "main", "app");
	assert_int_equal(r->delta, 0);
	assert_int_equal(r->status, DIFF_BOTH);

	assert_int_equal(d.base_total, 1260);
	assert_int_equal(d.new_total, 705);
	assert_int_equal(d.delta, -555);
	assert_int_equal(d.classes[CLASS_LOAD].base, 100);
	assert_int_equal(d.classes[CLASS_LOAD].new, 150);
	assert_int_equal(d.classes[CLASS_LOAD].delta, 50);
	assert_int_equal(d.classes[CLASS_ALU].delta, (int64_t)(705 - 150) - (1260 - 100));
	assert_int_equal(d.classes[CLASS_SIMD].delta, 0);
	diff_free(&d);
}

static void test_sorting(void **state)
{
	struct func_row b[] = { fn("a", "x", 100), fn("b", "x", 500), fn("c", "x", 10),
				fn("gone", "x", 70) };
	struct func_row n[] = { fn("a", "x", 180), fn("b", "x", 450), fn("c", "x", 10),
				fn("new", "x", 90) };
	struct profile pb = make(b, 4, 0), pn = make(n, 4, 0);
	struct diff d;
	diff_compute(&pb, &pn, NULL, NULL, &d);
	/* default: |delta| descending (a +80 gone -70 ... new +90 first) */
	const char *by_delta[] = { "new", "a", "gone", "b", "c" };
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(d.rows[i].name, by_delta[i]);
	diff_sort(&d, DIFF_SORT_BASE);
	const char *by_base[] = { "b", "a", "gone", "c", "new" };
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(d.rows[i].name, by_base[i]);
	diff_sort(&d, DIFF_SORT_NEW);
	const char *by_new[] = { "b", "a", "new", "c", "gone" };
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(d.rows[i].name, by_new[i]);
	diff_free(&d);
}

/* Builds of one program named differently: their functions still match. */
static void test_exe_alias(void **state)
{
	struct func_row b[] = { fn("sum", "prog_O0", 900), fn("main", "prog_O0", 100),
				fn("puts", "libc.so.6", 40) };
	struct func_row n[] = { fn("sum", "prog_O2", 300), fn("main", "prog_O2", 60),
				fn("puts", "libc.so.6", 40) };
	struct profile pb = make(b, 3, 0), pn = make(n, 3, 0);
	struct diff d;
	diff_compute(&pb, &pn, "prog_O0", "prog_O2", &d);
	assert_int_equal(d.nrows, 3);
	const struct diff_row *r = find(&d, "sum", "prog_O2");
	assert_non_null(r);
	assert_int_equal(r->status, DIFF_BOTH);
	assert_int_equal(r->delta, -600);
	diff_free(&d);
	/* without the aliases they are different functions */
	diff_compute(&pb, &pn, NULL, NULL, &d);
	assert_int_equal(d.nrows, 5);
	assert_int_equal(find(&d, "sum", "prog_O0")->status, DIFF_GONE);
	assert_int_equal(find(&d, "sum", "prog_O2")->status, DIFF_NEW);
	diff_free(&d);
}

static void test_identical(void **state)
{
	struct func_row b[] = { fn("a", "x", 100), fn("b", "x", 5) };
	struct profile pb = make(b, 2, 20);
	struct diff d;
	diff_compute(&pb, &pb, "x", "x", &d);
	assert_int_equal(d.nrows, 2);
	for (size_t i = 0; i < d.nrows; i++) {
		assert_int_equal(d.rows[i].delta, 0);
		assert_int_equal(d.rows[i].status, DIFF_BOTH);
	}
	for (int c = 0; c < CLASS_COUNT; c++)
		assert_int_equal(d.classes[c].delta, 0);
	assert_int_equal(d.delta, 0);
	assert_true(diff_gate_passed(&d, 0.0));
	diff_free(&d);

	struct profile empty;
	memset(&empty, 0, sizeof empty);
	diff_compute(&empty, &empty, NULL, NULL, &d);
	assert_int_equal(d.nrows, 0);
	assert_true(diff_gate_passed(&d, 5.0));
	diff_free(&d);
}

static void test_gate(void **state)
{
	struct diff d;
	memset(&d, 0, sizeof d);
	d.base_total = 1000;
	d.new_total = 1050;
	d.delta = 50; /* +5% */
	assert_true(diff_gate_passed(&d, 5.0));
	assert_false(diff_gate_passed(&d, 4.99));
	assert_false(diff_gate_passed(&d, 0.0));
	d.new_total = 1051;
	d.delta = 51;
	assert_false(diff_gate_passed(&d, 5.0));
	d.new_total = 900;
	d.delta = -100; /* shrinking always passes a non-negative limit */
	assert_true(diff_gate_passed(&d, 0.0));
	assert_true(diff_gate_passed(&d, -10.0));  /* a negative limit asks for a gain */
	assert_false(diff_gate_passed(&d, -10.5));
	d.base_total = 0; /* growth from nothing */
	d.new_total = 10;
	d.delta = 10;
	assert_false(diff_gate_passed(&d, 1000.0));
}

static void test_fmt_delta(void **state)
{
	char buf[32];
	assert_string_equal(diff_fmt_delta(0, buf, sizeof buf), "0");
	assert_string_equal(diff_fmt_delta(7, buf, sizeof buf), "+7");
	assert_string_equal(diff_fmt_delta(-1234567, buf, sizeof buf), "-1,234,567");
	assert_string_equal(diff_fmt_delta(1000, buf, sizeof buf), "+1,000");
	assert_string_equal(diff_fmt_delta(INT64_MIN, buf, sizeof buf),
			    "-9,223,372,036,854,775,808");
}

static void test_filter_dsos(void **state)
{
	(void)state;
	struct func_row rows[] = { fn("hot", "app_O2", 400), fn("_dl_relocate_object", "ld.so", 900),
				   fn("memcpy", "libc.so.6", 100) };
	rows[0].classes[CLASS_ALU] = 400;
	rows[1].classes[CLASS_LOAD] = 900;
	rows[2].classes[CLASS_STORE] = 100;
	const char *mains[] = { "app_O0", "app_O2" };
	const char *ld[] = { "ld.so" }, *own[] = { "app_O0" };
	struct profile p = make(rows, 3, 0);
	struct dso_filter without_ld = { NULL, 0, ld, 1, mains, 2 };
	diff_filter_dsos(&p, "app_O2", &without_ld);
	assert_int_equal(p.nfuncs, 2);
	assert_int_equal(p.total, 500);
	assert_int_equal(p.classes[CLASS_LOAD], 0);
	assert_int_equal(p.classes[CLASS_ALU] + p.classes[CLASS_STORE], 500);
	/* The main executable by the other build's name. */
	struct dso_filter only_own = { own, 1, NULL, 0, mains, 2 };
	diff_filter_dsos(&p, "app_O2", &only_own);
	assert_int_equal(p.nfuncs, 1);
	assert_string_equal(p.funcs[0].name, "hot");
	assert_int_equal(p.total, 400);
}

static void test_function_gate(void **state)
{
	(void)state;
	struct func_row b[] = { fn("grew", "app", 100), fn("shrank", "app", 100),
				fn("grew_more", "app", 10), fn("gone", "app", 5) };
	struct func_row n[] = { fn("grew", "app", 120), fn("shrank", "app", 50),
				fn("grew_more", "app", 15), fn("fresh", "app", 1000) };
	struct profile pb = make(b, 4, 0), pn = make(n, 4, 0);
	struct diff d;
	diff_compute(&pb, &pn, NULL, NULL, &d);
	const struct diff_row *worst;
	/* +20% and +50%; the new function is not gated. */
	assert_int_equal(diff_functions_above(&d, 10, &worst), 2);
	assert_string_equal(worst->name, "grew_more");
	assert_int_equal(diff_functions_above(&d, 20, &worst), 1);
	assert_int_equal(diff_functions_above(&d, 50, &worst), 0);
	assert_null(worst);
	diff_free(&d);
}

static void test_mode_exact(void **state)
{
	assert_true(diff_mode_exact("step"));
	assert_true(diff_mode_exact("block"));
	assert_true(diff_mode_exact("cache"));
	assert_false(diff_mode_exact("sample"));
	assert_false(diff_mode_exact("?"));
	assert_false(diff_mode_exact(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_and_deltas),
		cmocka_unit_test(test_sorting),
		cmocka_unit_test(test_exe_alias),
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_fmt_delta),
		cmocka_unit_test(test_mode_exact),
		cmocka_unit_test(test_filter_dsos),
		cmocka_unit_test(test_function_gate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
