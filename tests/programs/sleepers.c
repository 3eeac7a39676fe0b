/* sleepers.c - two threads busy for a second of their own CPU time each
 * ("busy-1", "busy-2": as many samples under a CPU-clock sampler however
 * loaded the machine) and one asleep ("sleeper", blocked in read) for as
 * long as busy-1 runs, however long that takes: a CPU-clock sampler sees
 * only the busy ones, a wall-clock sampler all three, the sleeper at about
 * every tick it samples busy-1 (a fixed second of sleep saw fewer ticks the
 * more loaded the machine). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static int wake[2]; /* busy-1 closes the write end when it is done */

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
	if (strcmp(arg, "busy-1") == 0)
		close(wake[1]);
	return NULL;
}

static void *sleeper(void *arg)
{
	pthread_setname_np(pthread_self(), "sleeper");
	char c;
	while (read(wake[0], &c, 1) > 0)
		;
	return NULL;
}

int main(void)
{
	pthread_t t[3];
	if (pipe(wake) != 0)
		return 2;
	pthread_create(&t[2], NULL, sleeper, NULL);
	pthread_create(&t[0], NULL, busy, "busy-1");
	pthread_create(&t[1], NULL, busy, "busy-2");
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("done\n");
	return 0;
}
