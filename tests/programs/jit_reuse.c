/*
 * jit_reuse.c - a tiny JIT whose two functions live at the same address,
 * one after the other, and which names them as JITs do for profilers: in
 * /tmp/perf-PID.map and in ./jit-PID.dump (announced by an executable mmap
 * of the file, as perf's jitdump specification asks).
 *
 *   1. maps a page RWX at A, writes jit_first there, names it, calls it;
 *   2. unmaps A and maps a page at the same address again (the JIT freed
 *      its code and reuses the space), writes jit_second, names it, calls it.
 *
 * Instruction counts, known by construction (each function is
 * `mov $N, %ecx; 1: dec %ecx; jnz 1b; ret`):
 *   jit_first  (N = FIRST_LOOPS = 1000):  1 + 2*1000 + 1 = 2002
 *   jit_second (N = SECOND_LOOPS = 3000): 1 + 2*3000 + 1 = 6002
 * Both start at A: whoever adds the counts by address alone gets 8004 for
 * one of them. A is 0x10000000 when that address is free (tests write
 * perf maps naming it before the program runs). The program prints A and
 * exits 0. Options (for the bad-input tests):
 *   --no-perf-map      write no perf map
 *   --no-jitdump       write no jitdump
 *   --hostile-map      malformed lines in the perf map, a name with an escape sequence
 *   --bad-jitdump      a record with an impossible size after the first function's
 *   --cut-jitdump      the jitdump ends in the middle of a record
 *   --foreign-map      give the perf map to uid 65534 (needs root)
 */
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define FIRST_LOOPS 1000
#define SECOND_LOOPS 3000
#define PAGE 4096

static int perf_map = -1, jitdump = -1;
static int hostile_map, bad_jitdump, cut_jitdump;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		exit(2);
}

static void open_jitdump(void)
{
	char path[64];
	snprintf(path, sizeof path, "jit-%d.dump", (int)getpid());
	jitdump = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (jitdump < 0)
		exit(2);
	struct {
		uint32_t magic, version, total_size, elf_mach, pad1, pid;
		uint64_t timestamp, flags;
	} h = { 0x4A695444, 1, 40, EM_X86_64, 0, (uint32_t)getpid(), now_ns(), 0 };
	put(jitdump, &h, sizeof h);
	/* The marker perf looks for: the file mapped executable. */
	if (mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, jitdump, 0) == MAP_FAILED)
		exit(2);
}

static void name_code(uint8_t *code, size_t size, const char *name, uint64_t index)
{
	char line[128];
	int n = snprintf(line, sizeof line, "%lx %zx %s\n", (unsigned long)code, size, name);
	if (perf_map >= 0)
		put(perf_map, line, (size_t)n);
	if (jitdump < 0)
		return;
	struct {
		uint32_t id, total_size;
		uint64_t timestamp;
		uint32_t pid, tid;
		uint64_t vma, code_addr, code_size, code_index;
	} __attribute__((packed)) r = { 0, 0, now_ns(), (uint32_t)getpid(), (uint32_t)gettid(),
					(uint64_t)code, (uint64_t)code, size, index };
	r.total_size = (uint32_t)(sizeof r + strlen(name) + 1 + size);
	put(jitdump, &r, sizeof r);
	put(jitdump, name, strlen(name) + 1);
	put(jitdump, code, size);
	if (bad_jitdump) { /* a record that claims to be larger than any code */
		uint32_t bad[4] = { 0, 0xfffffff0u, 0, 0 };
		put(jitdump, bad, sizeof bad);
	}
}

/* mov $loops, %ecx; 1: dec %ecx; jnz 1b; ret */
static size_t emit(uint8_t *p, uint32_t loops)
{
	static const uint8_t body[] = { 0xb9, 0, 0, 0, 0, 0xff, 0xc9, 0x75, 0xfc, 0xc3 };
	memcpy(p, body, sizeof body);
	memcpy(p + 1, &loops, 4);
	return sizeof body;
}

static uint8_t *map_code(void *at, int flags)
{
	void *p = mmap(at, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	if (p == MAP_FAILED && flags == MAP_FIXED_NOREPLACE)
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		exit(2);
	return p;
}

static bool has(int argc, char **argv, const char *opt)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], opt) == 0)
			return true;
	return false;
}

static void open_perf_map(bool foreign)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
	perf_map = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (perf_map < 0 || (foreign && fchown(perf_map, 65534, 65534) != 0))
		exit(2);
	if (hostile_map) {
		static const char hostile[] =
			"zz 10 not_hex\n"
			"1000 0 size_zero\n"
			"1000 ffffffffffffffff huge\n"
			"ffffffffffffff00 1000 wraps_around\n"
			"1000 10\n"
			"10000000 100000 overlapping_everything\n";
		put(perf_map, hostile, sizeof hostile - 1);
	}
}

int main(int argc, char **argv)
{
	hostile_map = has(argc, argv, "--hostile-map");
	bad_jitdump = has(argc, argv, "--bad-jitdump");
	cut_jitdump = has(argc, argv, "--cut-jitdump");
	if (!has(argc, argv, "--no-perf-map"))
		open_perf_map(has(argc, argv, "--foreign-map"));
	if (!has(argc, argv, "--no-jitdump"))
		open_jitdump();

	uint8_t *code = map_code((void *)0x10000000, MAP_FIXED_NOREPLACE);
	size_t n = emit(code, FIRST_LOOPS);
	name_code(code, n, hostile_map ? "jit_\x1b[31mfirst" : "jit_first", 1);
	((void (*)(void))code)();

	if (munmap(code, PAGE) != 0)
		return 2;
	uint8_t *again = map_code(code, MAP_FIXED);
	n = emit(again, SECOND_LOOPS);
	name_code(again, n, "jit_second", 2);
	((void (*)(void))again)();

	if (cut_jitdump) { /* a record header promising 64 bytes, and 4 of them */
		uint32_t cut[5] = { 0, 64, 0, 0, 0 };
		put(jitdump, cut, sizeof cut);
	}
	printf("%lx\n", (unsigned long)code);
	return 0;
}
