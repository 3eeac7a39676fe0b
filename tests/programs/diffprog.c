/* One program built twice (diffprog_O0, diffprog_O2) for prof diff's test:
 * checksum() is the hot function, a loop over an array calling mix() per
 * element. noinline/noipa keep both functions, under the same names, in
 * every build, so the optimizer's gain shows per function. */
#include <stdio.h>
#include <stdlib.h>

#define N 4096

static unsigned data[N];

__attribute__((noinline, noipa)) static unsigned mix(unsigned x)
{
	x ^= x >> 7;
	x *= 0x9e3779b1u;
	return x ^ (x >> 13);
}

__attribute__((noinline, noipa)) static unsigned checksum(const unsigned *a, int n)
{
	unsigned sum = 0;
	for (int i = 0; i < n; i++)
		sum += mix(a[i]) + (unsigned)i;
	return sum;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 4;
	for (int i = 0; i < N; i++)
		data[i] = (unsigned)i * 2654435761u;
	unsigned s = 0;
	for (int r = 0; r < rounds; r++)
		s += checksum(data, N);
	printf("%u\n", s);
	return 0;
}
