/*
 * gapmeter.c SECONDS - what a sampling profiler costs the program, seen from
 * inside: spins for SECONDS reading the clock and counts the gaps longer than
 * 5 us between two reads (the program was stopped or preempted). Prints the
 * number of gaps, the time lost per second of run, and the median gap.
 * bench/sample.sh runs it natively and under each profiler: the difference
 * in gaps is the profiler's stops, the median gap the cost of one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_GAPS 100000
#define GAP_S 5e-6

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	static double gaps[MAX_GAPS];
	long n = 0;
	double start = now(), prev = start, lost = 0;
	for (double t = start; t - start < seconds; prev = t) {
		t = now();
		if (t - prev > GAP_S) {
			if (n < MAX_GAPS)
				gaps[n] = t - prev;
			n++;
			lost += t - prev;
		}
	}
	long kept = n < MAX_GAPS ? n : MAX_GAPS;
	qsort(gaps, (size_t)kept, sizeof *gaps, by_value);
	printf("%ld %.3f %.1f\n", n, lost / seconds * 1e3, kept ? gaps[kept / 2] * 1e6 : 0.0);
	return 0;
}
