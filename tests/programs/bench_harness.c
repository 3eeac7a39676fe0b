/*
 * bench_harness.c - a benchmark binary in the style of gungraun's (formerly
 * iai-callgrind) library benchmarks, in C: each benchmark is a function
 * with named inputs; the harness prepares an input outside the
 * measurement, measures one call between CALLGRIND_START_INSTRUMENTATION
 * and CALLGRIND_STOP_INSTRUMENTATION, and dumps it as a part named
 * "function::input" with CALLGRIND_DUMP_STATS_AT. Run with counting off
 * until the first START, under prof as under callgrind:
 *
 *   prof record --instr-atstart=no -o new.db -- ./bench_harness
 *   prof report -i new.db --by part
 *   prof diff base.db new.db --fail-above 1
 *
 *   valgrind --tool=callgrind --instr-atstart=no ./bench_harness
 *
 * Natively the requests do nothing: the program prints its results alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <valgrind/callgrind.h>

/* Keeps the compiler from dropping or hoisting a result. */
#define black_box(x) __asm__ volatile("" : : "g"(x) : "memory")

__attribute__((noinline)) uint64_t fibonacci(uint64_t n)
{
	return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

__attribute__((noinline)) void insertion_sort(int *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		int v = a[i];
		size_t j = i;
		for (; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

__attribute__((noinline)) uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

#define SORT_N 200
#define CRC_N 1024

static int numbers[SORT_N];
static uint8_t bytes[CRC_N];
static uint64_t results;        /* what the benchmarks computed, printed at the end */

/* One benchmark: prepared outside the measurement, measured, dumped as id. */
struct bench {
	const char *id;
	void (*setup)(int arg);
	void (*run)(int arg);
	int arg;
};

static void no_setup(int arg)
{
	(void)arg;
}

static void run_fibonacci(int n)
{
	uint64_t r = fibonacci((uint64_t)n);
	black_box(r);
	results += r;
}

static void setup_sort(int kind)
{
	uint32_t x = 12345;
	for (int i = 0; i < SORT_N; i++) {
		x = x * 1103515245u + 12345u;
		numbers[i] = kind == 0 ? SORT_N - i : kind == 1 ? i : (int)(x >> 16);
	}
}

static void run_sort(int kind)
{
	(void)kind;
	insertion_sort(numbers, SORT_N);
	black_box(numbers);
	results += (uint64_t)numbers[SORT_N / 2];
}

static void setup_bytes(int seed)
{
	for (int i = 0; i < CRC_N; i++)
		bytes[i] = (uint8_t)(i * 31 + seed);
}

static void run_crc32(int seed)
{
	(void)seed;
	uint32_t r = crc32(bytes, CRC_N);
	black_box(r);
	results += r;
}

static const struct bench benches[] = {
	{ "fibonacci::short", no_setup, run_fibonacci, 10 },
	{ "fibonacci::long", no_setup, run_fibonacci, 18 },
	{ "insertion_sort::reversed", setup_sort, run_sort, 0 },
	{ "insertion_sort::sorted", setup_sort, run_sort, 1 },
	{ "insertion_sort::random", setup_sort, run_sort, 2 },
	{ "crc32::1k", setup_bytes, run_crc32, 7 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof benches / sizeof *benches; i++) {
		const struct bench *b = &benches[i];
		b->setup(b->arg);
		CALLGRIND_START_INSTRUMENTATION;
		b->run(b->arg);
		CALLGRIND_STOP_INSTRUMENTATION;
		CALLGRIND_DUMP_STATS_AT(b->id);
	}
	printf("%zu benchmarks, results %llu\n", sizeof benches / sizeof *benches,
	       (unsigned long long)results);
	return 0;
}
