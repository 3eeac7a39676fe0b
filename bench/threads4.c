/* threads4 N: four threads each run intloop's integer loop for N
 * iterations (different seeds); prints the checksums. A multi-threaded
 * workload for bench/cache.sh. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct job {
	long n;
	uint64_t seed, result;
};

static void *work(void *arg)
{
	struct job *j = arg;
	uint64_t a = j->seed, b = 12345, acc = 0;
	for (long i = 0; i < j->n; i++) {
		a = a * 6364136223846793005ULL + 1442695040888963407ULL;
		b ^= a >> 29;
		b += (uint64_t)i * 3;
		if (b & 1)
			acc += b >> 7;
		else
			acc ^= b << 3;
	}
	j->result = acc ^ a;
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 30000;
	struct job jobs[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){ n, 0x9e3779b97f4a7c15ULL + (uint64_t)i, 0 };
		if (pthread_create(&t[i], NULL, work, &jobs[i]) != 0)
			return 1;
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("threads4 %ld: %llx %llx %llx %llx\n", n, (unsigned long long)jobs[0].result,
	       (unsigned long long)jobs[1].result, (unsigned long long)jobs[2].result,
	       (unsigned long long)jobs[3].result);
	return 0;
}
