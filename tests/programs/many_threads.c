/* many_threads.c [SPAWNERS [EACH]] - main starts SPAWNERS threads (default
 * 16), each of which starts EACH threads (default 12) as fast as it can and
 * joins them; every thread does a little work. Many creators at once make
 * many new threads stop before their creator's clone event is seen: the
 * tracer must keep all of them. Prints the number of threads it started. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long each = 12;
static volatile unsigned long sink;

static void *worker(void *arg)
{
	for (long i = 0; i < 20; i++)
		sink += (unsigned long)i + (unsigned long)arg;
	return NULL;
}

static void *spawner(void *arg)
{
	pthread_t *t = calloc((size_t)each, sizeof *t);
	long started = 0;
	for (long i = 0; t && i < each; i++)
		started += pthread_create(&t[i], NULL, worker, arg) == 0;
	for (long i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	return (void *)(started == each ? 0l : 1l);
}

int main(int argc, char **argv)
{
	long spawners = argc > 1 ? atol(argv[1]) : 16;
	each = argc > 2 ? atol(argv[2]) : 12;
	pthread_t t[256];
	if (spawners < 1 || spawners > 256 || each < 1)
		return 2;
	for (long i = 0; i < spawners; i++)
		if (pthread_create(&t[i], NULL, spawner, (void *)i) != 0)
			return 1;
	int failed = 0;
	for (long i = 0; i < spawners; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		failed |= ret != NULL;
	}
	printf("%ld threads\n", spawners * (1 + each));
	return failed;
}
