/* Function ranges of stripped programs: .eh_frame FDEs give sub_<address>
 * symbols with the same extent as the real ones; a separate debug file named
 * by .gnu_debuglink gives the real names and the source lines back; source
 * lines are found without .debug_aranges too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "prof/elf_file.h"
#include "prof/lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CFUNCS_PATH
#error "CFUNCS_PATH must name the built tests/programs/cfuncs"
#endif

#define LIBSTDCXX_PATH "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"

static const char *const cfuncs_functions[] = { "fill_data", "sum_data", "fib", "hash_text", "main" };

static const struct elf_symbol *find_sym(const struct elf_file *ef, const char *name)
{
	for (size_t i = 0; i < ef->nsyms; i++)
		if (strcmp(ef->syms[i].name, name) == 0)
			return &ef->syms[i];
	return NULL;
}

static void run(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

struct tmp {
	char dir[64];
	char path[128];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);
	strcpy(t->dir, "/tmp/prof-test-ehframe-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof t->path, "%s/cfuncs", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", t->dir);
	free(t);
	return 0;
}

/* Every C function of cfuncs has an FDE with exactly its symbol's extent. */
static void test_fde_ranges_match_symbols(void **state)
{
	struct elf_range *r;
	size_t n = elf_eh_frame_functions(CFUNCS_PATH, &r);
	assert_true(n >= 5);
	for (size_t i = 1; i < n; i++)
		assert_true(r[i - 1].start <= r[i].start);
	struct elf_file *ef = elf_file_open(CFUNCS_PATH);
	assert_non_null(ef);
	assert_int_equal(ef->nsynthetic, 0); /* it has .symtab: no sub_ names */
	for (size_t k = 0; k < sizeof cfuncs_functions / sizeof *cfuncs_functions; k++) {
		const struct elf_symbol *s = find_sym(ef, cfuncs_functions[k]);
		assert_non_null(s);
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found |= r[i].start == s->addr && r[i].end == s->addr + s->size;
		if (!found)
			fail_msg("no FDE for %s [%#lx, %#lx)", s->name, (unsigned long)s->addr,
				 (unsigned long)(s->addr + s->size));
	}
	free(r);
	elf_file_close(ef);
	/* Not ELF, or no .eh_frame: no ranges. */
	assert_int_equal(elf_eh_frame_functions("/nonexistent/file", &r), 0);
	assert_null(r);
}

/* strip removes .symtab: each function becomes sub_<address>, same extent. */
static void test_stripped_sub_names(void **state)
{
	struct tmp *t = *state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "'%s' -o '%s' '%s'", STRIP_PATH, t->path, CFUNCS_PATH);
	run(cmd);
	struct elf_file *full = elf_file_open(CFUNCS_PATH);
	struct elf_file *stripped = elf_file_open(t->path);
	assert_non_null(full);
	assert_non_null(stripped);
	assert_null(stripped->debug_path);
	assert_true(stripped->nsynthetic >= 5);
	assert_string_equal(stripped->build_id, full->build_id);
	for (size_t k = 0; k < sizeof cfuncs_functions / sizeof *cfuncs_functions; k++) {
		const struct elf_symbol *s = find_sym(full, cfuncs_functions[k]);
		assert_non_null(s);
		char want[32];
		snprintf(want, sizeof want, "sub_%lx", (unsigned long)s->addr);
		const struct elf_symbol *sub = elf_file_lookup(stripped, s->addr);
		assert_non_null(sub);
		assert_string_equal(sub->name, want);
		assert_int_equal(sub->addr, s->addr);
		assert_int_equal(sub->size, s->size);
		assert_ptr_equal(elf_file_lookup(stripped, s->addr + s->size - 1), sub);
		assert_int_equal(elf_file_symbol_end(stripped, sub), s->addr + s->size);
	}
	/* No DWARF is left: no source lines. */
	assert_null(lines_open(stripped));
	elf_file_close(full);
	elf_file_close(stripped);
}

/* objcopy --only-keep-debug + --add-gnu-debuglink: the debug file next to
 * the binary gives the real names and the source lines. */
static void test_debuglink(void **state)
{
	struct tmp *t = *state;
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && '%s' --only-keep-debug '%s' cfuncs.debug && '%s' -o cfuncs '%s' && "
		 "'%s' --add-gnu-debuglink=cfuncs.debug cfuncs",
		 t->dir, OBJCOPY_PATH, CFUNCS_PATH, STRIP_PATH, CFUNCS_PATH, OBJCOPY_PATH);
	run(cmd);
	struct elf_file *ef = elf_file_open(t->path);
	assert_non_null(ef);
	assert_non_null(ef->debug_path);
	assert_non_null(strstr(ef->debug_path, "cfuncs.debug"));
	assert_int_equal(ef->nsynthetic, 0);
	const struct elf_symbol *s = find_sym(ef, "sum_data");
	assert_non_null(s);
	struct line_table *lt = lines_open(ef);
	assert_non_null(lt);
	const char *file;
	int line;
	assert_true(lines_lookup(lt, s->addr, &file, &line));
	assert_non_null(strstr(file, "cfuncs.c"));
	assert_true(line > 0);
	lines_close(lt);
	elf_file_close(ef);
}

/* Without .debug_aranges (clang does not emit it) dwarf_addrdie finds no
 * compilation unit: the units' own address ranges are used instead. */
static void test_lines_without_aranges(void **state)
{
	struct tmp *t = *state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "'%s' --remove-section .debug_aranges '%s' '%s'", OBJCOPY_PATH,
		 CFUNCS_PATH, t->path);
	run(cmd);
	struct elf_file *ef = elf_file_open(t->path);
	assert_non_null(ef);
	struct line_table *lt = lines_open(ef);
	assert_non_null(lt);
	for (size_t k = 0; k < sizeof cfuncs_functions / sizeof *cfuncs_functions; k++) {
		const struct elf_symbol *s = find_sym(ef, cfuncs_functions[k]);
		assert_non_null(s);
		const char *file;
		int line;
		assert_true(lines_lookup(lt, s->addr + s->size - 1, &file, &line));
		assert_non_null(strstr(file, "cfuncs.c"));
		assert_non_null(lines_source_text(lt, file, line));
	}
	const char *file;
	int line;
	assert_false(lines_lookup(lt, 0x10, &file, &line));
	lines_close(lt);
	elf_file_close(ef);
}

/* C++ code has CIEs with personality and LSDA ("zPLR"): still every FDE decodes. */
static void test_cxx_library(void **state)
{
	if (access(LIBSTDCXX_PATH, R_OK) != 0)
		skip();
	struct elf_range *r;
	size_t n = elf_eh_frame_functions(LIBSTDCXX_PATH, &r);
	assert_true(n > 1000);
	struct elf_file *ef = elf_file_open(LIBSTDCXX_PATH);
	assert_non_null(ef);
	for (size_t i = 0; i < n; i++) {
		assert_true(r[i].start < r[i].end);
		bool in_load = false;
		for (size_t k = 0; k < ef->nloads; k++)
			in_load |= r[i].start >= ef->loads[k].vaddr &&
				   r[i].end <= ef->loads[k].vaddr + ef->loads[k].memsz;
		assert_true(in_load);
	}
	free(r);
	elf_file_close(ef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fde_ranges_match_symbols),
		cmocka_unit_test_setup_teardown(test_stripped_sub_names, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_debuglink, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_lines_without_aranges, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_cxx_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
