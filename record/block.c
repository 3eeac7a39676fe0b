/* Block mode: one stop per basic block. A block runs from a thread's PC up to
 * its control transfer, where an int3 (shared by every thread of the address
 * space) stops it; the transfer is then emulated from the registers and the
 * thread resumes at the successor. Direct jumps and calls are followed while
 * decoding (superblocks). `syscall` needs no breakpoint: threads resume with
 * PTRACE_SYSCALL. Instructions that cannot be emulated or decoded (REP string
 * ops, capstone's gaps) are reached through a per-thread debug register, so
 * code is never restored under running threads. */
#include "block.h"
#include "callstack.h"
#include "emulate.h"
#include "tracer.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>

#define MAX_BLOCK_INSNS 2048
#define MAX_EXTENSIONS 32
#define MAX_CHAINED_EMULATIONS 64

enum bstate {
	B_RUN,        /* running its block; a breakpoint or syscall stop ends it */
	B_SYSCALL,    /* between a syscall's entry and exit stops */
	B_EXEC_EXIT,  /* after exec: the execve exit stop comes next */
	B_HW_BEFORE,  /* debug register at the REP/STEP/SPLIT instruction */
	B_HW_AFTER,   /* a REP instruction runs; debug register just after it */
	B_STEP,       /* single-stepping one instruction (step_pc) */
	B_HANDLER,    /* a signal was delivered with a single step */
};

/* ---- debug registers ---- */

#define DR_OFFSET(n) (offsetof(struct user, u_debugreg) + (n) * sizeof(long))

static void hw_arm(struct tracee *t, uint64_t addr)
{
	if (t->hw_addr == addr)
		return;
	if (ptrace(PTRACE_POKEUSER, t->tid, DR_OFFSET(0), addr) != 0 ||
	    (!t->hw_addr && ptrace(PTRACE_POKEUSER, t->tid, DR_OFFSET(7), 1) != 0)) {
		log_warn("cannot set a debug register in thread %d: %s", t->tid, strerror(errno));
		return;
	}
	t->hw_addr = addr;
}

static void hw_disarm(struct tracee *t)
{
	if (!t->hw_addr)
		return;
	if (ptrace(PTRACE_POKEUSER, t->tid, DR_OFFSET(7), 0) != 0 && errno != ESRCH)
		log_debug("cannot clear DR7 of %d: %s", t->tid, strerror(errno));
	t->hw_addr = 0;
}

/* ---- decoding blocks ---- */

static bool decode_at(struct tracer *tr, struct tracee *t, uint64_t pc, uint8_t code[16],
		      struct insn_info *info, struct branch *br)
{
	struct aspace *as = t->proc->as;
	size_t n = tracer_read_code(t->tid, pc, code);
	for (size_t i = 0; i < n; i++) {
		uint8_t orig;
		if (aspace_bp_orig(as, pc + i, &orig))
			code[i] = orig; /* decode what the program wrote, not our int3 */
	}
	if (!n) {
		memset(info, 0, sizeof *info);
		memset(br, 0, sizeof *br);
		info->cls = CLASS_OTHER;
		return false;
	}
	return classifier_decode_branch(tr->classifier, code, n, pc, info, br);
}

struct block_builder {
	struct block *b;
	size_t cap, calls_cap;
};

static void append(struct block_builder *bb, uint64_t pc, uint8_t cls)
{
	struct block *b = bb->b;
	if (b->n == bb->cap) {
		bb->cap = bb->cap ? 2 * bb->cap : 16;
		b->insns = xrealloc(b->insns, bb->cap * sizeof *b->insns);
	}
	b->insns[b->n++] = (struct block_insn){ pc, cls };
}

static void append_call(struct block_builder *bb, uint64_t target, uint64_t ret_addr)
{
	struct block *b = bb->b;
	if (b->ncalls == bb->calls_cap) {
		bb->calls_cap = bb->calls_cap ? 2 * bb->calls_cap : 4;
		b->calls = xrealloc(b->calls, bb->calls_cap * sizeof *b->calls);
	}
	b->calls[b->ncalls++] = (struct block_call){ b->n - 1, target, ret_addr };
}

static bool block_contains(const struct block *b, uint64_t pc)
{
	for (uint32_t i = 0; i < b->n; i++)
		if (b->insns[i].pc == pc)
			return true;
	return false;
}

/* int3, into and int1 complete and then raise SIGTRAP: the signal ends the block. */
static bool completes_with_trap(const uint8_t *code)
{
	return code[0] == 0xcc || code[0] == 0xce || code[0] == 0xf1;
}

/* Decodes instructions from pc until the block's end; returns the end kind. */
static enum block_end scan_block(struct tracer *tr, struct tracee *t, struct block_builder *bb,
				 uint64_t pc)
{
	struct block *b = bb->b;
	int extensions = 0;
	uint8_t code[16], orig;
	struct insn_info info;
	struct branch br;
	for (;; pc += info.len) {
		b->end_pc = pc;
		if (b->n >= MAX_BLOCK_INSNS)
			return END_SPLIT;
		bool ok = decode_at(tr, t, pc, code, &info, &br);
		b->end_info = info;
		if (!ok || info.is_rep)
			return ok ? END_REP : END_STEP;
		if (info.cls == CLASS_SYSCALL) {
			append(bb, pc, info.cls);
			return completes_with_trap(code) ? END_TRAP : END_SYSCALL;
		}
		bool transfer = info.cls == CLASS_BRANCH || info.cls == CLASS_CALL ||
				info.cls == CLASS_RET;
		if (transfer && br.kind == BR_NONE)
			return END_STEP; /* far jumps, iret: not emulated */
		append(bb, pc, info.cls);
		if (!transfer)
			continue;
		bool follow = (br.kind == BR_JMP || br.kind == BR_CALL) && br.to.direct &&
			      extensions < MAX_EXTENSIONS && !aspace_bp_orig(t->proc->as, pc, &orig) &&
			      !block_contains(b, br.to.target);
		if (!follow) {
			b->br = br;
			return END_BRANCH;
		}
		if (br.kind == BR_CALL)
			append_call(bb, br.to.target, pc + info.len);
		extensions++;
		info.len = 0;
		pc = br.to.target;
	}
}

/* Puts an int3 at the block's control transfer (once per address space). */
static void arm_breakpoint(struct tracee *t, struct block *b)
{
	struct aspace *as = t->proc->as;
	uint8_t orig;
	if (aspace_bp_orig(as, b->end_pc, &orig))
		return;
	errno = 0;
	long word = ptrace(PTRACE_PEEKDATA, t->tid, b->end_pc, 0);
	if (!(word == -1 && errno) &&
	    ptrace(PTRACE_POKEDATA, t->tid, b->end_pc, (word & ~0xffl) | 0xcc) == 0) {
		aspace_bp_add(as, b->end_pc, (uint8_t)word);
		return;
	}
	b->hw_end = true; /* unwritable code: a debug register does the job */
}

static struct block *get_block(struct tracer *tr, struct tracee *t, uint64_t start)
{
	struct block *b = aspace_block(t->proc->as, start);
	if (b)
		return b;
	struct block_builder bb = { xcalloc(1, sizeof(struct block)), 0, 0 };
	bb.b->start = start;
	bb.b->end = (uint8_t)scan_block(tr, t, &bb, start);
	if (bb.b->end == END_BRANCH)
		arm_breakpoint(t, bb.b);
	aspace_add_block(t->proc->as, bb.b);
	return bb.b;
}

/* ---- counting ---- */

/* Counts instructions [from, to) of the thread's block. */
static void count_range(struct tracer *tr, struct tracee *t, uint32_t from, uint32_t to)
{
	const struct block *b = t->block;
	uint32_t c = 0;
	while (c < b->ncalls && b->calls[c].index < from)
		c++;
	for (uint32_t i = from; i < to; i++) {
		tracer_count_insn(tr, t, b->insns[i].pc, b->insns[i].cls);
		if (c < b->ncalls && b->calls[c].index == i) {
			callstack_push(tr, t, b->insns[i].pc, b->calls[c].target, b->calls[c].ret_addr, 0);
			c++;
		}
	}
	t->block_pos = to;
}

/* The position of pc in the thread's block at or after its counted part. */
static int find_in_block(const struct tracee *t, uint64_t pc)
{
	const struct block *b = t->block;
	for (uint32_t i = t->block_pos; b && i < b->n; i++)
		if (b->insns[i].pc == pc)
			return (int)i;
	return -1;
}

/* ---- running ---- */

static void resume(struct tracee *t, int sig)
{
	if (ptrace(PTRACE_SYSCALL, t->tid, 0, sig) != 0 && errno != ESRCH)
		log_warn("cannot resume thread %d: %s", t->tid, strerror(errno));
}

static void single_step(struct tracee *t, uint64_t pc, uint8_t cls, int sig)
{
	t->pc = pc;
	t->insn.cls = cls;
	t->bstate = B_STEP;
	hw_disarm(t);
	if (ptrace(PTRACE_SINGLESTEP, t->tid, 0, sig) != 0 && errno != ESRCH)
		log_warn("cannot step thread %d: %s", t->tid, strerror(errno));
}

static bool read_word(void *ctx, uint64_t addr, uint64_t *value)
{
	return tracer_read_word(ctx, addr, value);
}

/* Emulates the control transfer that ends the block (not executed yet): the
 * registers are set to its effect. Returns false if it cannot be emulated. */
static bool emulate_end(struct tracer *tr, struct tracee *t, uint64_t *next)
{
	const struct block *b = t->block;
	struct user_regs_struct r;
	struct emu_effect e;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0 ||
	    !emulate_branch(&b->br, b->end_pc, &r, read_word, t, &e))
		return false;
	if (e.push && ptrace(PTRACE_POKEDATA, t->tid, e.rsp, e.push_value) != 0)
		return false;
	uint64_t sp_at_ret = r.rsp;
	r.rip = e.rip;
	r.rsp = e.rsp;
	if (e.set_rcx)
		r.rcx = e.rcx;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) != 0)
		return false;
	count_range(tr, t, t->block_pos, b->n);
	if (b->br.kind == BR_CALL)
		callstack_push(tr, t, b->end_pc, e.rip, e.push_value, e.rsp);
	else if (b->br.kind == BR_RET)
		callstack_ret(tr, t, e.rip, sp_at_ret);
	*next = e.rip;
	return true;
}

static void set_pc(struct tracee *t, uint64_t pc)
{
	if (ptrace(PTRACE_POKEUSER, t->tid, offsetof(struct user_regs_struct, rip), pc) != 0)
		log_debug("cannot set rip of %d: %s", t->tid, strerror(errno));
}

/* Starts a REP, STEP or SPLIT instruction the thread stands on. */
static void run_special(struct tracer *tr, struct tracee *t, const struct block *b, int sig)
{
	if (b->end == END_REP) {
		errno = 0;
		long rcx = ptrace(PTRACE_PEEKUSER, t->tid, offsetof(struct user_regs_struct, rcx), 0);
		t->rep_rcx = errno ? 0 : (uint64_t)rcx;
		t->pc = b->end_pc;
		t->insn.cls = b->end_info.cls;
		hw_arm(t, b->end_pc + b->end_info.len);
		t->bstate = B_HW_AFTER;
		resume(t, sig);
	} else {
		single_step(t, b->end_pc, b->end_info.cls, sig);
	}
}

static void fail_emulation(struct tracer *tr, struct tracee *t)
{
	/* Let the CPU run it instead: take the breakpoint out for good. */
	const struct block *b = t->block;
	uint8_t orig;
	if (aspace_bp_orig(t->proc->as, b->end_pc, &orig)) {
		errno = 0;
		long word = ptrace(PTRACE_PEEKDATA, t->tid, b->end_pc, 0);
		if (!errno)
			ptrace(PTRACE_POKEDATA, t->tid, b->end_pc, (word & ~0xffl) | orig);
	}
	log_debug("thread %d: cannot emulate the branch at %llx; stepping it", t->tid,
		  (unsigned long long)b->end_pc);
	count_range(tr, t, t->block_pos, b->n - 1);
	set_pc(t, b->end_pc);
	single_step(t, b->end_pc, b->insns[b->n - 1].cls, 0);
}

/* The thread stands at pc (nothing there executed yet): run from there. */
static void run_from(struct tracer *tr, struct tracee *t, uint64_t pc, int sig)
{
	struct block *b = NULL;
	for (int chain = 0; chain < MAX_CHAINED_EMULATIONS; chain++) {
		t->pc = pc;
		t->block = b = get_block(tr, t, pc);
		t->block_pos = 0;
		/* A block that is only its control transfer needs no stop at all. */
		if (sig || b->end != END_BRANCH || b->n != 1)
			break;
		if (!emulate_end(tr, t, &pc)) {
			fail_emulation(tr, t);
			return;
		}
	}
	bool special = b->end == END_REP || b->end == END_STEP || b->end == END_SPLIT;
	if (special && b->n == 0) {
		run_special(tr, t, b, sig);
		return;
	}
	if (special || b->hw_end)
		hw_arm(t, b->end_pc);
	else
		hw_disarm(t);
	t->bstate = special ? B_HW_BEFORE : B_RUN;
	resume(t, sig);
}

/* ---- stops ---- */

static void on_syscall_stop(struct tracer *tr, struct tracee *t)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0)
		return;
	if (t->bstate == B_EXEC_EXIT) {
		callstack_push(tr, t, 0, r.rip, 0, 0); /* the new image's root frame */
		run_from(tr, t, r.rip, 0);
		return;
	}
	if (t->bstate == B_SYSCALL) { /* exit */
		long nr = (long)t->sys_nr;
		tracer_finish_syscall(tr, t, true, (int64_t)r.rax);
		if ((nr == SYS_mmap || nr == SYS_mprotect || nr == SYS_munmap || nr == SYS_mremap) &&
		    (int64_t)r.rax >= 0)
			tracer_refresh_maps(tr, t->proc);
		run_from(tr, t, r.rip, 0);
		return;
	}
	/* Entry: the block ran up to and including the 2-byte syscall instruction. */
	int idx = find_in_block(t, r.rip - 2);
	if (idx >= 0) {
		count_range(tr, t, t->block_pos, (uint32_t)idx + 1);
	} else {
		/* A syscall restarted after we attached: RIP moved back onto it. */
		tracer_count_insn(tr, t, r.rip - 2, CLASS_SYSCALL);
	}
	hw_disarm(t);
	t->sys_regs = r;
	t->sys_nr = (int64_t)r.orig_rax;
	t->sys_start_ns = now_ns();
	t->in_syscall = true;
	t->bstate = B_SYSCALL;
	resume(t, 0);
}

/* A trap at an int3 of ours (RIP is just past it). */
static void on_breakpoint(struct tracer *tr, struct tracee *t, uint64_t addr)
{
	const struct block *b = t->block;
	uint64_t next;
	if (b && addr == b->end_pc && b->end == END_BRANCH) {
		if (emulate_end(tr, t, &next))
			run_from(tr, t, next, 0);
		else
			fail_emulation(tr, t);
		return;
	}
	int idx = find_in_block(t, addr);
	if (idx >= 0 && (uint32_t)idx + 1 < b->n) {
		/* A direct jump or call this block runs through, where another block
		 * ends: it goes where the block says; a call pushes its return. */
		count_range(tr, t, t->block_pos, (uint32_t)idx + 1);
		for (uint32_t c = 0; c < b->ncalls; c++) {
			if (b->calls[c].index != (uint32_t)idx)
				continue;
			struct user_regs_struct r;
			if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0) {
				r.rsp -= 8;
				ptrace(PTRACE_POKEDATA, t->tid, r.rsp, b->calls[c].ret_addr);
				ptrace(PTRACE_SETREGS, t->tid, 0, &r);
			}
		}
		set_pc(t, b->insns[idx + 1].pc);
		run_from(tr, t, b->insns[idx + 1].pc, 0);
		return;
	}
	/* Not on this thread's path (its block was rebuilt meanwhile): start over
	 * at the breakpoint, whose block ends right there. */
	log_debug("thread %d: unexpected breakpoint at %llx", t->tid, (unsigned long long)addr);
	set_pc(t, addr);
	run_from(tr, t, addr, 0);
}

static uint64_t read_rcx(struct tracee *t)
{
	errno = 0;
	long rcx = ptrace(PTRACE_PEEKUSER, t->tid, offsetof(struct user_regs_struct, rcx), 0);
	return errno ? 0 : (uint64_t)rcx;
}

/* A REP instruction counts once per iteration: from RCX before and after. */
static void count_rep(struct tracer *tr, struct tracee *t, uint64_t rcx_now)
{
	uint64_t n = t->rep_rcx == 0 ? 1 : t->rep_rcx - rcx_now;
	for (uint64_t i = 0; i < n; i++)
		tracer_count_insn(tr, t, t->pc, t->insn.cls);
}

static bool is_handler_entry(struct tracee *t)
{
	siginfo_t si;
	return ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) == 0 && si.si_code == SIGTRAP;
}

static void block_on_signal(struct tracer *tr, struct tracee *t, int sig);

static void block_on_trap(struct tracer *tr, struct tracee *t, int sig)
{
	if (sig == (SIGTRAP | 0x80)) {
		on_syscall_stop(tr, t);
		return;
	}
	uint64_t pc = tracer_read_pc(t);
	uint8_t orig;
	switch (t->bstate) {
	case B_HANDLER:
		if (is_handler_entry(t)) {
			uint64_t ret = 0, sp = 0;
			errno = 0;
			sp = (uint64_t)ptrace(PTRACE_PEEKUSER, t->tid,
					      offsetof(struct user_regs_struct, rsp), 0);
			tracer_read_word(t, sp, &ret);
			callstack_push(tr, t, t->pc, pc, ret, sp);
		}
		run_from(tr, t, pc, 0);
		return;
	case B_STEP:
		if (pc != t->pc)
			tracer_count_insn(tr, t, t->pc, t->insn.cls);
		run_from(tr, t, pc, 0);
		return;
	case B_HW_AFTER:
		if (pc == t->hw_addr) {
			count_rep(tr, t, read_rcx(t));
			run_from(tr, t, pc, 0);
			return;
		}
		break;
	case B_HW_BEFORE:
		if (pc == t->hw_addr && t->block && pc == t->block->end_pc) {
			count_range(tr, t, t->block_pos, t->block->n);
			if (t->block->end == END_SPLIT)
				run_from(tr, t, pc, 0);
			else
				run_special(tr, t, t->block, 0);
			return;
		}
		break;
	case B_RUN:
		if (t->hw_addr && pc == t->hw_addr && t->block && t->block->hw_end) {
			on_breakpoint(tr, t, pc);
			return;
		}
		if (aspace_bp_orig(t->proc->as, pc - 1, &orig)) {
			on_breakpoint(tr, t, pc - 1);
			return;
		}
		break;
	default:
		break;
	}
	/* Not ours: the program's own int3 or a SIGTRAP sent to it. */
	block_on_signal(tr, t, SIGTRAP);
}

/* Whether the process has a handler for sig (SigCgt in /proc). */
static bool has_handler(pid_t tid, int sig)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	unsigned long long caught = 0;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "SigCgt:", 7) == 0)
			caught = strtoull(line + 7, NULL, 16);
	if (f)
		fclose(f);
	return sig >= 1 && sig <= 64 && (caught >> (sig - 1)) & 1;
}

/* Counts what ran of the thread's current work before a signal stopped it at pc. */
static void count_until_signal(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	const struct block *b = t->block;
	if (t->bstate == B_HW_AFTER) {
		uint64_t rcx = read_rcx(t);
		if (t->rep_rcx && rcx < t->rep_rcx)
			count_rep(tr, t, rcx); /* the iterations done before it was interrupted */
		return;
	}
	if (t->bstate == B_STEP) {
		if (pc != t->pc)
			tracer_count_insn(tr, t, t->pc, t->insn.cls);
		return;
	}
	if (!b || (t->bstate != B_RUN && t->bstate != B_HW_BEFORE))
		return;
	int idx = find_in_block(t, pc);
	if (idx >= 0)
		count_range(tr, t, t->block_pos, (uint32_t)idx);
	else if (b->end == END_TRAP && pc == b->end_pc + b->end_info.len)
		count_range(tr, t, t->block_pos, b->n);
}

static void block_on_signal(struct tracer *tr, struct tracee *t, int sig)
{
	uint64_t pc = tracer_read_pc(t);
	count_until_signal(tr, t, pc);
	hw_disarm(t);
	tracer_record_signal(tr, t, sig, pc);
	t->block = NULL;
	if (has_handler(t->tid, sig)) {
		/* Stepping with the signal stops at the handler's first instruction. */
		t->pc = pc;
		t->bstate = B_HANDLER;
		if (ptrace(PTRACE_SINGLESTEP, t->tid, 0, sig) != 0 && errno != ESRCH)
			log_warn("cannot deliver signal to %d: %s", t->tid, strerror(errno));
		return;
	}
	run_from(tr, t, pc, sig);
}

static void block_begin(struct tracer *tr, struct tracee *t, bool after_exec)
{
	struct proc *p = t->proc;
	if (!p->as)
		p->as = aspace_new();
	if (p->unfollowed && p->as->refs == 1) {
		/* --no-follow-fork: a forked copy leaves with our int3s taken out. */
		aspace_remove_breakpoints(p->as, t->tid);
		hw_disarm(t);
		if (ptrace(PTRACE_DETACH, t->tid, 0, 0) != 0)
			log_debug("detach %d: %s", t->tid, strerror(errno));
		tracer_forget_thread(tr, t);
		return;
	}
	if (after_exec) {
		t->bstate = B_EXEC_EXIT;
		resume(t, 0);
		return;
	}
	callstack_push(tr, t, 0, t->pc, 0, 0); /* the thread's root frame */
	run_from(tr, t, t->pc, 0);
}

static void block_resume(struct tracer *tr, struct tracee *t)
{
	if (t->bstate == B_STEP || t->bstate == B_HANDLER) {
		if (ptrace(PTRACE_SINGLESTEP, t->tid, 0, 0) != 0 && errno != ESRCH)
			log_debug("cannot step %d: %s", t->tid, strerror(errno));
		return;
	}
	resume(t, 0);
}

static void block_on_exit_event(struct tracer *tr, struct tracee *t)
{
	/* The syscall that ends the thread was counted at its entry stop. */
	if (t->in_syscall)
		tracer_finish_syscall(tr, t, false, 0);
}

static void block_on_exec(struct tracer *tr, struct tracee *t)
{
	/* execve's instruction was counted at its entry stop. */
}

static void block_new_process(struct tracer *tr, struct proc *parent, struct proc *child,
			      bool shares_memory)
{
	if (!parent->as)
		parent->as = aspace_new();
	if (shares_memory) {
		parent->as->refs++;
		child->as = parent->as;
	} else {
		child->as = aspace_fork(parent->as);
	}
}

static void block_before_detach(struct tracer *tr, struct tracee *t)
{
	struct aspace *as = t->proc->as;
	uint8_t orig;
	uint64_t pc = tracer_read_pc(t);
	/* Stopped just past one of our int3s: back to the real instruction. */
	if (as && t->bstate == B_RUN && aspace_bp_orig(as, pc - 1, &orig))
		set_pc(t, pc - 1);
	if (as && as->nbps && !as->removed)
		aspace_remove_breakpoints(as, t->tid);
	hw_disarm(t);
}

static void block_thread_gone(struct tracer *tr, struct tracee *t)
{
	callstack_unwind(tr, t);
}

const struct mode_ops block_mode = {
	.name = "block",
	.begin = block_begin,
	.on_trap = block_on_trap,
	.on_signal = block_on_signal,
	.resume = block_resume,
	.on_exit_event = block_on_exit_event,
	.on_exec = block_on_exec,
	.on_new_process = block_new_process,
	.before_detach = block_before_detach,
	.thread_gone = block_thread_gone,
};
