/* threads.c - several threads each run work(n) with a known n; one thread
 * blocks in a read() while the others run, and is released by the last
 * worker. Threads are named "worker-N" (n = 1000 * N) so a test can match
 * each thread's work() count with 2n + 2. main itself runs work(500).
 * Expected: work total = sum over N=1..3 of (2000N + 2) + (2*500 + 2). */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

void work(long n);

static int release_pipe[2];

static void *worker(void *arg)
{
	long id = (long)arg;
	char name[16];
	snprintf(name, sizeof name, "worker-%ld", id);
	pthread_setname_np(pthread_self(), name);
	work(1000 * id);
	if (id == 3 && write(release_pipe[1], "x", 1) != 1)
		return (void *)1;
	return NULL;
}

static void *blocker(void *arg)
{
	char c;
	pthread_setname_np(pthread_self(), "blocker");
	/* Blocks in a syscall until worker 3 writes: the others must keep running. */
	return read(release_pipe[0], &c, 1) == 1 ? NULL : (void *)1;
}

int main(void)
{
	pthread_t t[4];
	if (pipe(release_pipe) != 0)
		return 1;
	pthread_create(&t[0], NULL, blocker, NULL);
	for (long i = 1; i <= 3; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	work(500);
	void *ret;
	int failed = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &ret);
		failed |= ret != NULL;
	}
	printf("threads done\n");
	return failed;
}
