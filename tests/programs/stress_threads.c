/* stress_threads.c - ROUNDS times: 16 threads start, each runs spin() for
 * its own number of iterations, and are joined, while the main thread forks
 * a child that execs /bin/true (or exits). The program's own functions run
 * a fixed number of instructions whatever the interleaving: a tracer must
 * count them the same every time. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 16
#define ROUNDS 3

static volatile unsigned long sink[THREADS];

__attribute__((noinline)) unsigned long spin(unsigned long n)
{
	unsigned long x = n;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + i;
	return x;
}

static void *worker(void *arg)
{
	long i = (long)arg;
	sink[i] += spin(500 + 37 * (unsigned long)i);
	return NULL;
}

static void fork_exec(int round)
{
	pid_t p = fork();
	if (p == 0) {
		if (round % 2 == 0)
			execl("/bin/true", "true", (char *)NULL);
		_exit(7);
	}
	int status;
	waitpid(p, &status, 0);
}

int main(void)
{
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t t[THREADS];
		for (long i = 0; i < THREADS; i++)
			if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
				return 1;
		fork_exec(r);
		for (int i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
	}
	unsigned long sum = 0;
	for (int i = 0; i < THREADS; i++)
		sum += sink[i];
	printf("stress %lx\n", sum);
	return 0;
}
