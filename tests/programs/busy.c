/* busy THREADS [OPTIONS...]: THREADS threads (the leader among them)
 * compute in rounds until SIGUSR1 or SIGTERM: recursions with calls and
 * returns, string functions, flags-dependent arithmetic, flags saved and
 * restored with pushf and popf (stepped, a popf kept the trap flag: the
 * program died of SIGTRAP after prof detached), a longjmp now and then. Every round must give the first round's result: a tracer that
 * attaches, detaches or dies and leaves a thread wrong makes it exit 1; a
 * crash ends it by its signal. Prints "ready" once every thread has
 * finished its first round, and at the end "ok 1". Options:
 *   blocked   the leader only waits for the others (in pthread_join)
 *   zombie    the leader leaves by pthread_exit: the others finish alone
 *   churn     one more thread starts and joins short-lived threads all along
 *   handlers  SIGSEGV and SIGTRAP handlers that make it exit 3 (nothing of
 *             prof's may reach them), and SIGTRAP blocked */
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static pthread_barrier_t first_round;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* Says which signal, its code, address and where the thread stood: the
 * first thing to know when prof harmed the program. */
static void on_fault(int sig, siginfo_t *si, void *context)
{
	const ucontext_t *uc = context;
	char msg[160];
	int n = snprintf(msg, sizeof msg,
			 "busy: a signal of prof's reached the program: %d code %d addr %p pc %#llx\n", sig,
			 si->si_code, si->si_addr, (unsigned long long)uc->uc_mcontext.gregs[REG_RIP]);
	if (write(2, msg, (size_t)n) < 0)
		_exit(4);
	_exit(3);
}

static bool has_option(int argc, char **argv, const char *name)
{
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}



__attribute__((noinline)) static unsigned long mix(unsigned long x, int depth, jmp_buf *out)
{
	char buf[64];
	if (depth == 0) {
		if ((x & 15) == 3)
			longjmp(*out, (int)(x & 0xff) | 1);
		return x * 0x9e3779b97f4a7c15ul;
	}
	snprintf(buf, sizeof buf, "%lx-%d", x, depth);
	unsigned long h = x ^ strlen(buf);
	for (const char *p = buf; *p; p++)
		h = (h << 5) + h + (unsigned char)*p;
	return mix(h + (h < x), depth - 1, out) + depth; /* carries cross blocks */
}

/* One mix that may end by longjmp from its deepest call. */
__attribute__((noinline)) static unsigned long mix_or_jump(unsigned long x)
{
	jmp_buf out;
	int jumped = setjmp(out);
	return jumped ? (unsigned long)jumped : mix(x, 12, &out);
}

/* x + y, and its carry, the flags kept across the add. */
static unsigned long with_flags_kept(unsigned long x, unsigned long y)
{
	unsigned long carry;
	__asm__ volatile("pushfq\n\t"
			 "mov %1, %0\n\t"
			 "add %2, %0\n\t"
			 "setc %b0\n\t"
			 "movzbq %b0, %0\n\t"
			 "popfq"
			 : "=&r"(carry) : "r"(x), "r"(y) : "cc", "memory");
	return x + y + carry;
}

static unsigned long round_of(unsigned long seed)
{
	unsigned long sum = 0;
	for (unsigned long i = 0; i < 200; i++)
		sum = with_flags_kept(sum, mix_or_jump(seed + i));
	return sum;
}

static void *short_lived(void *arg)
{
	return (void *)(round_of((unsigned long)arg) & 1);
}

/* Threads that start and end while prof attaches and detaches. */
static void *churn(void *arg)
{
	unsigned long n = 0;
	(void)arg;
	while (!stop) {
		pthread_t t;
		void *r;
		if (pthread_create(&t, NULL, short_lived, (void *)n++) == 0)
			pthread_join(t, &r);
	}
	return NULL;
}

static void *worker(void *arg)
{
	unsigned long seed = (unsigned long)arg, want = round_of(seed), rounds = 1;
	pthread_barrier_wait(&first_round);
	while (!stop) {
		if (round_of(seed) != want) {
			fprintf(stderr, "busy: thread %lu: round %lu differs\n", seed, rounds);
			exit(1);
		}
		rounds++;
	}
	return (void *)rounds;
}

static pthread_t *start_workers(int n)
{
	pthread_t *t = calloc((size_t)n, sizeof *t);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, (void *)(unsigned long)(i + 1));
	return t;
}

static void announce(void)
{
	pthread_barrier_wait(&first_round);
	printf("ready\n");
	fflush(stdout);
}

/* The workers' end, from whichever thread waits for them. */
static unsigned long join_workers(pthread_t *t, int n)
{
	unsigned long total = 0;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (unsigned long)r;
	}
	return total;
}

struct zombie_end {
	pthread_t *workers;
	int n;
};

static void *finish_for_zombie(void *arg)
{
	struct zombie_end *z = arg;
	unsigned long total = join_workers(z->workers, z->n);
	printf("ok %lu\n", total > 0 ? 1ul : 0ul);
	fflush(stdout);
	exit(0);
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	bool blocked = has_option(argc, argv, "blocked"), zombie = has_option(argc, argv, "zombie");
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (has_option(argc, argv, "handlers")) {
		struct sigaction fault = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
		sigaction(SIGSEGV, &fault, NULL);
		sigaction(SIGTRAP, &fault, NULL);
		sigset_t trap;
		sigemptyset(&trap);
		sigaddset(&trap, SIGTRAP);
		sigprocmask(SIG_BLOCK, &trap, NULL);
	}
	if (has_option(argc, argv, "churn")) {
		pthread_t c;
		pthread_create(&c, NULL, churn, NULL);
	}
	int others = blocked || zombie ? threads : threads - 1;
	pthread_barrier_init(&first_round, NULL, (unsigned)others + 1);
	pthread_t *t = start_workers(others);
	if (zombie) {
		static struct zombie_end z;
		z = (struct zombie_end){ t, others };
		pthread_t f;
		pthread_create(&f, NULL, finish_for_zombie, &z);
		announce();
		pthread_exit(NULL);
	}
	unsigned long total = 0;
	if (blocked) {
		announce();
	} else {
		unsigned long want = round_of(0);
		announce();
		while (!stop) {
			if (round_of(0) != want) {
				fprintf(stderr, "busy: leader: a round differs\n");
				return 1;
			}
			total++;
		}
	}
	total += join_workers(t, others);
	printf("ok %lu\n", total > 0 ? 1ul : 0ul);
	return 0;
}
