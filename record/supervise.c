/* The supervisor: prof record's first process (see supervise.h). */
#include "supervise.h"
#include "prof/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t tracer_pid;

/* Signals sent to prof's pid by a process (kill, timeout, a service
 * manager) go on to the tracer; a terminal's (Ctrl-C, hangup) reached the
 * whole process group, the tracer included, already. */
static void forward(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (si->si_code <= 0 && tracer_pid > 0)
		kill(tracer_pid, sig);
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE };

static void install_forwarding(void)
{
	const int *sigs = forwarded;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

/* If the memory runs out, the supervisor goes first: the tracer then ends
 * cleanly. (Raising one's own score needs no privilege.) */
static void prefer_as_oom_victim(void)
{
	FILE *f = fopen("/proc/self/oom_score_adj", "we");
	if (f) {
		fputs("1000", f);
		fclose(f);
	}
}

static int wait_tracer(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) != pid)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_error("record: the tracer was killed by signal %d (%s): an attached program may "
		  "have been left with prof's breakpoints", WTERMSIG(status), strsignal(WTERMSIG(status)));
	return 128 + WTERMSIG(status);
}

int supervise_fork(pid_t *supervisor)
{
	pid_t parent = getpid();
	/* Signals wait until each side has its handlers: one sent to prof's
	 * pid meanwhile is then forwarded, not lost. */
	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (pid == 0) {
		*supervisor = parent;
		/* The supervisor's death reaches the tracer as a SIGTERM, which ends
		 * the recording as Ctrl-C does; it may have died already. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			kill(getpid(), SIGTERM);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	tracer_pid = pid;
	install_forwarding();
	sigprocmask(SIG_SETMASK, &old, NULL);
	prefer_as_oom_victim();
	return wait_tracer(pid);
}
