/* jumploop N: N times, a 20-deep recursion left by longjmp from its
 * deepest call, and every 8th time by a C++-style early exit through
 * siglongjmp. The shadow call stack must close the abandoned frames at
 * once: prof's memory stays bounded by the deepest real stack and its
 * time linear in N. Prints a checksum. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

static jmp_buf back;
static sigjmp_buf sigback;
static volatile unsigned sink;

__attribute__((noinline)) static unsigned dive(unsigned depth, unsigned round)
{
	sink += depth * round;
	if (depth == 20) {
		if (round % 8 == 7)
			siglongjmp(sigback, 1);
		longjmp(back, 1);
	}
	return dive(depth + 1, round) + 1; /* not a tail call */
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 100;
	for (volatile unsigned round = 0; round < n; round++) {
		if (setjmp(back) == 0 && sigsetjmp(sigback, 0) == 0)
			dive(0, round);
	}
	printf("%u\n", sink);
	return 0;
}
