/*
 * affinity.c - what a program learns of its CPU affinity: the CPUs it may
 * run on, then the mask after it confines itself to its last CPU, and
 * whether it then runs there. prof pins the programs it traces to one CPU;
 * the output must be the same with and without prof.
 */
#include <sched.h>
#include <stdio.h>

static void print_mask(const char *when)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) != 0) {
		perror("sched_getaffinity");
		return;
	}
	printf("%s: %d cpus:", when, CPU_COUNT(&set));
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			printf(" %d", c);
	printf("\n");
}

int main(void)
{
	print_mask("start");
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return 1;
	int last = -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			last = c;
	CPU_ZERO(&set);
	CPU_SET(last, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		perror("sched_setaffinity");
		return 1;
	}
	print_mask("after setting");
	printf("runs on its cpu: %s\n", sched_getcpu() == last ? "yes" : "no");
	return 0;
}
