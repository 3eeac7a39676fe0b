#include "inject.h"
#include "tracer.h"
#include "prof/log.h"

#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

const uint8_t inject_stub_code[INJECT_STUB_LEN] = { 0x0f, 0x05, 0xcc };

enum wait_outcome { STUB_DONE, STUB_DIED, STUB_FAILED };

/* Waits until t stops at the stub's int3 (or, after unmapping the stub's own
 * page, faults fetching it). Other stops are noted and let go. */
static enum wait_outcome wait_for_stub(struct tracer *tr, struct tracee *t, uint64_t stub,
				       struct injection *out, bool *interrupted)
{
	for (;;) {
		int status;
		if (!tracer_wait_thread(tr, t->tid, &status))
			return STUB_FAILED;
		int event = status >> 16, sig = WIFSTOPPED(status) ? WSTOPSIG(status) : 0;
		if (!WIFSTOPPED(status) || event == PTRACE_EVENT_EXIT) {
			tracer_defer_status(tr, t->tid, status);
			return STUB_DIED;
		}
		if (event == 0 && (sig == SIGTRAP || sig == SIGSEGV)) {
			uint64_t pc = tracer_read_pc(t);
			if ((sig == SIGTRAP && pc == stub + INJECT_STUB_LEN) ||
			    (sig == SIGSEGV && pc == stub + 2))
				return STUB_DONE;
		}
		if (event == PTRACE_EVENT_STOP)
			*interrupted = true; /* asked to stop: asked again once we are done */
		else if (event == 0 && sig != (SIGTRAP | 0x80) && !out->held_sig) {
			out->held_sig = sig; /* the program's: it gets it afterwards */
			if (ptrace(PTRACE_GETSIGINFO, t->tid, 0, &out->held_si) != 0)
				memset(&out->held_si, 0, sizeof out->held_si);
		}
		if (ptrace(PTRACE_CONT, t->tid, 0, 0) != 0)
			return errno == ESRCH ? STUB_DIED : STUB_FAILED;
	}
}

bool inject_syscall(struct tracer *tr, struct tracee *t, uint64_t stub, long nr,
		    const uint64_t args[6], bool at_syscall_entry, struct injection *out)
{
	memset(out, 0, sizeof *out);
	out->ret = -ENOSYS;
	if (!tracer_may_inject(t->proc, nr, args)) {
		out->ret = -EPERM;
		return false;
	}
	/* prof's memory must not take the program's room under its ulimit -v. */
	if (nr == SYS_mmap && !aslimit_reserve(&t->proc->as_limit, t->proc->pid, args[1])) {
		out->ret = -ENOMEM;
		return false;
	}
	struct user_regs_struct saved, r;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &saved) != 0)
		return false;
	uint8_t orig[INJECT_STUB_LEN];
	bool own_stub = stub == 0;
	if (own_stub) {
		stub = saved.rip;
		uint8_t code[16];
		if (tracer_read_code(t->tid, stub, code) < INJECT_STUB_LEN)
			return false;
		memcpy(orig, code, sizeof orig);
		if (!tracer_write_code(t->tid, stub, inject_stub_code, INJECT_STUB_LEN))
			return false;
	}
	if (at_syscall_entry) {
		/* Skipped now (orig_rax -1 below), run again from its instruction later. */
		saved.rip -= 2;
		saved.rax = saved.orig_rax;
	}
	r = saved;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1; /* no syscall to restart around ours */
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	r.rip = stub;
	bool interrupted = false;
	enum wait_outcome w = STUB_FAILED;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) == 0 && ptrace(PTRACE_CONT, t->tid, 0, 0) == 0)
		w = wait_for_stub(tr, t, stub, out, &interrupted);
	if (w == STUB_DIED) {
		out->ret = -ESRCH;
		return false;
	}
	if (w == STUB_DONE && ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0)
		out->ret = (int64_t)r.rax;
	bool mapped = w == STUB_DONE && (out->ret >= 0 || out->ret < -4095);
	if ((nr == SYS_mmap && !mapped) || (nr == SYS_munmap && w == STUB_DONE && out->ret == 0))
		aslimit_release(&t->proc->as_limit, t->proc->pid, args[1]);
	if (own_stub && !tracer_write_code(t->tid, stub, orig, sizeof orig))
		log_warn("thread %d: cannot restore the code at %llx", t->tid, (unsigned long long)stub);
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &saved) != 0)
		return false;
	if (interrupted && ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) != 0)
		log_debug("interrupt %d again: %s", t->tid, strerror(errno));
	return w == STUB_DONE;
}

bool inject_requeue_signal(const struct tracee *t, int sig, const siginfo_t *si)
{
	siginfo_t copy = *si; /* the syscall's argument is not const */
	return syscall(SYS_rt_tgsigqueueinfo, t->proc->pid, t->tid, sig, &copy) == 0 ||
	       syscall(SYS_tgkill, t->proc->pid, t->tid, sig) == 0;
}

void inject_queue_held(struct tracer *tr, struct tracee *t, const struct injection *inj)
{
	if (inj->held_sig && !inject_requeue_signal(t, inj->held_sig, &inj->held_si))
		tracer_lost(tr, "a signal lost", "thread %d, signal %d", t->tid, inj->held_sig);
}
