/* sleepers.c - two threads busy for a second of their own CPU time each
 * ("busy-1", "busy-2": as many samples under a CPU-clock sampler however
 * loaded the machine) and one asleep in nanosleep for a second ("sleeper"):
 * a CPU-clock sampler sees only the busy ones, a wall-clock sampler all
 * three. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static volatile unsigned long sink;

static double cpu_time(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *busy(void *arg)
{
	pthread_setname_np(pthread_self(), (const char *)arg);
	double end = cpu_time() + 1.0;
	while (cpu_time() < end)
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i;
	return NULL;
}

static void *sleeper(void *arg)
{
	pthread_setname_np(pthread_self(), "sleeper");
	struct timespec ts = { 1, 0 };
	nanosleep(&ts, NULL);
	return NULL;
}

int main(void)
{
	pthread_t t[3];
	pthread_create(&t[0], NULL, busy, "busy-1");
	pthread_create(&t[1], NULL, busy, "busy-2");
	pthread_create(&t[2], NULL, sleeper, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("done\n");
	return 0;
}
