/* proportion.c - two functions with the same loop body, run in a known
 * proportion: leaf (reached through main -> a -> b -> leaf) does 3 units of
 * work for every unit of other, so leaf takes 3/4 of the time and other 1/4.
 * argv[1] scales the run (default 40 rounds, about a second here). */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

#define BODY(n) for (long i = 0; i < (n); i++) sink += (unsigned long)i ^ (sink >> 3)

__attribute__((noinline)) void leaf(long n) { BODY(n); }
__attribute__((noinline)) void b(long n) { leaf(n); }
__attribute__((noinline)) void a(long n) { b(n); }
__attribute__((noinline)) void other(long n) { BODY(n); }

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 40;
	long unit = argc > 2 ? atol(argv[2]) : 1000000;
	for (int r = 0; r < rounds; r++) {
		a(3 * unit);
		other(unit);
	}
	printf("%lu\n", sink);
	return 0;
}
