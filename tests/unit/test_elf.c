/* ELF reading (symbols, segments, build-id) on the oracle program `calls`,
 * and PC symbolization through recorded mappings for a PIE executable
 * (cfuncs), the system libc, the vDSO and anonymous memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "prof/elf_file.h"
#include "prof/lines.h"
#include "prof/lines_prefetch.h"
#include "prof/store.h"
#include "prof/symbolize.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CALLS_PATH
#error "CALLS_PATH must name the built tests/programs/calls"
#endif
#ifndef CFUNCS_PATH
#error "CFUNCS_PATH must name the built tests/programs/cfuncs"
#endif

#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"
#define PAGE 0x1000ull
#define PIE_BASE 0x555555554000ull
#define LIBC_BASE 0x7f0000000000ull
#define VDSO_START 0x7ffff7fc1000ull
#define ANON_START 0x7ffff7000000ull

static const struct elf_symbol *find_sym(const struct elf_file *ef, const char *name)
{
	for (size_t i = 0; i < ef->nsyms; i++)
		if (strcmp(ef->syms[i].name, name) == 0)
			return &ef->syms[i];
	return NULL;
}

/* Names that share an address: the plain global name wins over versioned
 * (memcpy@@GLIBC_2.14) and local aliases, whatever their sort order. */
static void test_preferred_alias(void **state)
{
	struct elf_file *ef = elf_file_open(LIBC_PATH);
	assert_non_null(ef);
	static const char *const names[] = { "memcpy", "strlen", "malloc", "getenv" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		const struct elf_symbol *s = find_sym(ef, names[i]);
		assert_non_null(s);
		const struct elf_symbol *hit = elf_file_lookup(ef, s->addr);
		assert_non_null(hit);
		assert_string_equal(hit->name, names[i]);
		assert_null(strchr(hit->name, '@'));
	}
	/* One symbol per address after choosing. */
	for (size_t i = 1; i < ef->nsyms; i++)
		assert_true(ef->syms[i - 1].addr < ef->syms[i].addr);
	elf_file_close(ef);
}

/* ---- elf_file on a static, non-PIE program ---- */

static void test_calls_symbols(void **state)
{
	struct elf_file *ef = elf_file_open(CALLS_PATH);
	assert_non_null(ef);
	assert_false(ef->is_dyn); /* linked -static -no-pie */

	const struct elf_symbol *start = find_sym(ef, "_start");
	const struct elf_symbol *outer = find_sym(ef, "outer");
	const struct elf_symbol *inner = find_sym(ef, "inner");
	const struct elf_symbol *addimm = find_sym(ef, "addimm");
	assert_non_null(start);
	assert_non_null(outer);
	assert_non_null(inner);
	assert_non_null(addimm);
	assert_null(find_sym(ef, "ncalls")); /* a data object, not a function */
	assert_int_equal(start->addr, 0x401000); /* the default static link address */
	assert_true(start->addr < outer->addr && outer->addr < inner->addr &&
		    inner->addr < addimm->addr);
	assert_int_equal(inner->size, addimm->addr - inner->addr); /* from .size */

	for (size_t i = 1; i < ef->nsyms; i++)
		assert_true(ef->syms[i - 1].addr <= ef->syms[i].addr); /* sorted */

	assert_ptr_equal(elf_file_lookup(ef, inner->addr), inner);
	assert_ptr_equal(elf_file_lookup(ef, inner->addr + 1), inner);
	assert_ptr_equal(elf_file_lookup(ef, inner->addr + inner->size - 1), inner);
	assert_ptr_equal(elf_file_lookup(ef, inner->addr + inner->size), addimm);
	assert_ptr_equal(elf_file_lookup(ef, outer->addr + 3), outer);
	assert_ptr_equal(elf_file_lookup(ef, start->addr), start);
	assert_null(elf_file_lookup(ef, start->addr - 1)); /* before the first symbol */
	assert_null(elf_file_lookup(ef, 0));
	assert_null(elf_file_lookup(ef, addimm->addr + addimm->size)); /* past the last */
	elf_file_close(ef);
}

static void test_calls_segments(void **state)
{
	struct elf_file *ef = elf_file_open(CALLS_PATH);
	assert_non_null(ef);
	assert_true(ef->nloads >= 2);

	/* Find the segment that holds the code. */
	const struct elf_symbol *inner = find_sym(ef, "inner");
	assert_non_null(inner);
	size_t text = ef->nloads;
	for (size_t i = 0; i < ef->nloads; i++)
		if (inner->addr >= ef->loads[i].vaddr &&
		    inner->addr < ef->loads[i].vaddr + ef->loads[i].memsz)
			text = i;
	assert_true(text < ef->nloads);
	/* Static non-PIE: file offset and link address agree modulo the page. */
	assert_int_equal(ef->loads[text].vaddr % PAGE, ef->loads[text].offset % PAGE);

	uint64_t vaddr = 0;
	assert_true(elf_file_offset_to_vaddr(ef, ef->loads[text].offset, &vaddr));
	assert_int_equal(vaddr, ef->loads[text].vaddr);
	uint64_t inner_off = inner->addr - ef->loads[text].vaddr + ef->loads[text].offset;
	assert_true(elf_file_offset_to_vaddr(ef, inner_off, &vaddr));
	assert_int_equal(vaddr, inner->addr);
	/* Far beyond the file: no segment. */
	assert_false(elf_file_offset_to_vaddr(ef, 0x10000000, &vaddr));
	elf_file_close(ef);
}

static bool is_hex40(const char *s)
{
	if (strlen(s) != 40)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static void test_build_id(void **state)
{
	struct elf_file *ef = elf_file_open(CALLS_PATH);
	assert_non_null(ef);
	assert_true(ef->build_id[0] == '\0' || is_hex40(ef->build_id));
	char bid[41];
	memset(bid, 'x', sizeof bid);
	elf_read_build_id(CALLS_PATH, bid);
	assert_string_equal(bid, ef->build_id);
	elf_file_close(ef);

	/* Two different binaries do not share a build-id. */
	char other[41];
	elf_read_build_id(CFUNCS_PATH, other);
	if (bid[0] && other[0])
		assert_string_not_equal(bid, other);
	/* Unreadable and non-ELF files give "". */
	memset(bid, 'x', sizeof bid);
	elf_read_build_id("/nonexistent/file", bid);
	assert_string_equal(bid, "");
}

static void test_open_errors(void **state)
{
	errno = 0;
	assert_null(elf_file_open("/nonexistent/file"));
	assert_int_equal(errno, ENOENT);
	char path[] = "/tmp/prof-test-elf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an ELF file\n", 16), 16);
	close(fd);
	errno = 0;
	assert_null(elf_file_open(path));
	assert_int_equal(errno, ENOEXEC);
	unlink(path);
}

/* libc is stripped (.dynsym only). When its debug file is installed under
 * /usr/lib/debug/.build-id, the full symbol table must come from there:
 * glibc's internal __GI_ aliases are in .symtab, never in .dynsym. */
static void test_debug_file_symbols(void **state)
{
	char bid[41], dbg[128];
	elf_read_build_id(LIBC_PATH, bid);
	if (!bid[0])
		skip();
	snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
	if (access(dbg, R_OK) != 0) {
		print_message("no %s: debug symbols not installed\n", dbg);
		skip();
	}
	struct elf_file *ef = elf_file_open(LIBC_PATH);
	assert_non_null(ef);
	size_t internal = 0;
	for (size_t i = 0; i < ef->nsyms; i++)
		internal += strncmp(ef->syms[i].name, "__GI_", 5) == 0;
	assert_true(internal > 0);
	assert_string_equal(ef->build_id, bid); /* still the library's own */
	assert_true(ef->nloads > 0);
	elf_file_close(ef);
}

/* ---- symbolizer_resolve through a recorded process ---- */

struct sym_fixture {
	char dir[64], db_path[96];
	sqlite3 *db;
	struct elf_file *cfuncs, *libc;
	struct symbolizer *sym;
};

static void insert_map(sqlite3 *db, uint64_t start, uint64_t end, uint64_t pgoff,
		       const char *path, const char *build_id)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
		"INSERT INTO maps(proc, start, end, pgoff, prot, path, build_id, seen_ns)"
		" VALUES(1, ?, ?, ?, 5, ?, ?, 1)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)start);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)end);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)pgoff);
	sqlite3_bind_text(st, 4, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, build_id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* One mapping per PT_LOAD segment, placed at base as the loader would:
 * page-aligned start and file offset. */
static void map_segments(sqlite3 *db, const struct elf_file *ef, uint64_t base)
{
	for (size_t i = 0; i < ef->nloads; i++) {
		uint64_t start = base + (ef->loads[i].vaddr & ~(PAGE - 1));
		uint64_t end = base + ((ef->loads[i].vaddr + ef->loads[i].memsz + PAGE - 1) & ~(PAGE - 1));
		insert_map(db, start, end, ef->loads[i].offset & ~(PAGE - 1), ef->path, ef->build_id);
	}
}

static int sym_setup(void **state)
{
	struct sym_fixture *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/prof-test-sym-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db_path, sizeof f->db_path, "%s/prof.db", f->dir);
	char err[256];
	f->db = store_create(f->db_path, err, sizeof err);
	f->cfuncs = elf_file_open(CFUNCS_PATH);
	f->libc = elf_file_open(LIBC_PATH);
	if (!f->db || !f->cfuncs || !f->libc)
		return -1;
	store_exec(f->db, "INSERT INTO processes(id, pid, ppid, exe) VALUES(1, 100, 1, 'cfuncs')");
	map_segments(f->db, f->cfuncs, PIE_BASE);
	map_segments(f->db, f->libc, LIBC_BASE);
	insert_map(f->db, VDSO_START, VDSO_START + 2 * PAGE, 0, "[vdso]", "");
	insert_map(f->db, ANON_START, ANON_START + PAGE, 0, "", "");
	f->sym = symbolizer_new(f->db);
	*state = f;
	return f->sym ? 0 : -1;
}

static int sym_teardown(void **state)
{
	struct sym_fixture *f = *state;
	symbolizer_free(f->sym);
	elf_file_close(f->cfuncs);
	elf_file_close(f->libc);
	sqlite3_close(f->db);
	char *cmd;
	if (asprintf(&cmd, "rm -rf '%s'", f->dir) > 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", f->dir);
		free(cmd);
	}
	free(f);
	return 0;
}

static void test_resolve_pie(void **state)
{
	struct sym_fixture *f = *state;
	assert_true(f->cfuncs->is_dyn);
	const struct elf_symbol *fib = find_sym(f->cfuncs, "fib");
	assert_non_null(fib);
	assert_true(fib->size > 4);
	/* A PIE links at 0: the runtime pc is base + link address. */
	uint64_t pc = PIE_BASE + fib->addr + fib->size / 2;
	struct symbol_ref ref;
	symbolizer_resolve(f->sym, 1, pc, 0, &ref);
	assert_string_equal(ref.function, "fib");
	assert_string_equal(ref.dso, "cfuncs");
	assert_string_equal(ref.dso_path, CFUNCS_PATH);
	assert_int_equal(ref.sym_start, PIE_BASE + fib->addr);

	const struct elf_symbol *main_sym = find_sym(f->cfuncs, "main");
	assert_non_null(main_sym);
	symbolizer_resolve(f->sym, 1, PIE_BASE + main_sym->addr, 0, &ref);
	assert_string_equal(ref.function, "main");
}

/* A plain (not IFUNC) libc function with some size to aim inside. */
static const struct elf_symbol *pick_libc_function(const struct elf_file *libc)
{
	static const char *const names[] = { "getenv", "abort", "printf", "malloc" };
	for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
		const struct elf_symbol *s = find_sym(libc, names[n]);
		if (s && s->size >= 8)
			return s;
	}
	return NULL;
}

/* libc's symbol table has aliases (getenv and __GI_getenv share an address),
 * so the resolved name must be one of the symbols at that address. */
static bool is_alias_of(const struct elf_file *ef, const char *name,
			const struct elf_symbol *fn)
{
	for (size_t i = 0; i < ef->nsyms; i++)
		if (ef->syms[i].addr == fn->addr && strcmp(ef->syms[i].name, name) == 0)
			return true;
	return false;
}

static void test_resolve_shared_library(void **state)
{
	struct sym_fixture *f = *state;
	assert_true(f->libc->is_dyn);
	const struct elf_symbol *fn = pick_libc_function(f->libc);
	assert_non_null(fn);
	uint64_t pc = LIBC_BASE + fn->addr + fn->size / 2;
	struct symbol_ref ref;
	symbolizer_resolve(f->sym, 1, pc, 0, &ref);
	if (!is_alias_of(f->libc, ref.function, fn))
		fail_msg("pc in %s resolved to %s", fn->name, ref.function);
	assert_string_equal(ref.dso, "libc.so.6");
	assert_string_equal(ref.dso_path, LIBC_PATH);
	assert_int_equal(ref.sym_start, LIBC_BASE + fn->addr);
	/* The last byte of the function is still in it; the next one is not. */
	symbolizer_resolve(f->sym, 1, LIBC_BASE + fn->addr + fn->size - 1, 0, &ref);
	assert_true(is_alias_of(f->libc, ref.function, fn));
	symbolizer_resolve(f->sym, 1, LIBC_BASE + fn->addr + fn->size, 0, &ref);
	assert_false(is_alias_of(f->libc, ref.function, fn));
}

static void test_resolve_special(void **state)
{
	struct sym_fixture *f = *state;
	struct symbol_ref ref;

	symbolizer_resolve(f->sym, 1, VDSO_START + 0x123, 0, &ref);
	assert_string_equal(ref.function, "[vdso]");
	assert_string_equal(ref.dso, "[vdso]");

	symbolizer_resolve(f->sym, 1, ANON_START + 0x10, 0, &ref);
	assert_string_equal(ref.function, "[anon]");
	assert_string_equal(ref.dso, "[anon]");

	/* Unmapped: between the mappings, below them all, and an unknown process. */
	symbolizer_resolve(f->sym, 1, 0x1000, 0, &ref);
	assert_string_equal(ref.function, "[unknown]");
	symbolizer_resolve(f->sym, 1, LIBC_BASE - 1, 0, &ref);
	assert_string_equal(ref.function, "[unknown]");
	const struct elf_symbol *fib = find_sym(f->cfuncs, "fib");
	symbolizer_resolve(f->sym, 7, PIE_BASE + fib->addr, 0, &ref);
	assert_string_equal(ref.function, "[unknown]");
}

/* A binary rebuilt since recording (its build-id differs) must not be
 * misread: its code shows as [unknown], with a warning. */
static void test_resolve_changed_binary(void **state)
{
	struct sym_fixture *f = *state;
	/* As if cfuncs had been rebuilt after the recording. */
	assert_int_equal(store_exec(f->db, "UPDATE maps SET build_id ="
		" '00112233445566778899aabbccddeeff00112233' WHERE path LIKE '%/cfuncs'"), 0);
	assert_int_equal(sqlite3_changes(f->db), (int)f->cfuncs->nloads);
	struct symbolizer *s = symbolizer_new(f->db);
	assert_non_null(s);
	const struct elf_symbol *fib = find_sym(f->cfuncs, "fib");
	struct symbol_ref ref;
	symbolizer_resolve(s, 1, PIE_BASE + fib->addr + 1, 0, &ref);
	assert_string_equal(ref.function, "[unknown]");
	assert_string_equal(ref.dso, "cfuncs");
	/* libc, unchanged, still resolves. */
	const struct elf_symbol *fn = pick_libc_function(f->libc);
	assert_non_null(fn);
	symbolizer_resolve(s, 1, LIBC_BASE + fn->addr, 0, &ref);
	assert_true(is_alias_of(f->libc, ref.function, fn));
	symbolizer_free(s);
}

/* ---- line tables opened ahead (lines_prefetch) ---- */

/* A table opened by the prefetch thread answers as one opened here; it is
 * handed out only for the build id it was opened with, and only for files
 * handed in. */
static void test_lines_prefetch(void **state)
{
	(void)state;
	struct elf_file *ef = elf_file_open(CFUNCS_PATH);
	assert_non_null(ef);
	const struct elf_symbol *fib = find_sym(ef, "fib");
	assert_non_null(fib);
	struct lines_prefetch *lp = lines_prefetch_start();
	assert_non_null(lp);
	lines_prefetch_add(lp, CFUNCS_PATH);
	lines_prefetch_add(lp, CFUNCS_PATH); /* once per path */
	lines_prefetch_add(lp, "[vdso]");    /* not a file: ignored */
	assert_null(lines_prefetch_take(lp, CFUNCS_PATH, "0123")); /* another build */
	struct line_table *ahead = lines_prefetch_take(lp, CFUNCS_PATH, ef->build_id);
	assert_non_null(ahead);
	assert_null(lines_prefetch_take(lp, CFUNCS_PATH, ef->build_id)); /* taken once */
	assert_null(lines_prefetch_take(lp, CALLS_PATH, "")); /* never handed in */
	/* A file with no line table is no answer: the caller opens it itself. */
	lines_prefetch_add(lp, "/nonexistent/file");
	assert_null(lines_prefetch_take(lp, "/nonexistent/file", ""));
	struct line_table *here = lines_open(ef);
	assert_non_null(here);
	const char *file_ahead, *file_here;
	int line_ahead, line_here;
	assert_true(lines_lookup(ahead, fib->addr, &file_ahead, &line_ahead));
	assert_true(lines_lookup(here, fib->addr, &file_here, &line_here));
	assert_string_equal(file_ahead, file_here);
	assert_int_equal(line_ahead, line_here);
	assert_non_null(strstr(file_ahead, "cfuncs.c"));
	lines_close(ahead);
	lines_close(here);
	lines_prefetch_stop(lp);
	elf_file_close(ef);
}

/* Stopped before a file was asked for: what was opened is freed (no leak
 * under the sanitizers), what was not is left. */
static void test_lines_prefetch_stop_untaken(void **state)
{
	(void)state;
	struct lines_prefetch *lp = lines_prefetch_start();
	assert_non_null(lp);
	lines_prefetch_add(lp, CFUNCS_PATH);
	lines_prefetch_add(lp, CALLS_PATH);
	lines_prefetch_add(lp, "/nonexistent/file");
	lines_prefetch_stop(lp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_symbols),
		cmocka_unit_test(test_preferred_alias),
		cmocka_unit_test(test_calls_segments),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_debug_file_symbols),
		cmocka_unit_test(test_lines_prefetch),
		cmocka_unit_test(test_lines_prefetch_stop_untaken),
		cmocka_unit_test_setup_teardown(test_resolve_pie, sym_setup, sym_teardown),
		cmocka_unit_test_setup_teardown(test_resolve_shared_library, sym_setup, sym_teardown),
		cmocka_unit_test_setup_teardown(test_resolve_special, sym_setup, sym_teardown),
		cmocka_unit_test_setup_teardown(test_resolve_changed_binary, sym_setup, sym_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
