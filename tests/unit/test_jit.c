/* What JITs write for profilers, parsed from good and hostile bytes; code
 * generations; and the rule that gives each generation of an address the
 * name the JIT gave the code that lived there. */
#include "codegen.h"
#include "jit_names.h"
#include "prof/jitfile.h"
#include "prof/store.h"

#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static bool parse(const char *line, uint64_t *start, uint64_t *size, char *name)
{
	return perfmap_parse_line(line, strlen(line), start, size, name);
}

static void test_perf_map_lines(void **state)
{
	(void)state;
	uint64_t start, size;
	char name[JIT_MAX_NAME + 8];
	assert_true(parse("7f5080005b80 128 JS:^hot /tmp/hot.js:1:13", &start, &size, name));
	assert_int_equal(start, 0x7f5080005b80);
	assert_int_equal(size, 0x128);
	assert_string_equal(name, "JS:^hot /tmp/hot.js:1:13");
	/* Java writes 0x; Windows editors leave \r. */
	assert_true(parse("0x00007fc1a0ec7620 0x00000000000003b8 int Hot.hot(int)\r", &start, &size, name));
	assert_int_equal(start, 0x7fc1a0ec7620);
	assert_int_equal(size, 0x3b8);
	assert_string_equal(name, "int Hot.hot(int)");
	/* Control characters are escaped, never passed to a terminal. */
	assert_true(parse("1000 10 a\x1b[31mb\tc", &start, &size, name));
	assert_string_equal(name, "a\\x1b[31mb\\tc");
	static const char *const bad[] = {
		"", "1000", "1000 10", "1000 10 ", "zz 10 name", "1000 zz name", "1000 0 empty",
		"1000 ffffffffffffffff huge", "ffffffffffffff00 1000 wraps",
		"10000000000000000 10 too_many_digits", "1000x 10 junk_after_number",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(parse(bad[i], &start, &size, name));
}

static void test_long_names_are_cut(void **state)
{
	(void)state;
	char in[3 * JIT_MAX_NAME], out[JIT_MAX_NAME + 8];
	memset(in, '\n', sizeof in); /* each one escapes to two bytes */
	jit_escape_name(in, sizeof in, out);
	assert_true(strlen(out) < sizeof out);
	assert_string_equal(out + strlen(out) - 3, "...");
	memset(in, 'x', sizeof in);
	jit_escape_name(in, sizeof in, out);
	assert_int_equal(strlen(out), JIT_MAX_NAME + 3);
}

/* A jitdump file in memory: header, then records appended. */
struct dump {
	uint8_t buf[4096];
	size_t len;
};

static void put(struct dump *d, const void *p, size_t n)
{
	assert_true(d->len + n <= sizeof d->buf);
	memcpy(d->buf + d->len, p, n);
	d->len += n;
}

static void put_header(struct dump *d, uint32_t magic, uint32_t mach)
{
	struct {
		uint32_t magic, version, total_size, elf_mach, pad1, pid;
		uint64_t timestamp, flags;
	} h = { magic, 1, 40, mach, 0, 123, 5, 0 };
	put(d, &h, sizeof h);
}

struct __attribute__((packed)) load {
	uint32_t id, total_size;
	uint64_t timestamp;
	uint32_t pid, tid;
	uint64_t vma, code_addr, code_size, code_index;
};

static void put_load(struct dump *d, uint64_t addr, const char *name, const uint8_t *code,
		     size_t n, uint64_t index)
{
	struct load r = { 0, (uint32_t)(sizeof r + strlen(name) + 1 + n), 77, 123, 124, addr, addr,
			  n, index };
	put(d, &r, sizeof r);
	put(d, name, strlen(name) + 1);
	put(d, code, n);
}

static void test_jitdump(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0xb9, 1, 0, 0, 0, 0xc3 };
	struct dump d = { .len = 0 };
	put_header(&d, JITDUMP_MAGIC, EM_X86_64);
	put_load(&d, 0x7f0000001000, "JS:*hot", code, sizeof code, 9);
	struct __attribute__((packed)) {
		uint32_t id, total_size;
		uint64_t timestamp;
		uint32_t pid, tid;
		uint64_t vma, old, new_addr, size, index;
	} move = { 1, 64, 78, 123, 124, 0x7f0000002000, 0x7f0000001000, 0x7f0000002000, 6, 9 };
	put(&d, &move, sizeof move);
	struct { uint32_t id, total_size; uint64_t ts; } close_rec = { 3, 16, 79 };
	put(&d, &close_rec, sizeof close_rec);

	struct jitdump_header h;
	const char *why = NULL;
	assert_int_equal(jitdump_parse_header(d.buf, 39, &h, &why), JITDUMP_MORE);
	assert_int_equal(jitdump_parse_header(d.buf, d.len, &h, &why), JITDUMP_OK);
	assert_int_equal(h.pid, 123);
	size_t pos = h.total_size;
	static struct jitdump_record r;
	/* Every cut short of a whole record waits for more. */
	for (size_t cut = 0; cut < sizeof(struct load) + 8 + sizeof code; cut++)
		assert_int_equal(jitdump_parse_record(d.buf + pos, cut, &r, &why), JITDUMP_MORE);
	assert_int_equal(jitdump_parse_record(d.buf + pos, d.len - pos, &r, &why), JITDUMP_OK);
	assert_int_equal(r.id, JITDUMP_CODE_LOAD);
	assert_int_equal(r.code_addr, 0x7f0000001000);
	assert_int_equal(r.code_size, sizeof code);
	assert_int_equal(r.code_index, 9);
	assert_string_equal(r.name, "JS:*hot");
	assert_memory_equal(r.code, code, sizeof code);
	pos += r.total_size;
	assert_int_equal(jitdump_parse_record(d.buf + pos, d.len - pos, &r, &why), JITDUMP_OK);
	assert_int_equal(r.id, JITDUMP_CODE_MOVE);
	assert_int_equal(r.old_code_addr, 0x7f0000001000);
	assert_int_equal(r.code_addr, 0x7f0000002000);
	pos += r.total_size;
	assert_int_equal(jitdump_parse_record(d.buf + pos, d.len - pos, &r, &why), JITDUMP_OK);
	assert_int_equal(r.id, JITDUMP_CODE_CLOSE);
	assert_int_equal(pos + r.total_size, d.len);
}

static void test_jitdump_hostile(void **state)
{
	(void)state;
	struct jitdump_header h;
	struct dump d = { .len = 0 };
	const char *why = NULL;
	put_header(&d, __builtin_bswap32(JITDUMP_MAGIC), EM_X86_64);
	assert_int_equal(jitdump_parse_header(d.buf, d.len, &h, &why), JITDUMP_BAD);
	assert_non_null(strstr(why, "byte order"));
	d.len = 0;
	put_header(&d, JITDUMP_MAGIC, EM_AARCH64);
	assert_int_equal(jitdump_parse_header(d.buf, d.len, &h, &why), JITDUMP_BAD);

	static struct jitdump_record r;
	static const uint8_t code[4] = { 0xc3 };
	/* A record smaller than its own header, or larger than any code. */
	uint32_t tiny[4] = { 0, 8, 0, 0 }, huge[4] = { 0, 0xffffffffu, 0, 0 };
	assert_int_equal(jitdump_parse_record((uint8_t *)tiny, sizeof tiny, &r, &why), JITDUMP_BAD);
	assert_int_equal(jitdump_parse_record((uint8_t *)huge, sizeof huge, &r, &why), JITDUMP_BAD);
	/* Code that claims more bytes than its record holds. */
	d.len = 0;
	put_load(&d, 0x1000, "f", code, sizeof code, 1);
	((struct load *)d.buf)->code_size = 5000;
	assert_int_equal(jitdump_parse_record(d.buf, d.len, &r, &why), JITDUMP_BAD);
	/* A name that runs to the record's end without its NUL. */
	d.len = 0;
	struct load l = { 0, sizeof l + 3, 0, 1, 1, 0x1000, 0x1000, 0, 1 };
	put(&d, &l, sizeof l);
	put(&d, "abc", 3);
	assert_int_equal(jitdump_parse_record(d.buf, d.len, &r, &why), JITDUMP_BAD);
	/* A code range past the end of the address space. */
	d.len = 0;
	put_load(&d, UINT64_MAX - 1, "wraps", code, sizeof code, 1);
	assert_int_equal(jitdump_parse_record(d.buf, d.len, &r, &why), JITDUMP_BAD);
	/* Unknown kinds are skipped whole. */
	uint32_t other[6] = { 42, 24, 0, 0, 0xdead, 0xbeef };
	assert_int_equal(jitdump_parse_record((uint8_t *)other, sizeof other, &r, &why), JITDUMP_OK);
	assert_int_equal(r.total_size, 24);
}

static void test_code_generations(void **state)
{
	(void)state;
	struct code_gens g = { 0 };
	assert_int_equal(code_gens_at(&g, 0x1000), 0);
	assert_int_equal(code_gens_bump(&g, 0x1000, 0x3000), 1);
	assert_int_equal(code_gens_at(&g, 0xfff), 0);
	assert_int_equal(code_gens_at(&g, 0x1000), 1);
	assert_int_equal(code_gens_at(&g, 0x2fff), 1);
	assert_int_equal(code_gens_at(&g, 0x3000), 0);
	/* A change in the middle splits the range in three. */
	assert_int_equal(code_gens_bump(&g, 0x1800, 0x2000), 2);
	assert_int_equal(code_gens_at(&g, 0x17ff), 1);
	assert_int_equal(code_gens_at(&g, 0x1800), 2);
	assert_int_equal(code_gens_at(&g, 0x2000), 1);
	assert_int_equal(g.n, 3);
	/* One over everything replaces them all. */
	assert_int_equal(code_gens_bump(&g, 0x800, 0x4000), 3);
	assert_int_equal(g.n, 1);
	assert_int_equal(code_gens_at(&g, 0x1800), 3);
	assert_int_equal(code_gens_at(&g, 0x4000), 0);
	code_gens_free(&g);
}

/* Names read before and after code at one address changed, in a recording. */
static void test_names_by_generation(void **state)
{
	(void)state;
	char path[] = "/tmp/prof-test-jit-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	char err[256];
	sqlite3 *db = store_create(path, err, sizeof err);
	assert_non_null(db);
	/* first is named at clock 0, the code at 0x1000 changes (gen 1), second
	 * is named at clock 1; third is named at clock 1, before the code at
	 * 0x2000 changes (gen 2): a JIT that names code before making it
	 * executable (an mprotect, which does not replace code). */
	assert_int_equal(store_exec(db,
		"INSERT INTO jit_symbols(proc, start, size, name, source, stamp) VALUES"
		" (1, 4096, 16, 'first', 'perf-map', 0),"
		" (1, 4096, 16, 'second', 'perf-map', 1),"
		" (1, 8192, 16, 'third', 'perf-map', 1),"
		" (1, 12288, 16, 'gone', 'perf-map', 1),"
		" (2, 4096, 16, 'other process', 'perf-map', 0),"
		" (3, 4096, 16, 'buffered', 'perf-map', 2);"
		"INSERT INTO jit_symbols(proc, start, size, name, source, stamp, load_ns) VALUES"
		" (4, 4096, 16, 'a', 'jitdump', 5, 500), (4, 4096, 16, 'b', 'jitdump', 5, 1500);"
		"INSERT INTO code_gens(proc, gen, start, end, replaced, born_ns) VALUES"
		" (3, 1, 4096, 8192, 0, 100), (3, 2, 4096, 8192, 0, 200), (4, 1, 4096, 8192, 1, 1000);"
		"INSERT INTO code_gens(proc, gen, start, end, replaced) VALUES (1, 1, 4096, 8192, 0),"
		" (1, 2, 8192, 12288, 0), (1, 3, 12288, 16384, 1);"), 0);
	struct jit_names *jn = jit_names_load(db);
	assert_non_null(jn);
	assert_string_equal(jit_names_lookup(jn, 1, 4100, 0)->name, "first");
	assert_string_equal(jit_names_lookup(jn, 1, 4100, 1)->name, "second");
	assert_string_equal(jit_names_lookup(jn, 1, 8192, 2)->name, "third");
	/* The code at 0x3000 was unmapped (gen 3): its old name does not carry over. */
	assert_string_equal(jit_names_lookup(jn, 1, 12288, 0)->name, "gone");
	assert_null(jit_names_lookup(jn, 1, 12288, 3));
	assert_string_equal(jit_names_lookup(jn, 2, 4096, 0)->name, "other process");
	assert_null(jit_names_lookup(jn, 1, 4112, 1));   /* past its size */
	assert_null(jit_names_lookup(jn, 5, 4096, 0));   /* no such process */
	/* A buffered file read after the code changed twice (mprotect): its
	 * name still goes to the code that ran before. */
	assert_string_equal(jit_names_lookup(jn, 3, 4096, 1)->name, "buffered");
	/* Read together at the end, told apart by their load times: a before
	 * the code was unmapped (at 1000 ns), b after. */
	assert_string_equal(jit_names_lookup(jn, 4, 4096, 0)->name, "a");
	assert_string_equal(jit_names_lookup(jn, 4, 4096, 1)->name, "b");
	jit_names_free(jn);
	sqlite3_close(db);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perf_map_lines),
		cmocka_unit_test(test_long_names_are_cut),
		cmocka_unit_test(test_jitdump),
		cmocka_unit_test(test_jitdump_hostile),
		cmocka_unit_test(test_code_generations),
		cmocka_unit_test(test_names_by_generation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
