/* Sums an array with AVX-512 when the CPU says it has it, as programs built
 * for several CPUs do: under record --cpu x86-64-v4 the AVX-512 code runs
 * (on the real CPU) and counts exactly; under x86-64-v3 the program is told
 * there is none and takes its other path (test_cpu_model.py). */
#include <immintrin.h>
#include <stdio.h>

#define N 4096

__attribute__((target("avx512f"), noinline)) static int sum_avx512(const int *v, int n)
{
	__m512i acc = _mm512_setzero_si512();
	for (int i = 0; i < n; i += 16)
		acc = _mm512_add_epi32(acc, _mm512_loadu_si512(v + i));
	return _mm512_reduce_add_epi32(acc);
}

__attribute__((noinline)) static int sum_plain(const int *v, int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += v[i];
	return s;
}

int main(void)
{
	static int v[N];
	for (int i = 0; i < N; i++)
		v[i] = i % 7;
	int avx512 = __builtin_cpu_supports("avx512f");
	int s = avx512 ? sum_avx512(v, N) : sum_plain(v, N);
	printf("%s %d\n", avx512 ? "avx512" : "plain", s);
	return 0;
}
