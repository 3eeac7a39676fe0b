/* selftrace.c - what a debugger does first: a forked child asks to be traced
 * (PTRACE_TRACEME). Prints "traceme: ok" natively; under prof, which already
 * traces the child, "traceme: Operation not permitted". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
		printf("traceme: %s\n", r == 0 ? "ok" : strerror(errno));
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
