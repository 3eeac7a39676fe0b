/* Blocks kept by file for later processes (warm_start.c): a file is known
 * by its identity, not its name, so a file rebuilt since (another inode,
 * size or time) starts cold; each file's blocks that ran come back once
 * each, in the order of their offsets, with how they were listed. */
#include "warm_start.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[] = "/tmp/prof-warm-XXXXXX";

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *text)
{
	char p[256];
	path_of(p, sizeof p, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int file_of(struct warm_start *w, const char *name)
{
	char p[256];
	path_of(p, sizeof p, name);
	return warm_start_file(w, p);
}

static void test_same_file_same_number_whatever_its_name(void **state)
{
	(void)state;
	struct warm_start *w = warm_start_new();
	write_file("a", "aaaa");
	write_file("b", "bbbb");
	char a[256], link[256];
	path_of(a, sizeof a, "a");
	path_of(link, sizeof link, "a-link");
	assert_int_equal(symlink(a, link), 0);
	int fa = file_of(w, "a"), fb = file_of(w, "b");
	assert_true(fa >= 0 && fb >= 0 && fa != fb);
	assert_int_equal(file_of(w, "a"), fa);
	assert_int_equal(file_of(w, "a-link"), fa);
	assert_int_equal(file_of(w, "missing"), -1);
	assert_int_equal(warm_start_file(w, dir), -1); /* not a regular file */
	warm_start_free(w);
}

static void test_a_file_rebuilt_is_another(void **state)
{
	(void)state;
	struct warm_start *w = warm_start_new();
	write_file("prog", "version 1");
	int before = file_of(w, "prog");
	warm_start_learn(w, before, 0x1000, WARM_RAN);
	write_file("prog", "version two"); /* same inode, other size */
	int after = file_of(w, "prog");
	assert_true(after >= 0 && after != before);
	size_t n;
	assert_null(warm_start_blocks(w, after, 0, UINT64_MAX, &n));
	assert_int_equal(n, 0);

	char p[256];
	path_of(p, sizeof p, "prog");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	struct timespec times[2] = { st.st_atim, { st.st_mtim.tv_sec - 10, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0); /* same size, other time */
	int touched = file_of(w, "prog");
	assert_true(touched >= 0 && touched != after && touched != before);
	warm_start_free(w);
}

static void test_blocks_in_range_sorted_once_each(void **state)
{
	(void)state;
	struct warm_start *w = warm_start_new();
	write_file("lib", "code");
	int f = file_of(w, "lib");
	uint64_t offs[] = { 0x5000, 0x1000, 0x3000, 0x9000, 0x1000, 0x2fff };
	for (size_t i = 0; i < sizeof offs / sizeof *offs; i++)
		warm_start_learn(w, f, offs[i], WARM_RAN);
	warm_start_learn(w, f, 0x3000, WARM_LISTED_OWN); /* listed later: kept */
	warm_start_learn(w, f, 0x5000, WARM_LISTED_ALL);
	warm_start_learn(w, f, 0x5000, WARM_RAN);
	warm_start_learn(w, f, 0x7000, WARM_LISTED_OWN); /* listed, never ran: not given */
	warm_start_learn(w, f, 0x6000, WARM_LISTED_OWN);
	warm_start_learn(w, f, 0x6000, WARM_RAN); /* ran after it was listed */
	assert_int_equal(warm_start_size(w), 6);

	size_t n;
	struct warm_block *b = warm_start_blocks(w, f, 0x1000, 0x9000, &n);
	assert_int_equal(n, 5);
	assert_int_equal(b[0].offset, 0x1000);
	assert_int_equal(b[0].listed, 0);
	assert_int_equal(b[1].offset, 0x2fff);
	assert_int_equal(b[2].offset, 0x3000);
	assert_int_equal(b[2].listed, WARM_LISTED_OWN);
	assert_int_equal(b[3].offset, 0x5000);
	assert_int_equal(b[3].listed, WARM_LISTED_ALL);
	assert_int_equal(b[4].offset, 0x6000);
	assert_int_equal(b[4].listed, WARM_LISTED_OWN);
	free(b);
	assert_null(warm_start_blocks(w, f, 0x9001, 0x10000, &n));
	assert_int_equal(n, 0);
	assert_null(warm_start_blocks(w, f + 1, 0, UINT64_MAX, &n)); /* no such file */
	assert_null(warm_start_blocks(w, -1, 0, UINT64_MAX, &n));
	warm_start_learn(w, -1, 0x1000, WARM_RAN); /* not a file: nothing */
	assert_int_equal(warm_start_size(w), 6);
	warm_start_free(w);
}

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	const char *names[] = { "a", "b", "a-link", "prog", "lib" };
	char p[256];
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		path_of(p, sizeof p, names[i]);
		unlink(p);
	}
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_file_same_number_whatever_its_name),
		cmocka_unit_test(test_a_file_rebuilt_is_another),
		cmocka_unit_test(test_blocks_in_range_sorted_once_each),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
