/* blind_wait.c - LD_PRELOAD into prof: widens the window between the
 * tracer's flag check and its blocking waitpid(-1, __WALL) from nanoseconds
 * to seconds. While no child event is ready, signals are held for up to
 * BLIND_SECONDS; one that arrived meanwhile is then delivered just before
 * the blocking wait, the moment the race needs. A tracer that relies on
 * EINTR alone misses it and waits for a child event that a blocked program
 * never makes. Child events (SIGCHLD) end the window at once. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#define BLIND_SECONDS 1

typedef pid_t (*waitpid_fn)(pid_t, int *, int);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls until a child event or the end of the window; signals stay held. */
static pid_t wait_blind(waitpid_fn real, pid_t pid, int *status, int options)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	double end = now() + BLIND_SECONDS;
	for (;;) {
		pid_t got = real(pid, status, options | WNOHANG);
		double left = end - now();
		if (got != 0 || left <= 0)
			return got;
		/* SIGCHLD is held too, so one sent since the poll is not lost. */
		struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
		sigtimedwait(&chld, NULL, &ts);
	}
}

pid_t waitpid(pid_t pid, int *status, int options)
{
	waitpid_fn real = (waitpid_fn)dlsym(RTLD_NEXT, "waitpid");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (pid != -1 || (options & WNOHANG))
		return real(pid, status, options);
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t got = wait_blind(real, pid, status, options);
	sigprocmask(SIG_SETMASK, &old, NULL); /* a held signal's handler runs here */
	return got != 0 ? got : real(pid, status, options);
}
