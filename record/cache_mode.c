/* Cache mode: block mode whose threads run translated code (cache.c) and
 * stop only where a translation ends in code not translated yet, at
 * syscalls, and for signals. Whatever the cache cannot run (an instruction
 * it does not translate, a thread without a data area) goes through
 * block mode, whose int3s stay in the original code: the cache accelerates,
 * block mode guarantees. */
#include "block.h"
#include "cache.h"
#include "callstack.h"
#include "client_request.h"
#include "inject.h"
#include "progress.h"
#include "tracer.h"
#include "write_guard.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STEPS_OUT 10000
#define PEEK_EVERY_NS 1000000000ull
#define HARVEST_FIRST_NS 2000000000ull
#define HARVEST_MAX_NS 16000000000ull

static struct cache *cache_of(struct tracee *t)
{
	return t->proc->as ? t->proc->as->cache : NULL;
}

static bool in_cache_state(struct tracee *t)
{
	uint8_t st = block_thread_of(t)->state;
	return st == B_CACHE || st == B_CSYS;
}

static uint64_t stub_of(struct tracee *t)
{
	return t->proc->as->scratch.base;
}

/* Cache mode's state of a thread, next to block mode's (block_thread.ext). */
struct cache_thread {
	struct cache_clock clk; /* the thread's instruction clock */
	struct cache_area area; /* its counters and call log */
	uint64_t uncounted;     /* what its counters held uncounted, at the last peek */
};

static struct cache_thread *cache_thread_of(struct tracee *t)
{
	struct block_thread *b = block_thread_of(t);
	if (!b->ext)
		b->ext = xcalloc(1, sizeof(struct cache_thread));
	return b->ext;
}

static struct cache_area *area_of(struct tracee *t)
{
	return &cache_thread_of(t)->area;
}

static struct cache_clock *clock_of(struct tracee *t)
{
	return &cache_thread_of(t)->clk;
}

static void restore_gs(struct tracee *t, const struct cache *c)
{
	if (!cache_set_gs(t->tid, c->gs_before))
		tracer_lost(t->tracer, "a GS base not restored", "thread %d", t->tid);
}

/* The thread's data area, made on its first entry into the cache (a new
 * thread, a vfork child, each thread at attach); false without one. */
static bool has_area(struct tracer *tr, struct tracee *t, struct cache *c)
{
	struct cache_area *a = area_of(t);
	if (a->base)
		return true;
	if (cache_area_new(tr, t, c, stub_of(t), a))
		return true;
	log_debug("thread %d: no data area: block mode for it", t->tid);
	restore_gs(t, c);
	return false;
}

/* The cache is off for t's process: t keeps the GS base it had. */
static void give_up(struct tracee *t, struct cache *c)
{
	c->off = true;
	restore_gs(t, c);
}

/* Stopped in a syscall the kernel will restart (at attach): it moves RIP
 * back onto the `syscall`, which must be the program's own. */
static bool restarts_syscall(struct tracee *t)
{
	int64_t ret = (int64_t)tracer_read_reg(t, offsetof(struct user_regs_struct, rax));
	int64_t nr = (int64_t)tracer_read_reg(t, offsetof(struct user_regs_struct, orig_rax));
	return nr >= 0 && ret <= -512 && ret >= -516; /* -ERESTARTSYS .. -ERESTART_RESTARTBLOCK */
}

/* block_ext.enter: true when t now runs from the cache at pc's translation. */
static bool cache_mode_enter(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	struct cache *c = cache_of(t);
	/* An untraced vfork child would count into its parent's counters. */
	if (!c || c->off || !c->started || t->proc->unfollowed || restarts_syscall(t) ||
	    !has_area(tr, t, c))
		return false;
	const struct trans *x = cache_translate(tr, t, c, stub_of(t), pc);
	if (!x) {
		if (c->off)
			give_up(t, c);
		return false;
	}
	struct block_thread *s = block_thread_of(t);
	block_set_pc(t, x->entry);
	s->state = B_CACHE;
	s->block = NULL;
	t->pc = pc;
	cache_clock_enter(t, clock_of(t));
	block_resume_thread(t, 0);
	return true;
}

static void harvest(struct tracer *tr, struct tracee *t, struct cache *c);

static void drain(struct tracer *tr, struct tracee *t, struct cache *c)
{
	/* --collect: the calls and returns replayed may change what is counted;
	 * the counters hold what ran before them (cache_collect.c). */
	if (tr->opt.collect)
		harvest(tr, t, c);
	cache_drain(tr, t, c, area_of(t), clock_of(t));
}

/* A REP interrupted in its translation: the iterations it made. */
static void count_partial_rep(struct tracer *tr, struct tracee *t, struct cache *c,
			      const struct trans *x)
{
	uint64_t before = 0, now = tracer_read_reg(t, offsetof(struct user_regs_struct, rcx));
	if (!cache_read(c, area_of(t)->base + CD_REP_BEFORE, &before, 8))
		return;
	if (x->rep_ecx) {
		before = (uint32_t)before;
		now = (uint32_t)now;
	}
	if (before > now)
		tracer_count_insns(tr, t, x->pc[0], x->cls[0], before - now);
}

static void restore_rax(struct tracee *t, struct cache *c)
{
	uint64_t rax;
	if (!cache_read(c, area_of(t)->base + CD_TMP_RAX, &rax, 8) ||
	    ptrace(PTRACE_POKEUSER, t->tid, offsetof(struct user_regs_struct, rax), rax) != 0)
		tracer_lost(t->tracer, "a register not restored", "thread %d: rax", t->tid);
}

/* The program's address for a thread stopped at rip in a translation, once
 * what that translation ran is counted; false between two of the program's
 * instructions (inside our own code). fault: the instruction at rip faulted. */
static bool to_original(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t rip,
			bool fault, uint64_t *orig)
{
	uint64_t target;
	if (cache_exit_at(c, rip, &target)) {
		drain(tr, t, c);
		*orig = target;
		return true;
	}
	const struct trans *x = cache_trans_at(c, rip);
	if (!x)
		return false;
	uint32_t off = (uint32_t)(rip - x->entry), n = x->n;
	bool runs_on = x->kind == TE_FALL || x->kind == TE_SYSCALL || x->kind == TE_REP;
	if (off == 0 || (runs_on && off == x->off[n])) {
		drain(tr, t, c);
		*orig = off == 0 ? x->orig : x->pc[n];
		return true;
	}
	if (x->kind == TE_REP) {
		if (off != x->special_off)
			return false;
		drain(tr, t, c);
		count_partial_rep(tr, t, c, x);
		*orig = x->pc[0];
		return true;
	}
	for (uint32_t k = 0; k < n; k++) {
		bool load_fault = fault && k == n - 1 && x->special_off && off == x->special_off;
		if (off != x->off[k] && !load_fault)
			continue;
		if (load_fault)
			restore_rax(t, c);
		cache_unenter(tr, c, area_of(t), x);
		drain(tr, t, c);
		for (uint32_t i = 0; i < k; i++)
			tracer_count_insn(tr, t, x->pc[i], x->cls[i]);
		*orig = x->pc[k];
		return true;
	}
	return false;
}

/* At the lookup's int3: the program's registers back as they were before
 * the lookup; returns the target it looked for. */
static uint64_t undo_lookup(struct tracee *t, struct cache *c)
{
	struct user_regs_struct r;
	uint64_t saved[3], flags;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0 ||
	    !cache_read(c, area_of(t)->base + CD_TMP_RAX, saved, sizeof saved) ||
	    !cache_read(c, area_of(t)->base + CD_TMP_FLAGS, &flags, 8))
		return 0;
	uint64_t target = r.rcx;
	uint64_t ah = (flags >> 8) & 0xff, of = flags & 0xff; /* lahf; seto al */
	r.eflags = (r.eflags & ~0x8d5ull) | (ah & 0xd5) | (of ? 0x800 : 0);
	r.rax = saved[0];
	r.rcx = saved[1];
	r.rdx = saved[2];
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) != 0)
		tracer_lost(t->tracer, "a register not restored", "thread %d", t->tid);
	return target;
}

/* After one single step: did t reach one of our int3s, and where does it lead? */
static bool stepped_onto_trap(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t *orig)
{
	uint64_t rip = tracer_read_pc(t), probe;
	if (cache_exit_at(c, rip - 1, orig)) {
		drain(tr, t, c);
		return true;
	}
	if (cache_is_miss(c, rip - 1, &probe)) {
		*orig = undo_lookup(t, c);
		drain(tr, t, c);
		return true;
	}
	return false;
}

/* Signals met while stepping out, queued again once out: queued at once,
 * one would stop the very next step again, and a timer's fired faster than
 * the steps went on (the thread never got out). */
struct held_signals {
	int n, sig[8];
	siginfo_t si[8];
};

static void hold(struct tracer *tr, struct tracee *t, struct held_signals *h, int sig,
		 const siginfo_t *si)
{
	if (h->n == 8) {
		tracer_lost(tr, "a signal lost", "thread %d, signal %d", t->tid, sig);
		return;
	}
	h->sig[h->n] = sig;
	h->si[h->n++] = *si;
}

static void queue_held(struct tracer *tr, struct tracee *t, const struct held_signals *h)
{
	for (int i = 0; i < h->n; i++)
		if (!inject_requeue_signal(t, h->sig[i], &h->si[i]))
			tracer_lost(tr, "a signal lost", "thread %d, signal %d", t->tid, h->sig[i]);
}

/* Single-steps t through our own code up to one of the program's
 * instructions. Signals met on the way are queued again at the end. False: t died
 * (its status waits in the loop's queue) or never got out. */
static bool step_out(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t *orig)
{
	struct held_signals held = { 0 };
	bool out = false;
	for (int i = 0; i < MAX_STEPS_OUT && !out; i++) {
		if (to_original(tr, t, c, tracer_read_pc(t), false, orig)) {
			out = true;
			break;
		}
		if (tracer_popf_by_hand(t, 0)) /* our own: a counter update's or a REP's */
			continue;
		int status;
		if (ptrace(PTRACE_SINGLESTEP, t->tid, 0, 0) != 0 ||
		    !tracer_wait_thread(tr, t->tid, &status))
			return false;
		if (WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_STOP) {
			i--; /* an interrupt asked for earlier: nothing ran */
			continue;
		}
		if (!WIFSTOPPED(status) || status >> 16) {
			tracer_defer_status(tr, t->tid, status);
			queue_held(tr, t, &held);
			return false;
		}
		int sig = WSTOPSIG(status);
		siginfo_t si;
		uint64_t resume;
		if (ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) != 0)
			memset(&si, 0, sizeof si);
		if (sig == SIGTRAP && stepped_onto_trap(tr, t, c, orig))
			out = true;
		else if (sig == SIGSEGV && cache_log_full(tr, t, c, area_of(t), clock_of(t),
							  (uint64_t)si.si_addr, tracer_read_pc(t), &resume))
			block_set_pc(t, resume);
		else if (sig != SIGTRAP && !write_guard_fault(tr, t, sig, &si))
			hold(tr, t, &held, sig, &si);
	}
	queue_held(tr, t, &held);
	if (!out)
		tracer_lost(tr, "a thread stuck in the code cache", "thread %d", t->tid);
	return out;
}

/* Moves a stopped thread out of the cache onto the program's own code;
 * false when it died meanwhile. */
static bool leave_cache(struct tracer *tr, struct tracee *t, struct cache *c, bool fault)
{
	uint64_t rip = tracer_read_pc(t), orig = rip;
	if (!cache_holds(c, rip))
		drain(tr, t, c); /* back in the program's code already (rt_sigreturn) */
	else if (!to_original(tr, t, c, rip, fault, &orig) && !step_out(tr, t, c, &orig))
		return false;
	block_set_pc(t, orig);
	t->pc = orig;
	struct block_thread *s = block_thread_of(t);
	clock_of(t)->ran = false; /* the tracer counts from here: t->icount is its clock */
	s->state = B_RUN;
	s->block = NULL;
	if (c->off)
		give_up(t, c);
	return true;
}

/* ---- stops of threads in the cache ---- */

/* An exit to code not translated yet. */
static void exit_reached(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t stub,
			 uint64_t target)
{
	const struct trans *x = cache_translate(tr, t, c, stub_of(t), target);
	if (!x && creq_at(tr, t, target)) {
		/* A client request: never translated, so each one stops here. */
		target = creq_run(tr, t, target);
		stub = 0; /* nothing to link */
		x = cache_translate(tr, t, c, stub_of(t), target);
	}
	if (x) {
		cache_link(c, stub, x);
		block_set_pc(t, x->entry);
		block_resume_thread(t, 0);
		return;
	}
	log_debug("thread %d: %llx runs in block mode", t->tid, (unsigned long long)target);
	drain(tr, t, c);
	if (c->off)
		give_up(t, c);
	clock_of(t)->ran = false;
	block_thread_of(t)->state = B_RUN;
	block_set_pc(t, target);
	block_run_from(tr, t, target, 0);
}

/* An indirect branch to a target the lookup table does not hold. */
static void lookup_missed(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t probe)
{
	uint64_t target = tracer_read_reg(t, offsetof(struct user_regs_struct, rcx));
	const struct trans *x = cache_translate(tr, t, c, stub_of(t), target);
	if (x && cache_insert(tr, t, c, target, x)) {
		block_set_pc(t, probe);
		block_resume_thread(t, 0);
		return;
	}
	undo_lookup(t, c);
	log_debug("thread %d: %llx not in the lookup table", t->tid, (unsigned long long)target);
	if (tr->opt.collect)
		drain(tr, t, c); /* maybe a return from FUNC (cache_collect.c) */
	if (x) {
		block_set_pc(t, x->entry);
		block_resume_thread(t, 0);
		return;
	}
	exit_reached(tr, t, c, 0, target);
}

/* t's share of the progress line's count goes: it is counted now, or gone. */
static void forget_uncounted(struct tracer *tr, struct tracee *t)
{
	struct cache_thread *ct = cache_thread_of(t);
	tr->uncounted -= ct->uncounted;
	ct->uncounted = 0;
}

static void harvest(struct tracer *tr, struct tracee *t, struct cache *c)
{
	cache_harvest(tr, t, c, area_of(t));
	forget_uncounted(tr, t);
}

/* Once a second at a syscall: the progress line gets what t ran since its
 * counters were last read out, without reading them out. */
static void peek(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t now)
{
	c->peeked_ns = now;
	if (!progress_watches_syscalls(tr->progress))
		return;
	struct cache_thread *ct = cache_thread_of(t);
	uint64_t uncounted = cache_uncounted(c, &ct->area);
	tr->uncounted += uncounted - ct->uncounted;
	ct->uncounted = uncounted;
}

/* Besides exec, fork, thread exit, code changes and the end, counters are
 * read out into the store at a syscall 2 s after the process's first,
 * then 4, 8 and every 16 s after the one before (what a full disk or a
 * killed prof can lose). Each read-out is a row per instruction that ran
 * for the writer to add into the store again: once a second, it cost cc1
 * 12 % of its recording, the tracer waiting for the writer. */
static void at_syscall_exit(struct tracer *tr, struct tracee *t, struct cache *c)
{
	uint64_t now = now_ns();
	if (!c->next_harvest_ns) {
		c->harvest_gap_ns = HARVEST_FIRST_NS;
		c->next_harvest_ns = now + HARVEST_FIRST_NS;
	}
	if (now >= c->next_harvest_ns) {
		harvest(tr, t, c);
		c->peeked_ns = now;
		c->harvest_gap_ns = c->harvest_gap_ns * 2 < HARVEST_MAX_NS ? c->harvest_gap_ns * 2
									  : HARVEST_MAX_NS;
		c->next_harvest_ns = now + c->harvest_gap_ns;
	} else if (now - c->peeked_ns > PEEK_EVERY_NS) {
		peek(tr, t, c, now);
	}
}

/* A syscall that ran in the cache left the cache's address after it in
 * RCX (and the kernel in RIP): the program's own goes in RCX, as natively. */
static void program_rcx(struct tracee *t, struct cache *c, const struct user_regs_struct *r)
{
	uint64_t orig;
	if (r->rcx == r->rip && cache_after_syscall(c, r->rip, &orig) &&
	    ptrace(PTRACE_POKEUSER, t->tid, offsetof(struct user_regs_struct, rcx), orig) != 0)
		tracer_lost(t->tracer, "the code cache's address left in rcx after a syscall",
			    "thread %d", t->tid);
}

/* The syscall's exit: on in the cache, unless the cache was given up or
 * the program went elsewhere (rt_sigreturn). Code that changed under the
 * translations took only theirs with it (cache_code_changed). */
static void syscall_exit(struct tracer *tr, struct tracee *t, struct cache *c,
			 const struct user_regs_struct *r)
{
	struct block_thread *s = block_thread_of(t);
	long nr = (long)t->sys_nr;
	program_rcx(t, c, r);
	tracer_finish_syscall(tr, t, true, (int64_t)r->rax);
	if (tracer_is_memory_syscall(nr) && (int64_t)r->rax >= 0)
		tracer_memory_syscall_exit(tr, t, nr, (int64_t)r->rax);
	s->state = B_CACHE;
	if (!c->off && cache_holds(c, r->rip)) {
		at_syscall_exit(tr, t, c);
		block_resume_thread(t, 0);
		return;
	}
	if (!leave_cache(tr, t, c, false))
		return;
	block_run_from(tr, t, t->pc, 0);
}

/* Every thread's counters, read while the others may run (an exec ends
 * them anyway; a kill is ours). */
static void harvest_process(struct tracer *tr, struct proc *p, struct cache *c)
{
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *o = tr->threads[i];
		if (o->proc == p && area_of(o)->base)
			harvest(tr, o, c);
	}
}

static void cache_syscall_stop(struct tracer *tr, struct tracee *t, struct cache *c)
{
	struct block_thread *s = block_thread_of(t);
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0)
		return;
	if (s->state == B_CSYS) {
		syscall_exit(tr, t, c, &r);
		return;
	}
	/* Entry: the translation counted the syscall instruction already. */
	t->sys_regs = r;
	t->sys_nr = (int64_t)r.orig_rax;
	t->sys_start_ns = now_ns();
	t->in_syscall = true;
	s->state = B_CSYS;
	if (r.orig_rax == SYS_execve || r.orig_rax == SYS_execveat) {
		harvest_process(tr, t->proc, c); /* the memory holding the counts may go */
		drain(tr, t, c);
	}
	block_resume_thread(t, 0);
}

/* PROF_DEBUG: where in the cache a fault or a trap prof does not own came. */
static void log_cache_fault(struct tracee *t, struct cache *c, int sig, const siginfo_t *si)
{
	struct user_regs_struct r;
	uint8_t code[16] = { 0 };
	if (!log_debug_enabled() || ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0)
		return;
	tracer_read_code(t->tid, r.rip, code);
	const struct trans *x = cache_trans_at(c, r.rip);
	log_debug("thread %d: signal %d code %d addr %p at %#llx (translation of %#llx at %#llx+%#llx%s) "
		  "rsp %#llx rax %#llx rcx %#llx rdx %#llx gs_base %#llx eflags %#llx "
		  "cs %#llx ss %#llx ds %#llx es %#llx fs %#llx gs %#llx orig_rax %#llx; "
		  "%02x %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x",
		  t->tid, sig, si->si_code, si->si_addr, r.rip, x ? (unsigned long long)x->orig : 0ull,
		  x ? (unsigned long long)x->entry : 0ull,
		  x ? (unsigned long long)(r.rip - x->entry) : 0ull, x && x->dead ? ", dead" : "",
		  r.rsp, r.rax, r.rcx, r.rdx, r.gs_base, r.eflags, r.cs, r.ss, r.ds, r.es, r.fs, r.gs,
		  r.orig_rax, code[0], code[1], code[2], code[3],
		  code[4], code[5], code[6], code[7], code[8], code[9], code[10], code[11]);
}

static void cache_on_signal(struct tracer *tr, struct tracee *t, int sig)
{
	struct cache *c = cache_of(t);
	if (!c || !in_cache_state(t)) {
		block_mode.on_signal(tr, t, sig);
		return;
	}
	siginfo_t si;
	uint64_t resume, rip = tracer_read_pc(t);
	if (ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) != 0)
		memset(&si, 0, sizeof si);
	if (write_guard_fault(tr, t, sig, &si)) {
		block_resume_thread(t, 0); /* the write runs again, the page writable */
		return;
	}
	if (sig == SIGSEGV && cache_log_full(tr, t, c, area_of(t), clock_of(t),
					     (uint64_t)si.si_addr, rip, &resume)) {
		block_set_pc(t, resume);
		block_resume_thread(t, 0);
		return;
	}
	bool fault = si.si_code > 0 &&
		     (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE);
	if (fault || sig == SIGTRAP)
		log_cache_fault(t, c, sig, &si);
	if (!leave_cache(tr, t, c, fault))
		return;
	/* Stepping out may have replaced the stop: the signal keeps its details. */
	if (ptrace(PTRACE_SETSIGINFO, t->tid, 0, &si) != 0)
		tracer_lost(tr, "a siginfo lost", "thread %d, signal %d", t->tid, sig);
	block_mode.on_signal(tr, t, sig);
}

static void cache_on_trap(struct tracer *tr, struct tracee *t, int sig)
{
	struct cache *c = cache_of(t);
	if (!c || !in_cache_state(t)) {
		block_mode.on_trap(tr, t, sig);
		return;
	}
	if (sig == (SIGTRAP | 0x80)) {
		cache_syscall_stop(tr, t, c);
		return;
	}
	uint64_t rip = tracer_read_pc(t), target, probe;
	if (cache_exit_at(c, rip - 1, &target))
		exit_reached(tr, t, c, rip - 1, target);
	else if (cache_is_miss(c, rip - 1, &probe))
		lookup_missed(tr, t, c, probe);
	else
		cache_on_signal(tr, t, SIGTRAP);
}

/* ---- threads and processes ---- */

/* A fork or vfork child, or a new thread, starts where its parent stood: in
 * the cache, just after the syscall; a forked child with the data area it
 * inherited, any other with one of its own. */
static void cache_begin(struct tracer *tr, struct tracee *t, bool after_exec)
{
	struct cache *c = cache_of(t);
	uint64_t rip = tracer_read_pc(t), orig;
	if (after_exec || !c || !c->started || !cache_holds(c, rip)) {
		block_mode.begin(tr, t, after_exec);
		return;
	}
	struct block_thread *s = block_thread_of(t);
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0)
		program_rcx(t, c, &r);
	if (c->forked.base && t->tid == t->proc->pid)
		cache_area_copy(area_of(t), &c->forked);
	cache_area_free(&c->forked);
	if (c->off || t->proc->unfollowed || !has_area(tr, t, c)) {
		if (!leave_cache(tr, t, c, false))
			return;
		restore_gs(t, c);
		if (t->proc->unfollowed && t->proc->as->refs == 1)
			cache_remove(tr, t, c, stub_of(t), false);
		block_mode.begin(tr, t, false);
		return;
	}
	if (!to_original(tr, t, c, rip, false, &orig))
		orig = rip;
	struct cache_clock *clk = clock_of(t);
	cache_read(c, area_of(t)->base + CD_ICOUNT, &clk->tracee, 8);
	clk->tracer = t->icount;
	clk->ran = true;
	callstack_push(tr, t, 0, orig, 0, 0); /* the thread's root frame */
	t->pc = orig;
	s->state = B_CACHE;
	block_resume_thread(t, 0);
}

static struct tracee *thread_of(struct tracer *tr, struct proc *p)
{
	for (size_t i = 0; i < tr->nthreads; i++)
		if (tr->threads[i]->proc == p && in_cache_state(tr->threads[i]))
			return tr->threads[i];
	return NULL;
}

static void cache_new_process(struct tracer *tr, struct proc *parent, struct proc *child,
			      bool shares_memory)
{
	struct cache *c = parent->as ? parent->as->cache : NULL;
	struct tracee *pt = c && c->started && !c->off ? thread_of(tr, parent) : NULL;
	if (pt) {
		/* Everything so far is the parent's: the child counts from here. */
		harvest(tr, pt, c);
		drain(tr, pt, c);
	}
	block_mode.on_new_process(tr, parent, child, shares_memory);
	struct cache *cc = child->as ? child->as->cache : NULL;
	if (!pt || shares_memory || !cc)
		return; /* a vfork child gets a data area of its own */
	/* The forked copy of the parent thread's area, its call log emptied. */
	cache_area_copy(&cc->forked, area_of(pt));
	uint64_t log_start = cc->forked.base + CD_LOG;
	if (!cache_write(cc, cc->forked.base + CD_LOG_PTR, &log_start, 8))
		tracer_lost(tr, "a call log not reset", "process %d", child->pid);
}

static void cache_on_exit_event(struct tracer *tr, struct tracee *t)
{
	struct cache *c = cache_of(t);
	if (c && area_of(t)->base) {
		harvest(tr, t, c);
		drain(tr, t, c);
	}
	block_mode.on_exit_event(tr, t);
}

/* Detaching: a thread born of a clone made in the cache and parked at its
 * first stop, before cache_begin took it out, stands after the translated
 * syscall with its creator's GS base. Left there, it ran into the unmapped
 * cache after detach and the program died of SIGSEGV. Nothing ran yet. */
static int settle_newborn(struct tracee *t, struct cache *c)
{
	struct user_regs_struct r;
	uint64_t orig;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0)
		return 0;
	if (!cache_after_syscall(c, r.rip, &orig)) {
		log_warn("thread %d: left in prof's code cache at detach", t->tid);
		return 0;
	}
	program_rcx(t, c, &r);
	block_set_pc(t, orig);
	t->pc = orig;
	restore_gs(t, c);
	return 0;
}

/* Detaching, no thread running: t leaves the cache. At an exit's or the
 * lookup's int3 it stands at the original target; at the call log's guard
 * fault the fault is prof's (never the program's). */
static int cache_settle(struct tracer *tr, struct tracee *t, int status)
{
	struct cache *c = cache_of(t);
	struct block_thread *s = block_thread_of(t);
	if (!c || !c->started)
		return block_settle(tr, t, status);
	if (in_cache_state(t)) {
		bool in_syscall = s->state == B_CSYS;
		int sig = status >> 16 == 0 ? WSTOPSIG(status) : 0;
		uint64_t orig, resume;
		siginfo_t si;
		harvest(tr, t, c);
		if (sig != SIGSEGV || ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) != 0)
			memset(&si, 0, sizeof si);
		if (sig == SIGTRAP && stepped_onto_trap(tr, t, c, &orig)) {
			block_set_pc(t, orig);
			sig = 0;
		} else if (sig == SIGSEGV && cache_log_full(tr, t, c, area_of(t), clock_of(t),
							    (uint64_t)si.si_addr, tracer_read_pc(t), &resume)) {
			block_set_pc(t, resume);
			sig = 0;
		} else if (write_guard_owns(t->proc->as, sig, &si)) {
			sig = 0; /* the write runs again once detached, the page writable */
		}
		bool fault = si.si_code > 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE);
		if (fault)
			log_cache_fault(t, c, sig, &si);
		if (!leave_cache(tr, t, c, fault))
			log_warn("thread %d: left in prof's code cache at detach", t->tid);
		s->state = in_syscall ? B_SYSCALL : B_RUN;
		restore_gs(t, c);
		return sig == (SIGTRAP | 0x80) || sig == SIGTRAP ? 0 : sig;
	}
	if (!area_of(t)->base && cache_holds(c, tracer_read_pc(t)))
		return settle_newborn(t, c);
	if (area_of(t)->base)
		restore_gs(t, c);
	return block_settle(tr, t, status);
}

static void cache_clean_process(struct tracer *tr, struct proc *p, struct tracee *injector,
				bool entry)
{
	struct cache *c = p->as ? p->as->cache : NULL;
	if (c && c->started && injector) {
		cache_remove(tr, injector, c, stub_of(injector), entry);
		entry = false; /* the injection ran the program's syscall's entry again */
	}
	block_clean_process(tr, p, injector, entry);
}

/* The program is about to be killed: the counters are still readable. */
static void cache_before_kill(struct tracer *tr)
{
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *t = tr->threads[i];
		struct cache *c = cache_of(t);
		if (c && area_of(t)->base)
			harvest(tr, t, c);
	}
}

/* Before a client request changes what is counted: every thread's
 * counters, and t's calls and returns so far. */
static void cache_count_now(struct tracer *tr, struct tracee *t)
{
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *o = tr->threads[i];
		struct cache *c = cache_of(o);
		if (c && area_of(o)->base)
			harvest(tr, o, c);
	}
	struct cache *c = cache_of(t);
	if (c && in_cache_state(t))
		drain(tr, t, c);
}

static void cache_resume(struct tracer *tr, struct tracee *t)
{
	block_mode.resume(tr, t);
}

static void cache_on_exec(struct tracer *tr, struct tracee *t)
{
	block_mode.on_exec(tr, t);
}

static void cache_thread_gone(struct tracer *tr, struct tracee *t)
{
	struct block_thread *b = t->mode_state;
	if (b && b->ext) {
		forget_uncounted(tr, t);
		cache_area_free(area_of(t));
		free(b->ext);
		b->ext = NULL;
	}
	block_mode.thread_gone(tr, t);
}

/* What the translations counted, in every thread, and the calls t's
 * logged, belong to the code that is about to change. */
static void cache_before_code_change(struct tracer *tr, struct tracee *t, uint64_t lo, uint64_t hi)
{
	struct cache *c = cache_of(t);
	if (!c || !c->started)
		return;
	/* Only the code that changes gets a new generation: only its
	 * translations' counts must be made first (a JIT's write faults come
	 * by the hundred; reading every counter of every thread each time
	 * made `java` 3-5 times slower). */
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *o = tr->threads[i];
		if (o->proc == t->proc && area_of(o)->base)
			cache_harvest_range(tr, o, c, area_of(o), lo, hi);
	}
	if (area_of(t)->base)
		drain(tr, t, c);
}

/* Code that ran changed: its translations die, in every thread, and the
 * cache stays on. No thread is stopped: nothing links to a dead
 * translation once this returns, and a thread still inside one runs on
 * only to its exit, which traps or leads to live code (docs/code-cache.md,
 * "Threads: dead code stays in place"). */
static void cache_code_changed(struct tracer *tr, struct tracee *t, uint64_t lo, uint64_t hi)
{
	struct cache *c = cache_of(t);
	if (c && c->started && !c->off)
		cache_invalidate(tr, c, lo, hi);
}

/* block_ext.image_start: the process image's cache, and t's data area. */
static void cache_image_start(struct tracer *tr, struct tracee *t, uint64_t stub)
{
	struct aspace *as = t->proc->as;
	if (as->cache)
		return;
	as->cache = cache_new();
	if (!stub || !cache_start(tr, t, as->cache, stub, area_of(t)))
		as->cache->off = true;
}

static const struct block_ext cache_ext = {
	.enter = cache_mode_enter,
	.image_start = cache_image_start,
};

const struct mode_ops cache_mode = {
	.name = "cache",
	.begin = cache_begin,
	.on_trap = cache_on_trap,
	.on_signal = cache_on_signal,
	.resume = cache_resume,
	.on_exit_event = cache_on_exit_event,
	.on_exec = cache_on_exec,
	.on_new_process = cache_new_process,
	.settle = cache_settle,
	.clean_process = cache_clean_process,
	.thread_gone = cache_thread_gone,
	.before_kill = cache_before_kill,
	.count_now = cache_count_now,
	.on_collect_call = cache_collect_call,
	.before_code_change = cache_before_code_change,
	.code_changed = cache_code_changed,
	.block_ext = &cache_ext,
};
