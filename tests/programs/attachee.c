/* attachee.c - runs for about SECONDS (argv[1], default 3) in two threads,
 * mostly asleep, doing known work between naps, then prints a checksum that
 * does not depend on timing: a tracer that attaches and detaches must not
 * change it, nor the exit status. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void work(long n);

struct job {
	int naps;
	unsigned long hash;
};

static void *napper(void *arg)
{
	struct job *j = arg;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	j->hash = 1469598103934665603ul;
	for (int i = 0; i < j->naps; i++) {
		work(200);
		j->hash = (j->hash ^ (unsigned long)i) * 1099511628211ul;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	struct job a = { (int)(seconds * 100), 0 }, b = a;
	pthread_t t;
	printf("ready\n");
	fflush(stdout);
	pthread_create(&t, NULL, napper, &b);
	napper(&a);
	pthread_join(t, NULL);
	printf("checksum %lx %lx naps %d\n", a.hash, b.hash, a.naps);
	return 0;
}
