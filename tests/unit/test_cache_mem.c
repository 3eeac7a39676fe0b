/* The code cache's reads of the program's code, on this process's own
 * memory (/proc/self/mem): pages of code that only a syscall can change
 * are kept across stops and read once; a writable page is read afresh
 * every time; a change of the code or an int3 prof puts there makes a
 * kept page be read again. */
#include "block.h"
#include "cache.h"
#include "cache_mem.h"
#include "tracer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#define PAGE 4096ull

struct fixture {
	struct proc p;
	struct tracee t;
	struct cache c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_int_equal(maps_read_exec(getpid(), &f->p.maps), 0);
	f->p.as = aspace_new();
	f->p.as->cache = &f->c;
	f->t.tid = getpid();
	f->t.proc = &f->p;
	cache_mem_open(&f->c.mem, getpid());
	cache_mem_via(&f->c.mem, NULL, &f->t, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	cache_mem_close(&f->c.mem);
	f->p.as->cache = NULL;
	aspace_put(f->p.as);
	maps_free(&f->p.maps);
	free(f);
	return 0;
}

static size_t read_code(struct fixture *f, uint64_t pc, uint8_t out[16])
{
	return f->c.mem.ops->read_code(&f->c.mem, pc, out);
}

/* This test's own code: in an executable, private, read-only mapping. */
static uint64_t own_code(void)
{
	return (uint64_t)(uintptr_t)&read_code;
}

static void test_read_only_code_is_kept(void **state)
{
	struct fixture *f = *state;
	uint8_t got[16];
	uint64_t pc = own_code();
	assert_int_equal(read_code(f, pc, got), 16);
	assert_memory_equal(got, (const void *)(uintptr_t)pc, 16);
	assert_int_equal(f->c.mem.npages, (pc & (PAGE - 1)) > PAGE - 16 ? 2 : 1);
	size_t kept = f->c.mem.npages;
	/* Forgetting the window (every stop does) keeps the pages. */
	cache_mem_forget_code(&f->c.mem);
	assert_int_equal(read_code(f, pc + 1, got), 16);
	assert_memory_equal(got, (const void *)(uintptr_t)(pc + 1), 16);
	assert_int_equal(f->c.mem.npages, kept);
	/* 16 bytes across a page boundary come from two kept pages. */
	uint64_t edge = ((pc + PAGE) & ~(PAGE - 1)) - 5;
	const struct map_entry *e = maps_find(&f->p.maps, edge);
	if (e && e->end >= edge + 16 + PAGE) {
		assert_int_equal(read_code(f, edge, got), 16);
		assert_memory_equal(got, (const void *)(uintptr_t)edge, 16);
	}
}

static void test_changed_code_is_read_again(void **state)
{
	struct fixture *f = *state;
	uint8_t got[16];
	uint64_t pc = own_code();
	read_code(f, pc, got);
	size_t kept = f->c.mem.npages;
	assert_true(kept >= 1);
	cache_mem_forget_pages(&f->c.mem, pc & ~(PAGE - 1), (pc & ~(PAGE - 1)) + PAGE);
	assert_int_equal(f->c.mem.npages, kept - 1);
	/* A range wider than all kept pages (a JIT's reservation unmapped)
	 * forgets those inside it only. */
	read_code(f, pc, got);
	size_t before = f->c.mem.npages;
	cache_mem_forget_pages(&f->c.mem, 0x1000, 0x100000);
	assert_int_equal(f->c.mem.npages, before);
	cache_mem_forget_pages(&f->c.mem, 0x1000, UINT64_MAX - PAGE);
	assert_int_equal(f->c.mem.npages, 0);
	/* An int3 prof arms in a kept page: the page is read again. */
	read_code(f, pc, got);
	kept = f->c.mem.npages;
	assert_true(kept >= 1);
	aspace_bp_add(f->p.as, pc, got[0]);
	assert_int_equal(f->c.mem.npages, kept - 1);
}

static void test_writable_code_is_not_kept(void **state)
{
	struct fixture *f = *state;
	uint8_t *rwx = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(rwx != MAP_FAILED);
	memset(rwx, 0x90, PAGE);
	maps_free(&f->p.maps);
	assert_int_equal(maps_read_exec(getpid(), &f->p.maps), 0);
	uint8_t got[16];
	uint64_t pc = (uint64_t)(uintptr_t)rwx + 64;
	assert_int_equal(read_code(f, pc, got), 16);
	assert_int_equal(got[0], 0x90);
	assert_int_equal(f->c.mem.npages, 0);
	/* The program writes new code between two stops: the next stop sees it. */
	rwx[64] = 0xc3;
	cache_mem_forget_code(&f->c.mem);
	assert_int_equal(read_code(f, pc, got), 16);
	assert_int_equal(got[0], 0xc3);
	munmap(rwx, PAGE);
}

/* Words written in one gathered write where the memory is writable (a
 * lookup table), word by word through /proc/PID/mem where it is not; in
 * order either way (the last of two writes to a word stays). */
static void test_words_writable_or_not(void **state)
{
	struct fixture *f = *state;
	for (int writable = 1; writable >= 0; writable--) {
		uint64_t *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				      -1, 0);
		assert_true(page != MAP_FAILED);
		if (!writable)
			assert_int_equal(mprotect(page, PAGE, PROT_READ), 0);
		uint64_t addr[300], val[300];
		for (size_t i = 0; i < 300; i++) {
			addr[i] = (uint64_t)(uintptr_t)&page[i];
			val[i] = 0x1000 + i;
		}
		addr[299] = addr[0]; /* written first and last */
		uint64_t writes = f->c.mem.writes;
		assert_true(f->c.mem.ops->write_words(&f->c.mem, addr, val, 300));
		assert_int_equal(page[0], 0x1000 + 299);
		for (size_t i = 1; i < 299; i++)
			assert_int_equal(page[i], 0x1000 + i);
		/* Two gathered writes of 256 and 44 words; read-only, the first
		 * fails and each word goes through a pwrite. */
		assert_int_equal(f->c.mem.writes - writes, writable ? 2 : 1 + 300);
		munmap(page, PAGE);
	}
}

/* A large read (a call log) comes whole whether the program may read the
 * memory (process_vm_readv) or only prof may (/proc/PID/mem: memory mapped
 * without PROT_READ); small reads and large ones give the same bytes. */
static void test_large_reads_readable_or_not(void **state)
{
	struct fixture *f = *state;
	const size_t size = 8 * PAGE;
	for (int readable = 1; readable >= 0; readable--) {
		uint8_t *area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				     -1, 0);
		assert_true(area != MAP_FAILED);
		for (size_t i = 0; i < size; i++)
			area[i] = (uint8_t)(i * 7 + readable);
		if (!readable)
			assert_int_equal(mprotect(area, size, PROT_EXEC), 0);
		uint8_t *whole = malloc(size), small[64];
		assert_true(f->c.mem.ops->read(&f->c.mem, (uint64_t)(uintptr_t)area, whole, size));
		assert_true(f->c.mem.ops->read(&f->c.mem, (uint64_t)(uintptr_t)area + 4000, small,
					       sizeof small));
		assert_memory_equal(small, whole + 4000, sizeof small);
		assert_int_equal(mprotect(area, size, PROT_READ), 0);
		assert_memory_equal(whole, area, size);
		free(whole);
		munmap(area, size);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_only_code_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_code_is_read_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writable_code_is_not_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_words_writable_or_not, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_reads_readable_or_not, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
