/*
 * client_requests.c - valgrind's client requests, built against valgrind's
 * own headers (valgrind.h, callgrind.h), one scenario per argument:
 *
 *   parts    dumps with and without names, ZERO_STATS, TOGGLE_COLLECT,
 *            toggles nested two deep
 *   region   START/STOP_INSTRUMENTATION around work (run --instr-atstart=no)
 *   threads  two threads toggling their own collection at once, then a
 *            third that dumps (run --collect-atstart=no)
 *   signal   the requests in a signal handler (run --collect-atstart=no)
 *   fork     the requests in a forked child (run --instr-atstart=no)
 *   running  takes one path under valgrind, another natively
 *   bad      requests prof cannot use: an unmapped argument block, an
 *            unknown code, dump names unterminated, with control
 *            characters, unreadable (each twice)
 *   repeat N N times: toggle, work(3), toggle (run --collect-atstart=no):
 *            2N requests, work 8N
 *
 * The work counted is work(n) (work.S: 2n + 2 instructions), so every
 * part's count of work is known by construction; the expected counts are
 * in tests/integration/test_client_requests.py. Each scenario prints what
 * the requests returned: the same natively and under prof.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

void work(long n);

static void parts(void)
{
	work(100);
	CALLGRIND_DUMP_STATS_AT("setup");       /* part 1: setup, work 202 */
	work(1000);
	CALLGRIND_ZERO_STATS;
	work(2000);
	CALLGRIND_DUMP_STATS;                   /* part 2: work 4002 (1000 zeroed) */
	CALLGRIND_TOGGLE_COLLECT;
	work(300);
	CALLGRIND_TOGGLE_COLLECT;
	work(400);
	CALLGRIND_DUMP_STATS_AT("toggled");     /* part 3: work 802 */
	CALLGRIND_TOGGLE_COLLECT;               /* off */
	CALLGRIND_TOGGLE_COLLECT;               /* on */
	work(500);
	CALLGRIND_TOGGLE_COLLECT;               /* off */
	work(600);
	CALLGRIND_TOGGLE_COLLECT;               /* on */
	CALLGRIND_DUMP_STATS_AT("nested");      /* part 4: work 1002 */
	work(700);                              /* part 5 (the end): work 1402 */
}

static void region(void)
{
	work(50);
	CALLGRIND_START_INSTRUMENTATION;
	work(1000);                             /* work 2002: all that is counted of it */
	CALLGRIND_STOP_INSTRUMENTATION;
	work(70);
}

static void *toggling(void *arg)
{
	CALLGRIND_TOGGLE_COLLECT;
	work((long)arg);
	CALLGRIND_TOGGLE_COLLECT;
	return NULL;
}

static void *dumping(void *arg)
{
	(void)arg;
	CALLGRIND_TOGGLE_COLLECT;
	work(3000);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("third thread"); /* part 1: work 2002 + 4002 + 6002 */
	return NULL;
}

static int threads(void)
{
	pthread_t a, b, c;
	if (pthread_create(&a, NULL, toggling, (void *)1000L) ||
	    pthread_create(&b, NULL, toggling, (void *)2000L))
		return 1;
	work(10);                               /* main's collection is off */
	if (pthread_join(a, NULL) || pthread_join(b, NULL))
		return 1;
	if (pthread_create(&c, NULL, dumping, NULL) || pthread_join(c, NULL))
		return 1;
	work(20);                               /* part 2: no work */
	return 0;
}

static void handler(int sig)
{
	(void)sig;
	CALLGRIND_TOGGLE_COLLECT;
	work(250);
	CALLGRIND_TOGGLE_COLLECT;
	CALLGRIND_DUMP_STATS_AT("handler");     /* part 1: work 502 */
}

static int signal_handler(void)
{
	if (signal(SIGUSR1, handler) == SIG_ERR || raise(SIGUSR1) != 0)
		return 1;
	work(10);                               /* part 2: no work */
	return 0;
}

static int forked(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		CALLGRIND_START_INSTRUMENTATION;
		work(1500);
		CALLGRIND_STOP_INSTRUMENTATION;
		CALLGRIND_DUMP_STATS_AT("child");   /* part 1: work 3002 */
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	work(20);                               /* the parent's instrumentation is off */
	return 0;
}

static void running(void)
{
	unsigned long on = RUNNING_ON_VALGRIND;
	if (on) {
		work(100);
		printf("running on valgrind (%lu)\n", on);
	} else {
		work(200);
		printf("running natively\n");
	}
}

/* A request whose argument block is wherever the caller says. */
static unsigned long raw_request(const void *args, unsigned long dflt)
{
	unsigned long result;
	__asm__ volatile(__SPECIAL_INSTRUCTION_PREAMBLE "xchgq %%rbx,%%rbx"
			 : "=d"(result) : "a"(args), "0"(dflt) : "cc", "memory");
	return result;
}

static int bad(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *unmapped = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *long_name = malloc(4096);
	if (unmapped == MAP_FAILED || !long_name)
		return 1;
	memset(long_name, 'a', 4096);
	for (int round = 0; round < 2; round++) {
		unsigned long r1 = raw_request(unmapped, 17);
		unsigned long r2 = VALGRIND_DO_CLIENT_REQUEST_EXPR(42, 0x12340000 + round, 1, 2, 3, 4, 5);
		printf("unmapped arguments: %lu, unknown request: %lu\n", r1, r2);
		work(100);
		CALLGRIND_DUMP_STATS_AT(long_name); /* no NUL in 4096 bytes */
		work(200);
		CALLGRIND_DUMP_STATS_AT("two\nlines");
		work(300);
		CALLGRIND_DUMP_STATS_AT(unmapped);
	}
	work(400);
	return 0;
}

static void repeat(long n)
{
	for (long i = 0; i < n; i++) {
		CALLGRIND_TOGGLE_COLLECT;
		work(3);
		CALLGRIND_TOGGLE_COLLECT;
	}
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	int rc = 0;
	if (strcmp(what, "parts") == 0)
		parts();
	else if (strcmp(what, "region") == 0)
		region();
	else if (strcmp(what, "threads") == 0)
		rc = threads();
	else if (strcmp(what, "signal") == 0)
		rc = signal_handler();
	else if (strcmp(what, "fork") == 0)
		rc = forked();
	else if (strcmp(what, "running") == 0)
		running();
	else if (strcmp(what, "bad") == 0)
		rc = bad();
	else if (strcmp(what, "repeat") == 0 && argc > 2)
		repeat(atol(argv[2]));
	else
		rc = 2;
	printf("%s: %s\n", what, rc ? "failed" : "done");
	return rc;
}
