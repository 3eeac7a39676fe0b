/* Step mode: PTRACE_SINGLESTEP every thread; after each stop the instruction
 * that was at the thread's pc has run once. Reading RIP (one PEEKUSER) is all
 * a plain step costs; full registers only around `syscall`. */
#include "callstack.h"
#include "client_request.h"
#include "cpu_intercept.h"
#include "emulated_insn.h"
#include "tracer.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define X86_TF 0x100ull

static bool is_restart_code(int64_t ret)
{
	return ret <= -512 && ret >= -516; /* -ERESTARTSYS .. -ERESTART_RESTARTBLOCK */
}

static void complete_step(struct tracer *tr, struct tracee *t, uint64_t new_pc);

/* Instructions the tracer carries out itself are not stepped: cpuid and
 * xgetbv under --cpu count once each and the thread goes on at the next
 * (one that faults stays: its signal is queued, the step delivers it);
 * valgrind's client requests, a no-op natively but for RDX, likewise. */
static void emulate_ahead(struct tracer *tr, struct tracee *t, int sig)
{
	for (;;) {
		if (!t->insn_valid) {
			t->insn = *tracer_decode(tr, t, t->pc);
			t->insn_valid = true;
		}
		if (sig || t->exec_trap_pending)
			return;
		if (t->insn.is_creq_marker && creq_at(tr, t, t->pc)) {
			uint64_t next = creq_run(tr, t, t->pc);
			if (ptrace(PTRACE_POKEUSER, t->tid, offsetof(struct user_regs_struct, rip), next) != 0)
				log_debug("cannot set rip of %d: %s", t->tid, strerror(errno));
			t->pc = next;
			t->insn_valid = false;
			continue;
		}
		/* Stepped, a popf would keep the trap flag set for the step: the
		 * program would die of SIGTRAP once prof detaches. */
		if (t->insn.is_popf && tracer_popf_by_hand(t, t->pc)) {
			complete_step(tr, t, t->pc + 1);
			continue;
		}
		if (!tracer_emulates(tr, t, t->pc, &t->insn) ||
		    tracer_emulate(tr, t, t->pc, &t->insn) != EMU_DONE)
			return;
		complete_step(tr, t, t->pc + t->insn.len);
	}
}

static void step_resume(struct tracer *tr, struct tracee *t, int sig)
{
	emulate_ahead(tr, t, sig);
	if (t->insn.is_syscall && !t->in_syscall) {
		if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->sys_regs) == 0) {
			t->in_syscall = true;
			t->sys_nr = (int64_t)t->sys_regs.rax;
			t->sys_start_ns = now_ns();
			const struct user_regs_struct *r = &t->sys_regs;
			uint64_t args[6] = { r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9 };
			tracer_syscall_entry(tr, t, (long)r->rax, args);
		}
	}
	t->signal_injected = sig != 0;
	if (ptrace(PTRACE_SINGLESTEP, t->tid, 0, sig) != 0 && errno != ESRCH)
		log_warn("cannot step thread %d: %s", t->tid, strerror(errno));
}

static void after_syscall(struct tracer *tr, struct tracee *t)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0) {
		tracer_finish_syscall(tr, t, false, 0);
		return;
	}
	/* `syscall` saved RFLAGS, trap flag included, into r11: hide it. Not
	 * after rt_sigreturn, which gave the program its own r11 back. */
	if ((r.r11 & X86_TF) && t->sys_nr != SYS_rt_sigreturn) {
		r.r11 &= ~X86_TF;
		if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) != 0)
			tracer_lost(tr, "the trap flag left in r11", "thread %d", t->tid);
	}
	long nr = (long)t->sys_nr;
	tracer_finish_syscall(tr, t, true, (int64_t)r.rax);
	tracer_memory_syscall_exit(tr, t, nr, (int64_t)r.rax);
}

static uint64_t read_rsp(struct tracee *t)
{
	return tracer_read_reg(t, offsetof(struct user_regs_struct, rsp));
}

/* Calls and returns feed the shadow call stack, as in block mode. */
static void track_call_or_ret(struct tracer *tr, struct tracee *t, const struct insn_info *in,
			      uint64_t new_pc)
{
	if (in->cls == CLASS_CALL)
		callstack_push(tr, t, t->pc, new_pc, t->pc + in->len, read_rsp(t));
	else if (in->cls == CLASS_RET)
		callstack_ret(tr, t, new_pc, read_rsp(t) - 8 - in->ret_imm);
}

/* The instruction at t->pc ran; the thread now stands at new_pc. */
static void complete_step(struct tracer *tr, struct tracee *t, uint64_t new_pc)
{
	struct insn_info in = t->insn;
	tracer_count_insn(tr, t, t->pc, in.cls);
	track_call_or_ret(tr, t, &in, new_pc);
	if (in.cls == CLASS_BRANCH)
		tracer_jump_taken(tr, t, t->pc, new_pc);
	if (t->in_syscall)
		after_syscall(tr, t);
	else if (in.is_pushf)
		tracer_clear_pushed_tf(t);
	else if (in.is_cpuid && new_pc != t->pc + in.len) {
		/* Some hypervisors run the next instruction along with CPUID. */
		uint64_t next = t->pc + in.len;
		tracer_count_insn(tr, t, next, tracer_decode(tr, t, next)->cls);
	}
	if (new_pc != t->pc) {
		t->pc = new_pc;
		t->insn_valid = false;
	}
}

/* After a signal was delivered while stepping, the kernel reports a trap at
 * the handler's first instruction without running anything (si_code SIGTRAP,
 * from ptrace_notify), unlike a real single-step trap. */
static bool is_handler_entry(struct tracee *t)
{
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) != 0)
		return false;
	return si.si_code == SIGTRAP;
}

static void step_on_trap(struct tracer *tr, struct tracee *t, int sig)
{
	/* The first trap in a new image (not its exec event stop) can inject. */
	if (!cpu_arm(tr, t, 0))
		return;
	uint64_t pc = tracer_read_pc(t);
	if (t->exec_trap_pending) {
		t->exec_trap_pending = false;
		if (pc == t->pc) { /* the trap of the execve step itself: nothing ran */
			step_resume(tr, t, 0);
			return;
		}
	}
	if (t->signal_injected && is_handler_entry(t)) {
		t->signal_injected = false;
		tracer_clear_frame_tf(t);
		if (t->syscall_interrupted) {
			/* The interrupted syscall ran once and returns into the handler's frame. */
			tracer_count_insn(tr, t, t->pc, t->insn.cls);
			tracer_finish_syscall(tr, t, true, -4 /* -EINTR as the program sees it */);
		}
		uint64_t sp = read_rsp(t), ret = 0;
		tracer_read_word(t, sp, &ret);
		callstack_push(tr, t, t->pc, pc, ret, sp); /* the handler's frame */
		t->pc = pc;
		t->insn_valid = false;
		step_resume(tr, t, 0);
		return;
	}
	t->signal_injected = false;
	complete_step(tr, t, pc);
	step_resume(tr, t, 0);
}

static void step_on_signal(struct tracer *tr, struct tracee *t, int sig)
{
	uint64_t pc = tracer_read_pc(t);
	if (pc == t->pc && !t->in_syscall && cpu_cpuid_faulted(tr, t, sig)) {
		/* A cpuid faulting stopped: answered as if the step had run it. */
		if (!t->insn_valid) {
			t->insn = *tracer_decode(tr, t, pc);
			t->insn_valid = true;
		}
		if (tracer_emulate(tr, t, pc, &t->insn) == EMU_DONE)
			complete_step(tr, t, pc + t->insn.len);
		step_resume(tr, t, 0);
		return;
	}
	if (t->in_syscall && pc == t->pc + t->insn.len) {
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0 && is_restart_code((int64_t)r.rax))
			t->syscall_interrupted = true; /* settled at the next trap */
		else
			complete_step(tr, t, pc);
	} else if (pc != t->pc) {
		complete_step(tr, t, pc);
	}
	tracer_record_signal(tr, t, sig, pc);
	step_resume(tr, t, sig);
}

static void step_on_exit_event(struct tracer *tr, struct tracee *t)
{
	/* A thread dies inside a syscall (exit, exit_group, or killed while blocked
	 * in one): the `syscall` ran but never returns. Anything else did not run. */
	if (t->in_syscall) {
		tracer_count_insn(tr, t, t->pc, t->insn.cls);
		tracer_finish_syscall(tr, t, false, 0);
	}
}

static void step_begin(struct tracer *tr, struct tracee *t, bool after_exec)
{
	/* --no-follow-fork: a child traced to be released */
	if (t->proc->unfollowed && tracer_let_go(tr, t))
		return;
	/* After exec, the trap of the execve step itself may still come (the
	 * exec event stop cannot inject: the first trap turns faulting on). */
	if (!after_exec && !cpu_arm(tr, t, 0))
		return;
	t->exec_trap_pending = after_exec;
	callstack_push(tr, t, 0, t->pc, 0, 0); /* the thread's root frame */
	step_resume(tr, t, 0);
}

static void step_continue(struct tracer *tr, struct tracee *t)
{
	step_resume(tr, t, 0);
}

static void step_on_exec(struct tracer *tr, struct tracee *t)
{
	/* The step over `syscall` counted nothing yet: the execve ran. */
	if (t->in_syscall)
		tracer_count_insn(tr, t, t->pc, t->insn.cls);
}

/* The program's own signal in a signal-delivery stop (not the traps of
 * prof's single steps): delivered as the thread is detached. */
static int program_signal(int status)
{
	int sig = WSTOPSIG(status);
	return status >> 16 == 0 && (sig & 0x7f) != SIGTRAP ? sig : 0;
}

static int step_settle(struct tracer *tr, struct tracee *t, int status)
{
	/* A completed step: count it. The kernel clears the trap flag on detach. */
	uint64_t pc = tracer_read_pc(t);
	if (status >> 16 == 0 && WSTOPSIG(status) == SIGTRAP && t->pc && pc != t->pc)
		complete_step(tr, t, pc);
	return program_signal(status);
}

static void step_clean_process(struct tracer *tr, struct proc *p, struct tracee *injector,
			       bool entry)
{
	/* Nothing of prof's in the program. */
}

static void step_thread_gone(struct tracer *tr, struct tracee *t)
{
	callstack_unwind(tr, t);
}

static void step_new_process(struct tracer *tr, struct proc *parent, struct proc *child,
			     bool shares_memory)
{
}

const struct mode_ops step_mode = {
	.name = "step",
	.begin = step_begin,
	.on_trap = step_on_trap,
	.on_signal = step_on_signal,
	.resume = step_continue,
	.on_exit_event = step_on_exit_event,
	.on_exec = step_on_exec,
	.on_new_process = step_new_process,
	.settle = step_settle,
	.clean_process = step_clean_process,
	.thread_gone = step_thread_gone,
};
