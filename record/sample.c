/* Sample mode: the program runs at full speed and is sampled at each period
 * of a timer. --clock cpu (default): the kernel samples each thread every
 * period of its CPU time without stopping it (sample_stream.h), and prof
 * unwinds the copies at its next tick; where the kernel refuses, and for
 * --clock wall, prof interrupts the threads at each tick of its own timer
 * (PTRACE_INTERRUPT on seized threads), copies their registers and the top
 * of their stacks at the interrupt stop, lets them go, then unwinds the
 * copies. The ptrace path's cpu clock samples the threads running at the
 * tick (state R in /proc: the kernel's CPU time counters of another
 * process's threads only advance at scheduler events, too coarse for a
 * per-tick decision); --clock wall samples every thread, so time spent
 * blocked in a syscall shows too. Each sample stands for one period (a
 * ptrace sample taken at a slower tick, for the periods of that tick). */
#include "tracer.h"
#include "cpu_intercept.h"
#include "sample.h"
#include "sample_stream.h"
#include "unwind.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_DEPTH 128

/* Until CPUID faulting is on in a new image, the thread stops at syscalls
 * (the exec's own exit is the first), where prof can turn it on. */
static void cont(struct tracee *t, int sig)
{
	int req = t->proc->arm_cpuid ? PTRACE_SYSCALL : PTRACE_CONT;
	if (ptrace(req, t->tid, 0, sig) != 0 && errno != ESRCH)
		log_warn("cannot resume thread %d: %s", t->tid, strerror(errno));
}

static uint64_t period_ns(const struct tracer_options *opt)
{
	return 1000000000ull / opt->freq;
}

/* Whether the thread is on a CPU (or about to be): state R in /proc/.../stat. */
static bool thread_running(struct tracee *t)
{
	if (t->cpu_fd < 0)
		return false;
	char buf[512];
	ssize_t n = pread(t->cpu_fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')'); /* the name may hold spaces and ')' */
	return paren && paren[1] == ' ' && paren[2] == 'R';
}

static bool all_mapped(const struct proc *p, const uint64_t *pcs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!maps_find(&p->maps, pcs[i]))
			return false;
	return true;
}

/* Unwinds the stack captured at the thread's stop (the thread runs again)
 * and records the sample. */
static void record_sample(struct tracer *tr, struct tracee *t, uint64_t rip)
{
	struct proc *p = t->proc;
	uint64_t pcs[MAX_DEPTH];
	size_t n = unwind_captured(p->unwinder, pcs, MAX_DEPTH);
	if (!all_mapped(p, pcs, n)) {
		/* Code mapped since we last looked (libraries, dlopen): syscalls
		 * are not traced here, so mappings are read again when needed. */
		tracer_refresh_maps(tr, p);
		unwinder_invalidate(p->unwinder);
		n = unwind_captured(p->unwinder, pcs, MAX_DEPTH);
	}
	/* A sample taken at a slow tick stands for several periods. */
	uint64_t period = period_ns(&tr->opt), count = t->sample_weight / period;
	tracer_count_insns(tr, t, rip, tracer_decode(tr, t, rip)->cls, count);
	for (uint64_t i = 0; i < count; i++) {
		struct prof_event ev = { .kind = EV_SAMPLE, .thread = t->id };
		ev.sample.pcs = xmalloc(n * sizeof *pcs);
		memcpy(ev.sample.pcs, pcs, n * sizeof *pcs);
		ev.sample.depth = (uint32_t)n;
		ev.sample.weight_ns = period;
		tracer_emit(tr, &ev);
	}
}

/* How many sample periods make one tick of prof's timer. With the kernel
 * sampling, the tick only drains its buffers: 100 times a second wakes prof
 * ten times less than 1 kHz, yet finds at most ten samples per buffer (of
 * 31 it holds). Each wake-up of prof costs the program too (the timer
 * interrupt, a CPU shared with prof). */
static uint64_t tick_ratio(const struct tracer_options *opt)
{
	if (opt->clock_wall || !sample_stream_supported())
		return 1;
	uint64_t r = opt->freq / 100;
	return r < 1 ? 1 : r > 10 ? 10 : r;
}

uint64_t sample_tick_ns(const struct tracer_options *opt)
{
	return tick_ratio(opt) * period_ns(opt);
}

static void sample_begin(struct tracer *tr, struct tracee *t, bool after_exec)
{
	/* --no-follow-fork with --cpu: a child traced to be released */
	if (t->proc->unfollowed && tracer_let_go(tr, t))
		return;
	if (!tr->opt.clock_wall && t->id && !t->mode_state)
		t->mode_state = sample_stream_open(t->tid, period_ns(&tr->opt));
	/* A thread the kernel does not sample (no room for its buffer) is
	 * interrupted at each tick, which may stand for several periods. */
	t->sample_weight = t->mode_state ? period_ns(&tr->opt) : sample_tick_ns(&tr->opt);
	if (t->mode_state) {
		cont(t, 0);
		return;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)t->proc->pid, (int)t->tid);
	if (t->cpu_fd <= 0)
		t->cpu_fd = open(path, O_RDONLY | O_CLOEXEC);
	cont(t, 0);
}

/* Any stop after an interrupt was asked for serves as the sample. */
static void sample_resume(struct tracer *tr, struct tracee *t)
{
	struct user_regs_struct r;
	bool sampled = t->sample_pending && ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0;
	t->sample_pending = false;
	if (sampled) {
		if (!t->proc->unwinder)
			t->proc->unwinder = unwinder_new(t->proc->pid);
		unwind_capture(t->proc->unwinder, t->tid, &r);
	}
	/* The program runs on while its sample is unwound: it is stopped only
	 * for the registers and one copy of its stack's top. */
	cont(t, 0);
	if (sampled)
		record_sample(tr, t, r.rip);
}

/* Turns CPUID faulting on at a signal stop: the injection must not cost the
 * signal its details. False: t died. */
static bool arm_at_signal(struct tracer *tr, struct tracee *t)
{
	siginfo_t si;
	if (!t->proc->arm_cpuid)
		return true;
	bool known = ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) == 0;
	if (!cpu_arm(tr, t, 0))
		return false;
	if (known && ptrace(PTRACE_SETSIGINFO, t->tid, 0, &si) != 0)
		log_debug("thread %d: siginfo of signal %d lost", t->tid, si.si_signo);
	return true;
}

static void sample_on_signal(struct tracer *tr, struct tracee *t, int sig)
{
	if (!arm_at_signal(tr, t))
		return;
	if (cpu_cpuid_faulted(tr, t, sig)) {
		/* Answered from --cpu's model; a cpuid is no sample. */
		uint64_t pc = tracer_read_pc(t);
		struct insn_info in = *tracer_decode(tr, t, pc);
		tracer_emulate(tr, t, pc, &in);
		cont(t, 0);
		return;
	}
	tracer_record_signal(tr, t, sig, tracer_read_pc(t));
	cont(t, sig); /* the program gets every signal, as without prof */
}

/* A syscall stop, while CPUID faulting waits to be turned on: at an exit. */
static void syscall_stop(struct tracer *tr, struct tracee *t)
{
	struct __ptrace_syscall_info info;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof info, &info) > 0 &&
	    info.op == PTRACE_SYSCALL_INFO_EXIT && !cpu_arm(tr, t, 0))
		return;
	cont(t, 0);
}

static void sample_on_trap(struct tracer *tr, struct tracee *t, int sig)
{
	if (sig == (SIGTRAP | 0x80)) {
		syscall_stop(tr, t);
		return;
	}
	sample_on_signal(tr, t, sig & 0x7f); /* the program's own SIGTRAP */
}

struct drain_ctx {
	struct tracer *tr;
	struct tracee *t;
};

static void on_stream_sample(void *ctx, const struct stream_sample *s)
{
	struct drain_ctx *d = ctx;
	struct proc *p = d->t->proc;
	if (!p->unwinder)
		p->unwinder = unwinder_new(p->pid);
	unwind_load(p->unwinder, s->tid, &s->regs, s->stack, s->stack_len);
	record_sample(d->tr, d->t, s->regs.rip);
}

/* Unwinds the kernel's samples of t taken since the last drain. */
static void drain(struct tracer *tr, struct tracee *t)
{
	if (!t->mode_state)
		return;
	struct drain_ctx d = { tr, t };
	sample_stream_drain(t->mode_state, on_stream_sample, &d);
}

static void stream_close(struct tracee *t)
{
	if (!t->mode_state)
		return;
	uint64_t lost = sample_stream_lost(t->mode_state);
	if (lost)
		tracer_lost(t->tracer, "samples dropped by the kernel", "thread %d: %llu samples, "
			    "its buffer full", t->tid, (unsigned long long)lost);
	sample_stream_close(t->mode_state);
	t->mode_state = NULL;
}

static void sample_on_tick(struct tracer *tr, uint64_t period_ns)
{
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *t = tr->threads[i];
		if (t->mode_state) {
			drain(tr, t);
			continue;
		}
		if (t->sample_pending || t->pc == 0 || !t->id)
			continue;
		if (!tr->opt.clock_wall && !thread_running(t))
			continue; /* off CPU: asleep or blocked */
		if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) == 0)
			t->sample_pending = true;
	}
}

/* The thread's memory and image are still there: the last of its samples
 * are unwound now. */
static void sample_drain(struct tracer *tr, struct tracee *t)
{
	drain(tr, t);
}

static int sample_settle(struct tracer *tr, struct tracee *t, int status)
{
	drain(tr, t);
	stream_close(t);
	int sig = WSTOPSIG(status);
	return status >> 16 == 0 && (sig & 0x7f) != SIGTRAP ? sig : 0;
}

static void sample_clean_process(struct tracer *tr, struct proc *p, struct tracee *injector,
				 bool entry)
{
	/* Nothing of prof's in the program. */
}

static void sample_before_kill(struct tracer *tr)
{
	for (size_t i = 0; i < tr->nthreads; i++)
		drain(tr, tr->threads[i]);
}

static void sample_thread_gone(struct tracer *tr, struct tracee *t)
{
	stream_close(t);
	if (t->cpu_fd > 0)
		close(t->cpu_fd);
	t->cpu_fd = -1;
}

static void sample_new_process(struct tracer *tr, struct proc *parent, struct proc *child,
			       bool shares_memory)
{
}

const struct mode_ops sample_mode = {
	.name = "sample",
	.begin = sample_begin,
	.on_trap = sample_on_trap,
	.on_signal = sample_on_signal,
	.resume = sample_resume,
	.on_exit_event = sample_drain,
	.on_exec = sample_drain,
	.on_new_process = sample_new_process,
	.settle = sample_settle,
	.clean_process = sample_clean_process,
	.thread_gone = sample_thread_gone,
	.before_kill = sample_before_kill,
	.on_tick = sample_on_tick,
};
