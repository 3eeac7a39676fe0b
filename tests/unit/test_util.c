/* Small helpers: count formatting and parsing, and the map list search. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "prof/maps.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_fmt_count(void **state)
{
	char buf[32];
	assert_string_equal(fmt_count(0, buf, sizeof buf), "0");
	assert_string_equal(fmt_count(7, buf, sizeof buf), "7");
	assert_string_equal(fmt_count(999, buf, sizeof buf), "999");
	assert_string_equal(fmt_count(1000, buf, sizeof buf), "1,000");
	assert_string_equal(fmt_count(100000, buf, sizeof buf), "100,000");
	assert_string_equal(fmt_count(1234567, buf, sizeof buf), "1,234,567");
	assert_string_equal(fmt_count(UINT64_MAX, buf, sizeof buf),
			    "18,446,744,073,709,551,615");
	/* Returns its buffer, so it can be used inline in printf. */
	assert_ptr_equal(fmt_count(1, buf, sizeof buf), buf);
}

static void test_fmt_count_small_buffer(void **state)
{
	/* Never writes past len and always terminates. */
	char buf[8];
	memset(buf, 'x', sizeof buf);
	fmt_count(1234567, buf, 4);
	assert_true(strlen(buf) <= 3);
	assert_int_equal(buf[4], 'x');
}

static void test_parse_count(void **state)
{
	assert_int_equal(parse_count("0"), 0);
	assert_int_equal(parse_count("20"), 20);
	assert_int_equal(parse_count("9223372036854775807"), INT64_MAX);
	assert_int_equal(parse_count("-1"), -1);
	assert_int_equal(parse_count("-20"), -1);
	assert_int_equal(parse_count(""), -1);
	assert_int_equal(parse_count(NULL), -1);
	assert_int_equal(parse_count("abc"), -1);
	assert_int_equal(parse_count("12abc"), -1);
	assert_int_equal(parse_count("1.5"), -1);
	assert_int_equal(parse_count("99999999999999999999"), -1); /* overflow */
}

static void test_basename_of(void **state)
{
	assert_string_equal(basename_of("/lib/x86_64-linux-gnu/libc.so.6"), "libc.so.6");
	assert_string_equal(basename_of("calls"), "calls");
	assert_string_equal(basename_of("[vdso]"), "[vdso]");
}

/* Three mappings with gaps between them, added out of order. */
static void make_list(struct map_list *l)
{
	memset(l, 0, sizeof *l);
	maps_add(l, 0x7f0000000000, 0x7f0000020000, 0x26000, MAP_PROT_R | MAP_PROT_X,
		 "/lib/x86_64-linux-gnu/libc.so.6");
	maps_add(l, 0x401000, 0x402000, 0x1000, MAP_PROT_R | MAP_PROT_X, "/bin/app");
	maps_add(l, 0x7ffff7fc1000, 0x7ffff7fc3000, 0, MAP_PROT_R | MAP_PROT_X, "[vdso]");
	maps_add(l, 0x500000, 0x501000, 0, MAP_PROT_R | MAP_PROT_W | MAP_PROT_X, "");
	maps_sort(l);
}

static void test_maps_find(void **state)
{
	struct map_list l;
	make_list(&l);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.v[0].start, 0x401000); /* sorted */
	assert_int_equal(l.v[3].start, 0x7ffff7fc1000);

	const struct map_entry *m;
	assert_null(maps_find(&l, 0));
	assert_null(maps_find(&l, 0x400fff));             /* just before the first */
	m = maps_find(&l, 0x401000);                        /* first byte */
	assert_non_null(m);
	assert_string_equal(m->path, "/bin/app");
	m = maps_find(&l, 0x401fff);                        /* last byte */
	assert_non_null(m);
	assert_string_equal(m->path, "/bin/app");
	assert_null(maps_find(&l, 0x402000));             /* end is exclusive */
	assert_null(maps_find(&l, 0x4fffff));             /* gap */
	m = maps_find(&l, 0x500800);
	assert_non_null(m);
	assert_string_equal(m->path, "");
	assert_int_equal(m->prot, MAP_PROT_R | MAP_PROT_W | MAP_PROT_X);
	m = maps_find(&l, 0x7f000001ffff);
	assert_non_null(m);
	assert_string_equal(m->path, "/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(m->pgoff, 0x26000);
	assert_null(maps_find(&l, 0x7f0000020000));       /* gap */
	m = maps_find(&l, 0x7ffff7fc2000);
	assert_non_null(m);
	assert_string_equal(m->path, "[vdso]");
	assert_null(maps_find(&l, UINT64_MAX));

	struct map_list empty = { 0 };
	assert_null(maps_find(&empty, 0x401000));
	maps_free(&l);
	assert_int_equal(l.n, 0);
}

static void test_maps_equal(void **state)
{
	struct map_list a, b;
	make_list(&a);
	make_list(&b);
	assert_true(maps_equal(&a, &b));
	assert_true(maps_equal(&a, &a));

	b.v[1].end += 0x1000;
	assert_false(maps_equal(&a, &b));
	b.v[1].end -= 0x1000;
	b.v[2].pgoff = 0x27000;
	assert_false(maps_equal(&a, &b));
	b.v[2].pgoff = a.v[2].pgoff;
	b.v[0].prot = MAP_PROT_R;
	assert_false(maps_equal(&a, &b));
	b.v[0].prot = a.v[0].prot;
	free(b.v[3].path);
	b.v[3].path = xstrdup("[vsyscall]");
	assert_false(maps_equal(&a, &b));
	free(b.v[3].path);
	b.v[3].path = xstrdup("[vdso]");
	assert_true(maps_equal(&a, &b));

	/* A different length is never equal, even as a prefix. */
	b.n--;
	assert_false(maps_equal(&a, &b));
	b.n++;
	maps_free(&a);
	maps_free(&b);
}

static void test_maps_read_self(void **state)
{
	/* This test's own code is in an executable mapping of its own file. */
	struct map_list l = { 0 };
	assert_int_equal(maps_read_exec(getpid(), &l), 0);
	maps_sort(&l);
	const struct map_entry *m = maps_find(&l, (uint64_t)(uintptr_t)&test_maps_read_self);
	assert_non_null(m);
	assert_true(m->prot & MAP_PROT_X);
	assert_non_null(strstr(m->path, "test_util"));
	for (size_t i = 0; i < l.n; i++)
		assert_true(l.v[i].prot & MAP_PROT_X); /* only executable maps */
	maps_free(&l);
	assert_true(maps_read_exec(-5, &l) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_count),
		cmocka_unit_test(test_fmt_count_small_buffer),
		cmocka_unit_test(test_parse_count),
		cmocka_unit_test(test_basename_of),
		cmocka_unit_test(test_maps_find),
		cmocka_unit_test(test_maps_equal),
		cmocka_unit_test(test_maps_read_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
