/* deeprec DEPTH CALLS: recursions DEPTH deep, as many as make CALLS calls
 * in all: the same work at any depth. bench/depth.sh times prof on it at
 * depth 1,000 and 100,000: a return must cost the same at any depth. */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long down(unsigned long depth)
{
	unsigned long below = depth ? down(depth - 1) : 0;
	sink += below; /* after the call: it stays a real call, not a loop */
	return below + 1;
}

int main(int argc, char **argv)
{
	unsigned long depth = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	unsigned long calls = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	unsigned long total = 0;
	for (unsigned long done = 0; done < calls; done += depth + 1)
		total += down(depth) - 1;
	printf("deeprec %lu\n", total);
	return 0;
}
