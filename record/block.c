/* Block mode: one stop per basic block. A block runs from a thread's PC up to
 * its control transfer, where an int3 (shared by every thread of the address
 * space) stops it; the transfer is then emulated from the registers and the
 * thread resumes at the successor. Direct jumps and calls are followed while
 * decoding (superblocks). `syscall` needs no breakpoint: threads resume with
 * PTRACE_SYSCALL. What cannot be emulated runs out of line, as uprobes and
 * gdb's displaced stepping do: a REP string instruction from a slot of the
 * scratch page injected into the process (scratch.c), followed by an int3.
 * A block whose end cannot hold an int3 (an instruction no decoder knows, a
 * far transfer, unwritable code) is walked by single steps instead. No debug
 * registers: on some machines they are accepted and never fire. */
#include "block.h"
#include "callstack.h"
#include "client_request.h"
#include "cpu_intercept.h"
#include "emulate.h"
#include "emulated_insn.h"
#include "inject.h"
#include "scratch.h"
#include "tracer.h"
#include "write_guard.h"
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
#include <sys/wait.h>

#define MAX_BLOCK_INSNS 2048       /* superblocks stop growing here */
#define MAX_STRAIGHT_INSNS 65536   /* straight-line code this long is walked */
#define MAX_EXTENSIONS 32
#define MAX_CHAINED_EMULATIONS 64

struct block_thread *block_thread_of(struct tracee *t)
{
	if (!t->mode_state)
		t->mode_state = xcalloc(1, sizeof(struct block_thread));
	return t->mode_state;
}

static struct block_thread *bt(struct tracee *t)
{
	return block_thread_of(t);
}

/* ---- decoding blocks ---- */

static bool decode_at(struct tracer *tr, struct tracee *t, uint64_t pc, uint8_t code[16],
		      struct insn_info *info, struct branch *br)
{
	struct aspace *as = t->proc->as;
	write_guard_code(tr, t, pc, 1);
	size_t n = tracer_read_code(t->tid, pc, code);
	aspace_code_at(as, pc, code, n);
	if (!n) {
		memset(info, 0, sizeof *info);
		memset(br, 0, sizeof *br);
		info->cls = CLASS_OTHER;
		return false;
	}
	bool ok = classifier_decode_branch(tr->classifier, code, n, pc, info, br);
	if (ok && ((pc ^ (pc + info->len - 1)) & ~4095ull) &&
	    write_guard_code(tr, t, pc + info->len - 1, 1))
		return decode_at(tr, t, pc, code, info, br); /* its tail's page was writable */
	if (ok)
		tracer_saw_code(tr, t->proc, pc, code, info->len);
	return ok;
}

struct block_builder {
	struct block *b;
	size_t cap, calls_cap;
};

static void append(struct block_builder *bb, uint64_t pc, const struct insn_info *info)
{
	struct block *b = bb->b;
	if (b->n == bb->cap) {
		bb->cap = bb->cap ? 2 * bb->cap : 16;
		b->insns = xrealloc(b->insns, bb->cap * sizeof *b->insns);
	}
	b->insns[b->n++] = (struct block_insn){ pc, info->cls, info->sp_unknown, info->sp_delta };
}

static void append_call(struct block_builder *bb, uint64_t target, uint64_t ret_addr, bool jump)
{
	struct block *b = bb->b;
	if (b->ncalls == bb->calls_cap) {
		bb->calls_cap = bb->calls_cap ? 2 * bb->calls_cap : 4;
		b->calls = xrealloc(b->calls, bb->calls_cap * sizeof *b->calls);
	}
	b->calls[b->ncalls++] = (struct block_call){ b->n - 1, jump, target, ret_addr };
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
		bool ok = decode_at(tr, t, pc, code, &info, &br);
		b->end_info = info;
		if (!ok || b->n >= MAX_STRAIGHT_INSNS)
			return END_STEP;
		if (info.is_creq_marker && creq_at(tr, t, pc))
			return END_CLIENT;
		if (info.is_rep)
			return END_REP;
		if (tracer_emulates(tr, t, pc, &info))
			return END_EMULATE;
		if (info.cls == CLASS_SYSCALL) {
			append(bb, pc, &info);
			return completes_with_trap(code) ? END_TRAP : END_SYSCALL;
		}
		bool transfer = info.cls == CLASS_BRANCH || info.cls == CLASS_CALL ||
				info.cls == CLASS_RET;
		if (transfer && br.kind == BR_NONE)
			return END_STEP; /* far jumps, iret: not emulated */
		append(bb, pc, &info);
		if (!transfer)
			continue;
		bool follow = (br.kind == BR_JMP || br.kind == BR_CALL) && br.to.direct &&
			      extensions < MAX_EXTENSIONS && b->n < MAX_BLOCK_INSNS &&
			      !aspace_bp_orig(t->proc->as, pc, &orig) && !block_contains(b, br.to.target);
		if (!follow) {
			b->br = br;
			return END_BRANCH;
		}
		if (br.kind == BR_CALL)
			append_call(bb, br.to.target, pc + info.len, false);
		else if (tracer_jump_exit(tr, t->proc, pc, &br) == JUMP_ENTERS)
			append_call(bb, br.to.target, 0, true);
		extensions++;
		info.len = 0;
		pc = br.to.target;
	}
}

/* Puts an int3 at addr (once per address space); false when the code cannot
 * be written. */
static bool arm_breakpoint(struct tracee *t, uint64_t addr)
{
	struct aspace *as = t->proc->as;
	uint8_t orig;
	if (aspace_bp_orig(as, addr, &orig))
		return true;
	errno = 0;
	long word = ptrace(PTRACE_PEEKDATA, t->tid, addr, 0);
	if ((word == -1 && errno) ||
	    ptrace(PTRACE_POKEDATA, t->tid, addr, (word & ~0xffl) | 0xcc) != 0)
		return false;
	aspace_bp_add(as, addr, (uint8_t)word);
	return true;
}

/* Decides how a thread reaches the block's end and what runs there. */
static void place_end(struct tracer *tr, struct tracee *t, struct block *b)
{
	struct aspace *as = t->proc->as;
	uint8_t code[16];
	struct insn_info info;
	struct branch br;
	switch (b->end) {
	case END_BRANCH:
	case END_EMULATE:
		b->walk = !arm_breakpoint(t, b->end_pc);
		break;
	case END_REP:
		if (!as->scratch.base || !decode_at(tr, t, b->end_pc, code, &info, &br))
			b->slot = 0;
		else
			b->slot = scratch_slot(tr, t, &as->scratch, b->end_pc, code, info.len);
		/* Without a slot the REP is single-stepped where it is: no int3 there. */
		b->walk = !b->slot || !arm_breakpoint(t, b->end_pc);
		break;
	case END_STEP:
		b->walk = true;
		break;
	case END_CLIENT:
		b->walk = !arm_breakpoint(t, b->end_pc);
		break;
	default:
		break;
	}
}

static struct block *get_block(struct tracer *tr, struct tracee *t, uint64_t start)
{
	struct block *b = aspace_block(t->proc->as, start);
	if (b)
		return b;
	struct block_builder bb = { xcalloc(1, sizeof(struct block)), 0, 0 };
	bb.b->start = start;
	bb.b->end = (uint8_t)scan_block(tr, t, &bb, start);
	place_end(tr, t, bb.b);
	aspace_add_block(t->proc->as, bb.b);
	return bb.b;
}

/* ---- counting ---- */

/* The stack pointer right after the call at insns[call] ran, from rsp as
 * it was after insns[at - 1] (before insns[at]); 0 when an instruction
 * between changed RSP in a way not known. */
static uint64_t sp_after_call(const struct block *b, uint32_t call, uint32_t at, uint64_t rsp)
{
	if (!rsp)
		return 0;
	for (uint32_t i = call + 1; i < at; i++) { /* back from a later point */
		if (b->insns[i].sp_unknown)
			return 0;
		rsp -= (uint64_t)(int64_t)b->insns[i].sp_delta;
	}
	for (uint32_t i = at; i <= call; i++) { /* on from an earlier one */
		if (b->insns[i].sp_unknown)
			return 0;
		rsp += (uint64_t)(int64_t)b->insns[i].sp_delta;
	}
	return rsp;
}

/* Counts instructions [from, to) of the thread's block; rsp is the stack
 * pointer after insns[rsp_at - 1] ran (0: read it now, after insns[to - 1]). */
static void count_range_sp(struct tracer *tr, struct tracee *t, uint32_t from, uint32_t to,
			   uint64_t rsp, uint32_t rsp_at)
{
	struct block_thread *s = bt(t);
	const struct block *b = s->block;
	uint32_t c = 0;
	while (c < b->ncalls && b->calls[c].index < from)
		c++;
	if (!rsp && c < b->ncalls && b->calls[c].index < to) {
		rsp = tracer_read_reg(t, offsetof(struct user_regs_struct, rsp));
		rsp_at = to;
	}
	for (uint32_t i = from; i < to; i++) {
		tracer_count_insn(tr, t, b->insns[i].pc, b->insns[i].cls);
		for (; c < b->ncalls && b->calls[c].index == i; c++) {
			const struct block_call *bc = &b->calls[c];
			if (bc->jump)
				callstack_jump(tr, t, b->insns[i].pc, bc->target);
			else
				callstack_push(tr, t, b->insns[i].pc, bc->target, bc->ret_addr,
					       sp_after_call(b, i, rsp_at, rsp));
		}
	}
	s->pos = to;
}

static void count_range(struct tracer *tr, struct tracee *t, uint32_t from, uint32_t to)
{
	count_range_sp(tr, t, from, to, 0, 0);
}

/* The position of pc in the thread's block at or after its counted part. */
static int find_in_block(struct tracee *t, uint64_t pc)
{
	struct block_thread *s = bt(t);
	const struct block *b = s->block;
	for (uint32_t i = s->pos; b && i < b->n; i++)
		if (b->insns[i].pc == pc)
			return (int)i;
	return -1;
}

static uint64_t read_rcx(struct tracee *t)
{
	return tracer_read_reg(t, offsetof(struct user_regs_struct, rcx));
}

/* A REP instruction counts once per iteration, as single-stepping sees it:
 * the iterations RCX went down by, and once when it started at zero. */
static void count_rep(struct tracer *tr, struct tracee *t, uint64_t rcx_now)
{
	struct block_thread *s = bt(t);
	uint64_t before = s->rep_rcx, now = rcx_now;
	if (s->insn.rep_ecx) {
		before = (uint32_t)before;
		now = (uint32_t)now;
	}
	tracer_count_insns(tr, t, s->pc, s->insn.cls, before == 0 ? 1 : before - now);
}

/* ---- running ---- */

void block_resume_thread(struct tracee *t, int sig)
{
	if (ptrace(PTRACE_SYSCALL, t->tid, 0, sig) != 0 && errno != ESRCH)
		log_warn("cannot resume thread %d: %s", t->tid, strerror(errno));
}

void block_single_step(struct tracee *t, int sig)
{
	if (ptrace(PTRACE_SINGLESTEP, t->tid, 0, sig) != 0 && errno != ESRCH)
		log_warn("cannot step thread %d: %s", t->tid, strerror(errno));
}

void block_set_pc(struct tracee *t, uint64_t pc)
{
	if (ptrace(PTRACE_POKEUSER, t->tid, offsetof(struct user_regs_struct, rip), pc) != 0)
		tracer_lost(t->tracer, "a register not set", "thread %d: rip: %s", t->tid, strerror(errno));
}

static bool read_word(void *ctx, uint64_t addr, uint64_t *value)
{
	return tracer_read_word(ctx, addr, value);
}

static void took_jump(struct tracer *tr, struct tracee *t, const struct block *b, uint64_t to)
{
	if (tracer_jump_exit(tr, t->proc, b->end_pc, &b->br) != JUMP_STAYS)
		tracer_jump_taken(tr, t, b->end_pc, to);
}

/* Emulates the control transfer that ends the block (not executed yet): the
 * registers are set to its effect. Returns false if it cannot be emulated. */
static bool emulate_end(struct tracer *tr, struct tracee *t, uint64_t *next)
{
	const struct block *b = bt(t)->block;
	struct user_regs_struct r;
	struct emu_effect e;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0 ||
	    !emulate_branch(&b->br, b->end_pc, &r, read_word, t, &e))
		return false;
	if (e.push && ptrace(PTRACE_POKEDATA, t->tid, e.rsp, e.push_value) != 0)
		return false;
	uint64_t sp_before = r.rsp;
	r.rip = e.rip;
	r.rsp = e.rsp;
	if (e.set_rcx)
		r.rcx = e.rcx;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) != 0)
		return false;
	count_range_sp(tr, t, bt(t)->pos, b->n, sp_before, b->n - 1);
	if (b->br.kind == BR_CALL)
		callstack_push(tr, t, b->end_pc, e.rip, e.push_value, e.rsp);
	else if (b->br.kind == BR_RET)
		callstack_ret(tr, t, e.rip, sp_before);
	else if (b->br.kind == BR_JMP || b->br.kind == BR_JCC)
		took_jump(tr, t, b, e.rip);
	*next = e.rip;
	return true;
}

/* Where a direct jump or call the block runs through (insns[idx]) leads:
 * the next instruction listed, or the block's REP or STEP end. */
static uint64_t next_in_block(const struct block *b, uint32_t idx)
{
	return idx + 1 < b->n ? b->insns[idx + 1].pc : b->end_pc;
}

/* A direct jump or call the block runs through (insns[idx]) holds an int3 of
 * another block: do what it does; returns where the thread now stands. */
static uint64_t follow_through(struct tracer *tr, struct tracee *t, uint32_t idx)
{
	const struct block *b = bt(t)->block;
	/* The thread stands on insns[idx]: RSP is as before it. */
	count_range_sp(tr, t, bt(t)->pos, idx + 1,
		       tracer_read_reg(t, offsetof(struct user_regs_struct, rsp)), idx);
	for (uint32_t c = 0; c < b->ncalls; c++) {
		if (b->calls[c].jump)
			continue;
		if (b->calls[c].index != idx)
			continue;
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0) {
			r.rsp -= 8;
			if (ptrace(PTRACE_POKEDATA, t->tid, r.rsp, b->calls[c].ret_addr) != 0 ||
			    ptrace(PTRACE_SETREGS, t->tid, 0, &r) != 0)
				tracer_lost(tr, "a return address not pushed", "thread %d", t->tid);
		}
	}
	uint64_t next = next_in_block(b, idx);
	block_set_pc(t, next);
	return next;
}

static void run_from(struct tracer *tr, struct tracee *t, uint64_t pc, int sig);

static void fail_emulation(struct tracer *tr, struct tracee *t)
{
	/* Let the CPU run it instead: take the breakpoint out for good. */
	struct block_thread *s = bt(t);
	const struct block *b = s->block;
	uint8_t orig;
	if (aspace_bp_orig(t->proc->as, b->end_pc, &orig) &&
	    !tracer_write_code(t->tid, b->end_pc, &orig, 1))
		tracer_lost(tr, "a byte of code not restored", "thread %d at %llx", t->tid,
			    (unsigned long long)b->end_pc);
	log_debug("thread %d: cannot emulate the branch at %llx; stepping it", t->tid,
		  (unsigned long long)b->end_pc);
	count_range(tr, t, s->pos, b->n - 1);
	block_set_pc(t, b->end_pc);
	s->pc = b->end_pc;
	s->insn = b->end_info;
	s->state = B_STEP;
	block_single_step(t, 0);
}

/* The thread stands on the block's branch (not executed yet). */
static void branch_end(struct tracer *tr, struct tracee *t, int sig)
{
	uint64_t next;
	if (emulate_end(tr, t, &next))
		run_from(tr, t, next, sig);
	else
		fail_emulation(tr, t);
}

/* The thread stands on a REP or END_STEP instruction (not executed yet, all
 * before it counted): run it out of line, or step it in place. */
static void run_special(struct tracer *tr, struct tracee *t, const struct block *b, int sig)
{
	struct block_thread *s = bt(t);
	s->pc = b->end_pc;
	s->insn = b->end_info;
	if (b->end == END_REP) {
		s->rep_rcx = read_rcx(t);
		if (b->slot) {
			s->slot = b->slot;
			s->state = B_SLOT;
			block_set_pc(t, b->slot);
			block_resume_thread(t, sig);
			return;
		}
	}
	block_set_pc(t, b->end_pc);
	if (!sig && s->insn.is_popf && tracer_popf_by_hand(t, s->pc)) {
		tracer_count_insn(tr, t, s->pc, s->insn.cls);
		run_from(tr, t, s->pc + 1, 0);
		return;
	}
	s->state = B_STEP;
	block_single_step(t, sig);
}

/* The thread stands on an instruction the tracer carries out (END_EMULATE,
 * all before it counted): run_from does it. A signal goes first: the int3
 * on the instruction brings the thread back. */
static void emulated_end(struct tracer *tr, struct tracee *t, const struct block *b, int sig)
{
	block_set_pc(t, b->end_pc);
	if (!sig) {
		run_from(tr, t, b->end_pc, 0);
		return;
	}
	bt(t)->state = B_RUN;
	block_resume_thread(t, sig);
}

/* The thread reached the block's end instruction: what the int3 there would
 * have led to. */
static void at_block_end(struct tracer *tr, struct tracee *t, int sig)
{
	struct block_thread *s = bt(t);
	const struct block *b = s->block;
	if (b->end == END_BRANCH) {
		branch_end(tr, t, sig);
		return;
	}
	count_range(tr, t, s->pos, b->n);
	if (b->end == END_EMULATE) {
		emulated_end(tr, t, b, sig);
		return;
	}
	if (b->end == END_CLIENT) {
		uint64_t next = creq_run(tr, t, b->end_pc);
		block_set_pc(t, next);
		run_from(tr, t, next, sig);
		return;
	}
	run_special(tr, t, b, sig);
}

/* Walks the thread's block by single steps from pc (not executed yet). */
static void walk(struct tracer *tr, struct tracee *t, uint64_t pc, int sig)
{
	struct block_thread *s = bt(t);
	const struct block *b = s->block;
	uint8_t orig;
	for (;;) {
		if (pc == b->end_pc) {
			at_block_end(tr, t, sig);
			return;
		}
		int idx = find_in_block(t, pc);
		if (idx < 0) {
			run_from(tr, t, pc, sig); /* off the block's path: start afresh */
			return;
		}
		if (!aspace_bp_orig(t->proc->as, pc, &orig))
			break;
		pc = follow_through(tr, t, (uint32_t)idx);
	}
	s->pc = pc;
	/* (counted at the block's end, as the walk's other instructions) */
	if (!sig && tracer_decode(tr, t, pc)->is_popf && tracer_popf_by_hand(t, pc)) {
		walk(tr, t, pc + 1, 0);
		return;
	}
	s->state = B_WALK;
	block_single_step(t, sig);
}

/* The block b at the thread's pc is only an instruction the tracer carries
 * out: true when it did (counted; *pc is the next instruction), false when
 * the CPU would fault there (the signal is queued). */
static bool emulated_start(struct tracer *tr, struct tracee *t, const struct block *b, uint64_t *pc)
{
	if (tracer_emulate(tr, t, b->end_pc, &b->end_info) != EMU_DONE)
		return false;
	tracer_count_insn(tr, t, b->end_pc, b->end_info.cls);
	*pc = b->end_pc + b->end_info.len;
	return true;
}

static void run_block(struct tracer *tr, struct tracee *t, uint64_t pc, int sig);

/* The thread stands at pc (nothing there executed yet): run from there. */
static void run_from(struct tracer *tr, struct tracee *t, uint64_t pc, int sig)
{
	for (;;) {
		const struct block_ext *ext = tr->opt.mode->block_ext;
		if (!sig && ext && ext->enter(tr, t, pc))
			return;
		struct block *b = get_block(tr, t, pc);
		if (sig || b->end != END_EMULATE || b->n != 0)
			break;
		if (!emulated_start(tr, t, b, &pc)) {
			/* The queued signal is delivered before the thread runs anything. */
			struct block_thread *s = bt(t);
			t->pc = pc;
			s->block = b;
			s->pos = 0;
			s->state = B_RUN;
			block_resume_thread(t, 0);
			return;
		}
	}
	run_block(tr, t, pc, sig);
}

/* run_from once the cache declined and no emulated instruction stands at pc. */
static void run_block(struct tracer *tr, struct tracee *t, uint64_t pc, int sig)
{
	struct block_thread *s = bt(t);
	struct block *b = NULL;
	for (int chain = 0; chain < MAX_CHAINED_EMULATIONS; chain++) {
		t->pc = pc;
		s->block = b = get_block(tr, t, pc);
		s->pos = 0;
		/* A block that is only its control transfer needs no stop at all. */
		if (sig || b->end != END_BRANCH || b->n != 1 || b->walk)
			break;
		if (!emulate_end(tr, t, &pc)) {
			fail_emulation(tr, t);
			return;
		}
	}
	if (b->walk) {
		walk(tr, t, pc, sig);
		return;
	}
	if (b->end == END_REP && b->n == 0) {
		run_special(tr, t, b, sig);
		return;
	}
	s->state = B_RUN;
	block_resume_thread(t, sig);
}

void block_run_from(struct tracer *tr, struct tracee *t, uint64_t pc, int sig)
{
	run_from(tr, t, pc, sig);
}

/* The process image's scratch page, CPU model and what the mode built on
 * block mode sets up (the cache), through t; false when t went on
 * meanwhile (it died, or a signal that came during the setup was
 * delivered). */
static bool prepare_image(struct tracer *tr, struct tracee *t)
{
	struct scratch *sc = &t->proc->as->scratch;
	struct injection inj = { 0 };
	sc->refused |= tr->opt.no_scratch;
	if (!sc->base && !sc->refused && !scratch_map(tr, t, sc, &inj) && inj.ret == -ESRCH)
		return false; /* died meanwhile: the loop hears of it */
	if (!cpu_arm(tr, t, sc->base))
		return false;
	if (tr->opt.mode->block_ext && !inj.held_sig)
		tr->opt.mode->block_ext->image_start(tr, t, sc->base);
	if (inj.held_sig) {
		/* A signal arrived during the injection: deliver it as it came. */
		if (ptrace(PTRACE_SETSIGINFO, t->tid, 0, &inj.held_si) != 0)
			tracer_lost(tr, "a siginfo lost", "thread %d, signal %d", t->tid, inj.held_sig);
		block_mode.on_signal(tr, t, inj.held_sig);
		return false;
	}
	return true;
}

/* A new process image's first stop (no other thread runs in it yet): the
 * image set up, then its first block. */
static void start_image(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	if (prepare_image(tr, t))
		run_from(tr, t, pc, 0);
}

/* ---- stops ---- */

static void on_syscall_stop(struct tracer *tr, struct tracee *t)
{
	struct block_thread *s = bt(t);
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0)
		return;
	if (s->state == B_EXEC_EXIT) {
		callstack_push(tr, t, 0, r.rip, 0, 0); /* the new image's root frame */
		start_image(tr, t, r.rip);
		return;
	}
	if (s->state == B_SYSCALL) { /* exit */
		long nr = (long)t->sys_nr;
		tracer_finish_syscall(tr, t, true, (int64_t)r.rax);
		tracer_memory_syscall_exit(tr, t, nr, (int64_t)r.rax);
		run_from(tr, t, r.rip, 0);
		return;
	}
	/* Entry: the block ran up to and including the 2-byte syscall instruction. */
	int idx = find_in_block(t, r.rip - 2);
	if (idx >= 0) {
		count_range(tr, t, s->pos, (uint32_t)idx + 1);
	} else {
		/* A syscall restarted after we attached: RIP moved back onto it. */
		tracer_count_insn(tr, t, r.rip - 2, CLASS_SYSCALL);
	}
	t->sys_regs = r;
	t->sys_nr = (int64_t)r.orig_rax;
	t->sys_start_ns = now_ns();
	t->in_syscall = true;
	s->state = B_SYSCALL;
	block_resume_thread(t, 0);
}

/* A trap at an int3 of ours (RIP is just past it). */
static void on_breakpoint(struct tracer *tr, struct tracee *t, uint64_t addr)
{
	struct block_thread *s = bt(t);
	const struct block *b = s->block;
	if (b && addr == b->end_pc &&
	    (b->end == END_BRANCH || b->end == END_REP || b->end == END_EMULATE ||
	     b->end == END_CLIENT)) {
		at_block_end(tr, t, 0);
		return;
	}
	int idx = find_in_block(t, addr);
	if (idx >= 0) {
		run_from(tr, t, follow_through(tr, t, (uint32_t)idx), 0);
		return;
	}
	/* Not on this thread's path (its block was rebuilt meanwhile): start over
	 * at the breakpoint, whose block ends right there. */
	log_debug("thread %d: unexpected breakpoint at %llx", t->tid, (unsigned long long)addr);
	block_set_pc(t, addr);
	run_from(tr, t, addr, 0);
}

/* The REP instruction left its slot through the int3 after it. */
static void slot_done(struct tracer *tr, struct tracee *t)
{
	struct block_thread *s = bt(t);
	count_rep(tr, t, read_rcx(t));
	uint64_t next = s->pc + s->insn.len;
	block_set_pc(t, next);
	run_from(tr, t, next, 0);
}

/* One single step of the instruction at s->pc completed; the thread is at pc. */
static void step_done(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	struct block_thread *s = bt(t);
	tracer_count_insn(tr, t, s->pc, s->insn.cls);
	/* A pushf stepped (a block too long ends on whatever comes next)
	 * pushed the trap flag: a popf would give it to the program. */
	if (s->insn.is_pushf)
		tracer_clear_pushed_tf(t);
	if (pc == s->pc && s->insn.is_rep) {
		block_single_step(t, 0); /* the next iteration */
		return;
	}
	run_from(tr, t, pc, 0);
}

static bool is_handler_entry(struct tracee *t)
{
	siginfo_t si;
	return ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) == 0 && si.si_code == SIGTRAP;
}

static void block_on_signal(struct tracer *tr, struct tracee *t, int sig);
static void block_resume(struct tracer *tr, struct tracee *t);

static void block_on_trap(struct tracer *tr, struct tracee *t, int sig)
{
	if (sig == (SIGTRAP | 0x80)) {
		on_syscall_stop(tr, t);
		return;
	}
	struct block_thread *s = bt(t);
	uint64_t pc = tracer_read_pc(t);
	uint8_t orig;
	switch (s->state) {
	case B_HANDLER:
		if (is_handler_entry(t)) {
			tracer_clear_frame_tf(t);
			uint64_t ret = 0, sp = tracer_read_reg(t, offsetof(struct user_regs_struct, rsp));
			tracer_read_word(t, sp, &ret);
			callstack_push(tr, t, t->pc, pc, ret, sp);
		}
		run_from(tr, t, pc, 0);
		return;
	case B_STEP:
		step_done(tr, t, pc);
		return;
	case B_WALK:
		if (tracer_decode(tr, t, s->pc)->is_pushf)
			tracer_clear_pushed_tf(t);
		walk(tr, t, pc, 0);
		return;
	case B_SLOT:
		if (pc == s->slot + s->insn.len + 1) {
			slot_done(tr, t);
			return;
		}
		break;
	case B_RUN:
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

/* A thread stopped inside its slot goes back to the original code: onto the
 * REP when it has iterations left (its registers say how far it got), past
 * it when it is done. Returns where the thread now stands. */
static uint64_t leave_slot(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	struct block_thread *s = bt(t);
	if (pc == s->slot) {
		uint64_t rcx = read_rcx(t);
		if (rcx != s->rep_rcx)
			count_rep(tr, t, rcx);
		pc = s->pc;
	} else if (pc > s->slot && pc <= s->slot + s->insn.len + 1) {
		count_rep(tr, t, read_rcx(t));
		pc = s->pc + s->insn.len;
	}
	block_set_pc(t, pc);
	s->state = B_RUN;
	s->block = NULL;
	return pc;
}

/* Counts what ran of the thread's current work before a signal stopped it at
 * pc; returns the program's own address for pc. */
static uint64_t count_until_signal(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	struct block_thread *s = bt(t);
	const struct block *b = s->block;
	if (s->state == B_SLOT)
		return leave_slot(tr, t, pc);
	if (s->state == B_STEP) {
		if (pc != s->pc)
			tracer_count_insn(tr, t, s->pc, s->insn.cls);
		return pc;
	}
	if (!b || (s->state != B_RUN && s->state != B_WALK))
		return pc;
	int idx = find_in_block(t, pc);
	if (idx >= 0)
		count_range(tr, t, s->pos, (uint32_t)idx);
	else if (b->end == END_TRAP && pc == b->end_pc + b->end_info.len)
		count_range(tr, t, s->pos, b->n);
	else if (pc == b->end_pc && b->end != END_BRANCH && b->end != END_TRAP)
		count_range(tr, t, s->pos, b->n); /* on its REP, STEP, EMULATE or CLIENT end (not in insns) */
	return pc;
}

/* A cpuid no block ended at (code written since it was decoded, say)
 * faulted: the tracer answers it, as step mode would have. */
static void faulted_cpuid(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	struct insn_info in = *tracer_decode(tr, t, pc);
	if (tracer_emulate(tr, t, pc, &in) == EMU_DONE) {
		tracer_count_insn(tr, t, pc, in.cls);
		pc += in.len;
	}
	run_from(tr, t, pc, 0);
}

static void block_on_signal(struct tracer *tr, struct tracee *t, int sig)
{
	struct proc *p = t->proc;
	if (!p->as) {
		/* The first stop of the process's first thread is a signal (a
		 * SIGSTOP sent as prof attaches): it begins here, then gets it.
		 * Sent on to block mode with no space, prof died of SIGSEGV. */
		p->as = aspace_new();
		callstack_push(tr, t, 0, t->pc, 0, 0);
		if (!prepare_image(tr, t))
			return;
	}
	struct block_thread *s = bt(t);
	siginfo_t si;
	if (sig == SIGSEGV && ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) == 0 &&
	    write_guard_fault(tr, t, sig, &si)) {
		block_resume(tr, t); /* the write runs again, the page writable */
		return;
	}
	if (sig == SIGTRAP)
		log_debug("thread %d: SIGTRAP for the program at %#llx, state %d", t->tid,
			  (unsigned long long)tracer_read_pc(t), s->state);
	uint64_t pc = count_until_signal(tr, t, tracer_read_pc(t));
	s->block = NULL;
	if (cpu_cpuid_faulted(tr, t, sig)) {
		faulted_cpuid(tr, t, pc);
		return;
	}
	tracer_record_signal(tr, t, sig, pc);
	if (has_handler(t->tid, sig)) {
		/* Stepping with the signal stops at the handler's first instruction. */
		t->pc = pc;
		s->state = B_HANDLER;
		block_single_step(t, sig);
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
		/* --no-follow-fork: a forked copy leaves without our int3s and page. */
		aspace_remove_breakpoints(tr, p->as, t->tid);
		cpu_disarm(tr, t, p->as->scratch.base);
		scratch_unmap(tr, t, &p->as->scratch, false);
		if (ptrace(PTRACE_DETACH, t->tid, 0, 0) != 0)
			log_debug("detach %d: %s", t->tid, strerror(errno));
		tracer_forget_thread(tr, t);
		return;
	}
	if (after_exec) {
		bt(t)->state = B_EXEC_EXIT;
		block_resume_thread(t, 0);
		return;
	}
	callstack_push(tr, t, 0, t->pc, 0, 0); /* the thread's root frame */
	start_image(tr, t, t->pc);
}

static void block_resume(struct tracer *tr, struct tracee *t)
{
	uint8_t state = bt(t)->state;
	if (state == B_STEP || state == B_HANDLER || state == B_WALK)
		block_single_step(t, 0);
	else
		block_resume_thread(t, 0);
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
		child->as = aspace_fork(parent->as, child->pid);
	}
}

/* The program's own signal in a signal-delivery stop, or SIGTRAP when the
 * trap is not prof's doing (0 when it is: an int3 of ours, a step, a slot's end). */
static int program_signal(struct tracee *t, int status, uint64_t pc, bool *at_breakpoint)
{
	struct block_thread *s = bt(t);
	int sig = WSTOPSIG(status);
	uint8_t orig;
	*at_breakpoint = false;
	if (status >> 16 != 0 || sig == (SIGTRAP | 0x80))
		return 0;
	if (sig != SIGTRAP)
		return sig;
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) != 0)
		return 0;
	if (si.si_code == SI_KERNEL && s->state == B_RUN && aspace_bp_orig(t->proc->as, pc - 1, &orig)) {
		*at_breakpoint = true;
		return 0;
	}
	bool ours = s->state == B_STEP || s->state == B_WALK || s->state == B_HANDLER ||
		    (s->state == B_SLOT && pc == s->slot + s->insn.len + 1);
	if (!ours)
		log_debug("thread %d: SIGTRAP (code %d) at %#llx in state %d: the program's", t->tid,
			  si.si_code, (unsigned long long)pc, s->state);
	return ours ? 0 : SIGTRAP;
}

int block_settle(struct tracer *tr, struct tracee *t, int status)
{
	struct block_thread *s = bt(t);
	uint64_t pc = tracer_read_pc(t);
	bool at_breakpoint;
	int pass = program_signal(t, status, pc, &at_breakpoint);
	if (!t->proc->as)
		return pass;
	if (at_breakpoint) {
		/* Stopped by an int3 of ours: the thread stands on the instruction
		 * under it, which has not run. Only a trap says so: a thread
		 * stopped at a jump target that follows an int3 stays put. */
		block_set_pc(t, --pc);
	}
	if (s->state == B_SLOT && pc == s->slot + s->insn.len + 1) {
		count_rep(tr, t, read_rcx(t));
		block_set_pc(t, s->pc + s->insn.len);
	} else {
		count_until_signal(tr, t, pc);
	}
	s->state = B_RUN;
	s->block = NULL;
	return pass;
}

void block_clean_process(struct tracer *tr, struct proc *p, struct tracee *injector, bool entry)
{
	struct aspace *as = p->as;
	if (!as || !injector)
		return;
	entry = write_guard_release(tr, as, injector, entry);
	if (as->bps.n && !as->removed)
		aspace_remove_breakpoints(tr, as, injector->tid);
	/* A vfork child and its parent share one space: cleaned once. */
	if (as->scratch.base)
		scratch_unmap(tr, injector, &as->scratch, entry);
}

static void block_thread_gone(struct tracer *tr, struct tracee *t)
{
	callstack_unwind(tr, t);
	free(t->mode_state);
	t->mode_state = NULL;
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
	.settle = block_settle,
	.clean_process = block_clean_process,
	.thread_gone = block_thread_gone,
};
