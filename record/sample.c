/* Sample mode: the program runs at full speed; at each timer tick prof
 * interrupts the threads to sample (PTRACE_INTERRUPT on seized threads),
 * copies their registers and the top of their stacks at the interrupt stop,
 * lets them go, then unwinds the copies. --clock cpu samples the threads running at the tick (state R in
 * /proc: the kernel's CPU time counters of another process's threads only
 * advance at scheduler events, too coarse for a per-tick decision);
 * --clock wall samples every thread, so time spent blocked in a syscall
 * shows too. Each sample stands for one timer period. */
#include "tracer.h"
#include "unwind.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

#define MAX_DEPTH 128

static void cont(struct tracee *t, int sig)
{
	if (ptrace(PTRACE_CONT, t->tid, 0, sig) != 0 && errno != ESRCH)
		log_warn("cannot resume thread %d: %s", t->tid, strerror(errno));
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
	tracer_count_insn(tr, t, rip, tracer_decode(tr, t, rip)->cls);
	struct prof_event ev = { .kind = EV_SAMPLE, .thread = t->id };
	ev.sample.pcs = xmalloc(n * sizeof *pcs);
	memcpy(ev.sample.pcs, pcs, n * sizeof *pcs);
	ev.sample.depth = (uint32_t)n;
	ev.sample.weight_ns = t->sample_weight;
	tracer_emit(tr, &ev);
}

static void sample_begin(struct tracer *tr, struct tracee *t, bool after_exec)
{
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

static void sample_on_signal(struct tracer *tr, struct tracee *t, int sig)
{
	tracer_record_signal(tr, t, sig, tracer_read_pc(t));
	cont(t, sig); /* the program gets every signal, as without prof */
}

static void sample_on_trap(struct tracer *tr, struct tracee *t, int sig)
{
	sample_on_signal(tr, t, sig & 0x7f); /* the program's own SIGTRAP */
}

static void sample_on_tick(struct tracer *tr, uint64_t period_ns)
{
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *t = tr->threads[i];
		if (t->sample_pending || t->pc == 0 || !t->id)
			continue;
		if (!tr->opt.clock_wall && !thread_running(t))
			continue; /* off CPU: asleep or blocked */
		t->sample_weight = period_ns;
		if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) == 0)
			t->sample_pending = true;
	}
}

static void sample_nothing(struct tracer *tr, struct tracee *t)
{
}

static void sample_before_detach(struct tracer *tr, struct tracee *t, int status)
{
}

static void sample_thread_gone(struct tracer *tr, struct tracee *t)
{
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
	.on_exit_event = sample_nothing,
	.on_exec = sample_nothing,
	.on_new_process = sample_new_process,
	.before_detach = sample_before_detach,
	.thread_gone = sample_thread_gone,
	.on_tick = sample_on_tick,
};
