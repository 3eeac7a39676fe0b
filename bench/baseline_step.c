/* baseline_step PROGRAM [ARGS...]
 *
 * The classic single-step instruction counter from the ptrace literature,
 * kept as a reference point for prof's benchmarks:
 *   fork; child: PTRACE_TRACEME + execvp; parent: wait for the exec stop,
 *   then PTRACE_SINGLESTEP + waitpid until the child exits, counting stops.
 * No CPU pinning, no classification, no per-PC bookkeeping.
 *
 * Count convention (same as prof's "step" mode): the number of single-step
 * stops after the exec stop, i.e. user-space instructions executed after
 * exec, dynamic loader included.  Prints "instructions: N" on stderr and
 * exits with the child's exit status (128+signal if it was killed).
 * Single-threaded tracees only (no PTRACE_O_TRACECLONE). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("baseline_step: fork");
        return 1;
    }
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0) {
            perror("baseline_step: PTRACE_TRACEME");
            _exit(127);
        }
        execvp(argv[1], argv + 1);
        fprintf(stderr, "baseline_step: %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }

    int status;
    /* The exec stop: a SIGTRAP after a successful execve. */
    if (waitpid(pid, &status, 0) < 0) {
        perror("baseline_step: waitpid");
        return 1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status); /* exec failed; child already reported */
    if (!WIFSTOPPED(status)) {
        fprintf(stderr, "baseline_step: unexpected status 0x%x\n", status);
        return 1;
    }

    unsigned long long count = 0;
    int sig = 0;
    for (;;) {
        if (ptrace(PTRACE_SINGLESTEP, pid, NULL, (void *)(long)sig) < 0) {
            perror("baseline_step: PTRACE_SINGLESTEP");
            kill(pid, SIGKILL);
            return 1;
        }
        if (waitpid(pid, &status, 0) < 0) {
            perror("baseline_step: waitpid");
            return 1;
        }
        if (WIFEXITED(status)) {
            fprintf(stderr, "instructions: %llu\n", count);
            return WEXITSTATUS(status);
        }
        if (WIFSIGNALED(status)) {
            fprintf(stderr, "instructions: %llu\n", count);
            return 128 + WTERMSIG(status);
        }
        /* A stop: SIGTRAP is our single step; anything else is a signal
         * to pass on to the tracee at the next resume. */
        sig = WSTOPSIG(status);
        if (sig == SIGTRAP) {
            count++;
            sig = 0;
        }
    }
}
