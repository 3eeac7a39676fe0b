/* Detaching from an attached program (Ctrl-C, --duration, a signal to prof):
 * every thread is stopped first and parked where it stopped; once none
 * runs, each one is settled (out of prof's code and slots, its registers
 * the program's own, what it ran counted), then each process is cleaned
 * (int3s out, prof's memory unmapped through one of its stopped threads),
 * and only then is every thread detached, with the signal it was stopped
 * for. So no thread runs while prof's code is in the process, and none
 * runs prof's code afterwards. Threads that are exiting (a zombie leader)
 * never stop again: they are not waited for. */
#include "tracer.h"
#include "prof/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

void tracer_begin_detach(struct tracer *tr)
{
	tr->detaching = true;
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *t = tr->threads[i];
		if (!t->exiting && ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) != 0 && errno != ESRCH)
			log_debug("interrupt %d: %s", t->tid, strerror(errno));
	}
}

void tracer_park(struct tracer *tr, struct tracee *t, int status)
{
	(void)tr;
	t->parked = true;
	t->park_status = status;
}

/* A step that ends inside a syscall queues its SIGTRAP before the interrupt
 * stop is reported; detached with it, the program would die of SIGTRAP. */
static bool step_trap_queued(pid_t tid)
{
	struct __ptrace_peeksiginfo_args args = { .off = 0, .flags = 0, .nr = 8 };
	siginfo_t si[8];
	int n = (int)ptrace(PTRACE_PEEKSIGINFO, tid, &args, si);
	for (int i = 0; i < n; i++)
		if (si[i].si_signo == SIGTRAP)
			return true;
	return false;
}

void tracer_detach_stop(struct tracer *tr, struct tracee *t, int status, struct early_stops *es)
{
	int event = status >> 16;
	if (event == PTRACE_EVENT_STOP && t->pc && !t->draining_trap && step_trap_queued(t->tid)) {
		/* Let the thread dequeue it: it stops again at once, nothing runs. */
		t->draining_trap = true;
		if (ptrace(PTRACE_CONT, t->tid, 0, 0) == 0)
			return;
	}
	/* Its first stop; or, seized inside clone, the syscall's exit stop. */
	bool first = t->pc == 0 && (event == PTRACE_EVENT_STOP ||
				    (event == 0 && (WSTOPSIG(status) == SIGSTOP ||
						    WSTOPSIG(status) == (SIGTRAP | 0x80))));
	switch (event) {
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_EXEC:
	case PTRACE_EVENT_EXIT:
		/* The usual bookkeeping; threads that would begin are parked. */
		tracer_on_stop(tr, t, status, es);
		return;
	default:
		if (first)
			tracer_on_stop(tr, t, status, es);
		else
			tracer_park(tr, t, status);
	}
}

bool tracer_detach_ready(const struct tracer *tr)
{
	for (size_t i = 0; i < tr->nthreads; i++)
		if (!tr->threads[i]->parked && !tr->threads[i]->exiting)
			return false;
	return true;
}

static bool at_syscall_entry(const struct tracee *t)
{
	struct __ptrace_syscall_info info;
	return WIFSTOPPED(t->park_status) && WSTOPSIG(t->park_status) == (SIGTRAP | 0x80) &&
	       ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof info, &info) > 0 &&
	       info.op == PTRACE_SYSCALL_INFO_ENTRY;
}

static bool in_group_stop(const struct tracee *t)
{
	return tracer_is_group_stop(t->park_status);
}

/* A parked thread of p to run prof's cleanup syscalls: preferably one not
 * in a group-stop, and not at a syscall's entry. One in a group-stop will
 * do when every thread is (the program was stopped, SIGSTOP or Ctrl-Z): it
 * runs only prof's stub, and detached it stops again, the kernel putting
 * back the group-stop still in effect. With none, the int3s would stay and
 * kill the program at its SIGCONT (1 attach in 25 to a stopped program). */
static struct tracee *injector_of(struct tracer *tr, struct proc *p, bool *entry)
{
	struct tracee *best = NULL;
	bool best_stopped = false;
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *t = tr->threads[i];
		if (t->proc != p || !t->parked)
			continue;
		bool e = at_syscall_entry(t), stopped = in_group_stop(t);
		if (!best || (best_stopped && !stopped) || (best_stopped == stopped && *entry && !e)) {
			best = t;
			*entry = e;
			best_stopped = stopped;
		}
	}
	return best;
}

void tracer_detach_all(struct tracer *tr)
{
	const struct mode_ops *mode = tr->opt.mode;
	int *pass = calloc(tr->nthreads + 1, sizeof *pass);
	for (size_t i = 0; i < tr->nthreads; i++)
		if (tr->threads[i]->parked) {
			struct tracee *t = tr->threads[i];
			pass[i] = mode->settle(tr, t, t->park_status);
			log_debug("thread %d: parked at status %#x, settled at %#llx, detached with signal %d",
				  t->tid, t->park_status, (unsigned long long)tracer_read_pc(t), pass[i]);
		}
	for (struct proc *p = tr->procs; p; p = p->next) {
		bool entry = false;
		struct tracee *injector = injector_of(tr, p, &entry);
		mode->clean_process(tr, p, injector, entry);
	}
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *t = tr->threads[i];
		if (t->parked && ptrace(PTRACE_DETACH, t->tid, 0, pass ? pass[i] : 0) != 0 &&
		    errno != ESRCH)
			log_warn("cannot detach thread %d: %s", t->tid, strerror(errno));
	}
	free(pass);
	/* Exiting threads too: a zombie leader reports nothing until the
	 * threads just detached end, which prof must not wait for. */
	while (tr->nthreads)
		tracer_forget_thread(tr, tr->threads[tr->nthreads - 1]);
}
