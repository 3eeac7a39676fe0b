/* forkexec.c - fork, vfork and exec from one C program:
 *   - fork: the child computes a checksum and exits with it (low 8 bits),
 *   - vfork + execv("/bin/true"): the child borrows the parent's memory
 *     (and, in a code-cache mode, its translations and counters) until it
 *     execs; the parent is suspended meanwhile,
 *   - a second fork whose child execs /bin/true after a little work,
 * the parent waits for each child in turn and prints their exit statuses
 * and its own checksum. Deterministic output; exit 0.
 *
 * SIGCHLD is blocked first: under ptrace even an ignored SIGCHLD stops the
 * parent and interrupts a wait4 in progress (restarted by the kernel), so
 * whether the syscall instruction runs once or twice would depend on
 * timing. Blocked, it never interrupts. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static unsigned long work(unsigned long seed, int n)
{
	for (int i = 0; i < n; i++)
		seed = seed * 6364136223846793005ull + 1442695040888963407ull + (unsigned long)i;
	return seed;
}

static int wait_for(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
	char *const true_argv[] = { "/bin/true", NULL };
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) != 0)
		return 2;
	fflush(stdout);

	pid_t a = fork();
	if (a < 0)
		return 2;
	if (a == 0)
		_exit((int)(work(1, 3000) & 0x7f));

	pid_t b = vfork();
	if (b < 0)
		return 2;
	if (b == 0) {
		execv(true_argv[0], true_argv);
		_exit(127);
	}

	pid_t c = fork();
	if (c < 0)
		return 2;
	if (c == 0) {
		if (work(2, 500) == 0)
			_exit(1);
		execv(true_argv[0], true_argv);
		_exit(127);
	}

	unsigned long mine = work(3, 2000);
	int sa = wait_for(a), sb = wait_for(b), sc = wait_for(c);
	printf("forkexec: fork=%d vfork_exec=%d fork_exec=%d parent=%lu\n", sa, sb, sc, mine & 0xffff);
	return 0;
}
