/*
 * dlswap.c - libraries loaded and unloaded in a loop while another thread
 * runs, for the code cache's invalidation (test_codechange.py).
 *
 * A thread calls work(100) (work.S, 202 instructions) WORKER_CALLS = 300
 * times. Meanwhile main, ROUNDS = 4 times: dlopen(libdlswap_a.so), its
 * lib_work(50) (2n + 2 = 102), dlclose; then dlopen(libdlswap_b.so), whose
 * lib_work has the same name, is mapped where a's was when the kernel
 * gives the same place (it prints how many rounds it did), and runs
 * 3n + 2 = 152; dlclose. By construction:
 *   work (the worker)            300 * 202 = 60,600
 *   lib_work in libdlswap_a.so   4 * 102   =    408
 *   lib_work in libdlswap_b.so   4 * 152   =    608
 * Prints "same address N" (rounds where b's lib_work sat at a's address).
 * argv[1]: the directory of the libraries.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 4
#define WORKER_CALLS 300

void work(long n);

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < WORKER_CALLS; i++)
		work(100);
	return NULL;
}

/* Loads dir/name, runs its lib_work(50), unloads it; returns where it was. */
static void *run_library(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		exit(2);
	}
	void (*f)(long) = (void (*)(long))dlsym(h, "lib_work");
	if (!f) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		exit(2);
	}
	f(50);
	if (dlclose(h) != 0) {
		fprintf(stderr, "dlclose: %s\n", dlerror());
		exit(2);
	}
	return (void *)f;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	pthread_t t;
	int same = 0;
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		return 2;
	for (int r = 0; r < ROUNDS; r++) {
		void *a = run_library(dir, "libdlswap_a.so");
		void *b = run_library(dir, "libdlswap_b.so");
		same += a == b;
	}
	if (pthread_join(t, NULL) != 0)
		return 2;
	printf("same address %d\n", same);
	return 0;
}
