/* sigjmp.c - signal handlers that leave by siglongjmp, deterministically.
 *
 * Five times, a recursion raises SIGALRM synchronously (kill(getpid()))
 * at a depth that varies per round; the handler siglongjmps out of the
 * handler and of every nested frame back to main.  Then one SIGSEGV, from
 * a store through a bad pointer deep in a recursion, is caught by a
 * handler that siglongjmps back too (the signal mask is restored by
 * sigsetjmp(..., 1), so SIGSEGV is deliverable again afterwards).
 * Prints a result that depends on every step; exit status 0.
 * For the step == other-modes comparisons: about 30k instructions. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile sig_atomic_t depth_at_signal;
static volatile unsigned long acc;
static volatile int *volatile bad = (volatile int *)16;

static void on_alarm(int sig)
{
	acc = acc * 31 + (unsigned long)sig + (unsigned long)depth_at_signal;
	siglongjmp(env, 1);
}

static void on_segv(int sig)
{
	acc = acc * 37 + (unsigned long)sig;
	siglongjmp(env, 2);
}

__attribute__((noinline)) static unsigned long dive(int depth, int stop, int fault)
{
	unsigned long x = (unsigned long)depth * 2654435761u;
	for (int i = 0; i < 20; i++)
		x = x * 6364136223846793005ull + (unsigned long)i;
	if (depth == stop) {
		depth_at_signal = depth;
		if (fault)
			*bad = (int)x; /* SIGSEGV: address 16 is never mapped */
		else
			kill(getpid(), SIGALRM);
		return 0; /* not reached */
	}
	return x ^ dive(depth + 1, stop, fault);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		return 3;
	sa.sa_handler = on_segv;
	if (sigaction(SIGSEGV, &sa, NULL) != 0)
		return 3;

	volatile int rounds = 0, jumps = 0;
	for (rounds = 0; rounds < 5; rounds++) {
		int r = sigsetjmp(env, 1);
		if (r == 0) {
			dive(0, 10 + 7 * rounds, 0);
			puts("not reached: no SIGALRM");
			return 1;
		}
		jumps += r;
	}
	int r = sigsetjmp(env, 1);
	if (r == 0) {
		dive(0, 25, 1);
		puts("not reached: no SIGSEGV");
		return 1;
	}
	jumps += r;
	printf("sigjmp: rounds=%d jumps=%d acc=%lu\n", rounds, jumps, (unsigned long)acc);
	return 0;
}
