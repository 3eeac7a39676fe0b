/* attachee.c - a program to attach to: two threads, mostly asleep, doing
 * known work between naps (10 ms), then a checksum per thread that does not
 * depend on timing: a tracer that attaches and detaches must not change it,
 * nor the exit status.
 *
 *   attachee [SECONDS]   naps for about SECONDS (default 3), then prints
 *                        "checksum A B naps N"
 *   attachee -           naps until its standard input ends, so the test,
 *                        not the machine's speed, decides how long it runs;
 *                        each byte read is answered with "pong" (after
 *                        work(200)), so a test knows the program ran since it
 *                        wrote; at the end one line per thread:
 *                        "thread T naps N checksum C", C being the checksum
 *                        of N naps (a test recomputes it).
 * Both threads exist when "ready" is printed. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void work(long n);

struct job {
	int naps;                  /* naps to take; -1: until told to stop */
	int done;                  /* naps taken */
	unsigned long hash;
};

static atomic_int stop;

static void nap_once(struct job *j)
{
	work(200);
	j->hash = (j->hash ^ (unsigned long)j->done) * 1099511628211ul;
	j->done++;
}

static void *napper(void *arg)
{
	struct job *j = arg;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	while (j->naps < 0 ? !atomic_load(&stop) : j->done < j->naps) {
		nap_once(j);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The main thread of "attachee -": naps in poll() on stdin, answers pings. */
static void serve_stdin(struct job *j)
{
	for (;;) {
		nap_once(j);
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		char buf[64];
		ssize_t n = read(0, buf, sizeof buf);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			work(200);
			printf("pong\n");
		}
		fflush(stdout);
	}
	atomic_store(&stop, 1);
}

int main(int argc, char **argv)
{
	int until_eof = argc > 1 && strcmp(argv[1], "-") == 0;
	double seconds = argc > 1 && !until_eof ? atof(argv[1]) : 3.0;
	struct job a = { until_eof ? -1 : (int)(seconds * 100), 0, 1469598103934665603ul }, b = a;
	pthread_t t;
	pthread_create(&t, NULL, napper, &b);
	printf("ready\n");
	fflush(stdout);
	if (until_eof)
		serve_stdin(&a);
	else
		napper(&a);
	pthread_join(t, NULL);
	if (until_eof)
		printf("thread 1 naps %d checksum %lx\nthread 2 naps %d checksum %lx\n", a.done, a.hash,
		       b.done, b.hash);
	else
		printf("checksum %lx %lx naps %d\n", a.hash, b.hash, a.naps);
	return 0;
}
