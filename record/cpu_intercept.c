#include "cpu_intercept.h"
#include "inject.h"
#include "tracer.h"
#include "prof/classes.h"
#include "prof/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

/* <asm/prctl.h> */
#define ARCH_SET_CPUID 0x1012

bool cpu_faulting_offered(void)
{
	const char *off = getenv("PROF_NO_CPUID_FAULTING");
	if (off && *off && strcmp(off, "0") != 0)
		return false;
	/* Asking for what prof already has (cpuid enabled) changes nothing, and
	 * fails (ENODEV) where the kernel or the CPU does not offer faulting. */
	return syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1) == 0;
}

static const struct cpu_view *view_of(const struct tracer *tr)
{
	const struct cpu_view *v = tr->opt.cpu;
	return v && v->level != CPU_HOST ? v : NULL;
}

bool cpu_intercepts(const struct tracer *tr, const struct insn_info *in)
{
	const struct cpu_view *v = view_of(tr);
	return v && (in->is_xgetbv || (in->is_cpuid && !v->fault_only));
}

/* The CPU raises #GP for it: the kernel would send SIGSEGV. Queued now, it is
 * delivered before the thread runs anything once resumed. */
static enum emulation raise_gp(struct tracee *t)
{
	if (syscall(SYS_tgkill, t->proc->pid, t->tid, SIGSEGV) != 0)
		return EMU_FAILED;
	return EMU_FAULT;
}

enum emulation cpu_emulate(struct tracer *tr, struct tracee *t, uint64_t pc,
			   const struct insn_info *in)
{
	const struct cpu_view *v = view_of(tr);
	struct user_regs_struct r;
	if (!v || (!in->is_cpuid && !in->is_xgetbv) || ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0)
		return EMU_FAILED;
	if (in->is_cpuid) {
		uint32_t out[4];
		cpu_model_cpuid(&v->host, v->level, (uint32_t)r.rax, (uint32_t)r.rcx, out);
		r.rax = out[CPUID_EAX];
		r.rbx = out[CPUID_EBX];
		r.rcx = out[CPUID_ECX];
		r.rdx = out[CPUID_EDX];
	} else {
		uint64_t value;
		if (!cpu_model_xgetbv(&v->host, v->level, (uint32_t)r.rcx, &value))
			return raise_gp(t);
		r.rax = (uint32_t)value;
		r.rdx = value >> 32;
	}
	r.rip = pc + in->len;
	return ptrace(PTRACE_SETREGS, t->tid, 0, &r) == 0 ? EMU_DONE : EMU_FAILED;
}

/* A signal that arrived during an injection goes back to the thread, which
 * gets it at its next resume. */
static void requeue(struct tracee *t, const struct injection *inj)
{
	if (inj->held_sig && !inject_requeue_signal(t, inj->held_sig, &inj->held_si))
		log_debug("thread %d: signal %d lost", t->tid, inj->held_sig);
}

static bool set_faulting(struct tracer *tr, struct tracee *t, uint64_t stub, bool on,
			 struct injection *inj)
{
	const uint64_t args[6] = { ARCH_SET_CPUID, on ? 0 : 1 };
	bool ran = inject_syscall(tr, t, stub, SYS_arch_prctl, args, false, inj);
	if (inj->ret != -ESRCH)
		requeue(t, inj);
	return ran && inj->ret == 0;
}

bool cpu_arm(struct tracer *tr, struct tracee *t, uint64_t stub)
{
	struct injection inj;
	if (!t->proc->arm_cpuid)
		return true;
	bool armed = set_faulting(tr, t, stub, true, &inj);
	if (inj.ret == -ESRCH)
		return false;
	t->proc->arm_cpuid = false;
	if (armed)
		return true;
	/* A seccomp policy, say. Exact modes still answer every cpuid they
	 * decode; sample mode has nothing else. */
	if (tr->opt.mode == &sample_mode)
		log_warn("process %d refuses CPUID faulting (arch_prctl: %s): its cpuid reads "
			 "the host's CPU, not --cpu %s", t->proc->pid, strerror((int)-inj.ret),
			 cpu_level_name(tr->opt.cpu->level));
	else
		log_debug("process %d refuses CPUID faulting (%lld)", t->proc->pid,
			  (long long)inj.ret);
	return true;
}

void cpu_disarm(struct tracer *tr, struct tracee *t, uint64_t stub)
{
	struct injection inj;
	const struct cpu_view *v = view_of(tr);
	if (v && v->faulting && !set_faulting(tr, t, stub, false, &inj))
		log_debug("thread %d: CPUID faulting not turned off (%lld)", t->tid, (long long)inj.ret);
}

bool cpu_cpuid_faulted(const struct tracer *tr, struct tracee *t, int sig)
{
	const struct cpu_view *v = view_of(tr);
	siginfo_t si;
	uint8_t code[16];
	if (!v || !v->faulting || sig != SIGSEGV || ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) != 0 ||
	    si.si_code != SI_KERNEL)
		return false;
	/* #GP: the kernel says SI_KERNEL; the instruction says which. */
	return tracer_read_code(t->tid, tracer_read_pc(t), code) >= 2 && code[0] == 0x0f &&
	       code[1] == 0xa2;
}
