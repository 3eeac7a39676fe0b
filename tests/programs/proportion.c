/* proportion.c - two functions with the same loop body, run in a known
 * proportion: leaf (reached through main -> a -> b -> leaf) does 3 units of
 * work for every unit of other, so leaf takes 3/4 of the time and other 1/4.
 * argv[1] scales the run: a number of rounds (default 40), or "-t SECONDS"
 * of CPU time, so that a test asks for time and not for an amount of work
 * that a fast CPU finishes before enough samples are taken. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile unsigned long sink;

#define BODY(n) for (long i = 0; i < (n); i++) sink += (unsigned long)i ^ (sink >> 3)

__attribute__((noinline)) void leaf(long n) { BODY(n); }
__attribute__((noinline)) void b(long n) { leaf(n); }
__attribute__((noinline)) void a(long n) { b(n); }
__attribute__((noinline)) void other(long n) { BODY(n); }

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		/* Rounds as long as the default ones: the CPU clock is a syscall
		 * and calls cost instructions of a and b, both kept rare. */
		double until = atof(argv[2]);
		while (cpu_seconds() < until) {
			a(3 * 1000000);
			other(1000000);
		}
		printf("%lu\n", sink);
		return 0;
	}
	int rounds = argc > 1 ? atoi(argv[1]) : 40;
	long unit = argc > 2 ? atol(argv[2]) : 1000000;
	for (int r = 0; r < rounds; r++) {
		a(3 * unit);
		other(unit);
	}
	printf("%lu\n", sink);
	return 0;
}
