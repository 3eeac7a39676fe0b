/* Frames are matched by return address and stack pointer, so longjmp,
 * exceptions and tail calls resynchronize instead of corrupting the stack.
 * Every operation costs the same whatever the depth: a frame whose return
 * address slot lies at or below the stack pointer of a new call or return
 * is dead (longjmp, exceptions, swapcontext back down) and is closed at
 * once, so the shadow stack never holds more frames than the real one; and
 * the count of a callee's open frames says in one lookup whether a closing
 * frame is its outermost activation. */
#include "callstack.h"
#include "tracer.h"
#include "prof/util.h"

#include <stdlib.h>

#define RET_SEARCH_DEPTH 16
#define TAIL_CHAIN_MAX 64

static struct callstack *stack_of(struct tracee *t)
{
	if (!t->stack)
		t->stack = xcalloc(1, sizeof *t->stack);
	return t->stack;
}

/* The arc of frame f, calls times (0: a part of a call, cut by a dump).
 * Its instructions count towards the callee's own inclusive total only in
 * its outermost activation, so recursion is not counted twice. */
static void emit_arc(struct tracer *tr, struct tracee *t, const struct frame *f, bool outermost,
		     uint32_t calls)
{
	uint64_t inclusive = t->icount - f->entry_icount;
	struct arc_key k = { f->call_site, f->callee, f->call_site ? f->site_gen : 0, f->callee_gen,
			     t->id };
	tracer_add_arc(tr, &k, inclusive, outermost ? inclusive : 0, calls);
}

/* Closes the top frame. */
static void pop(struct tracer *tr, struct tracee *t)
{
	struct callstack *cs = t->stack;
	struct frame *f = &cs->v[--cs->n];
	t->collect_depth -= f->collect;
	/* A callee's count stays in the table at 0: it will most likely be
	 * called again, and a removal then an insertion cost more than that. */
	uint64_t *open = u64_table_find(&cs->open, f->callee);
	bool outermost = !open || *open <= 1;
	if (open && *open)
		--*open;
	if (f->recorded)
		emit_arc(tr, t, f, outermost, 1);
}

/* Whether the frame's return address slot is certainly at or below sp
 * (below it when strict): the program has left that frame. */
static bool frame_dead(const struct frame *f, uint64_t sp, bool strict)
{
	if (f->sp)
		return strict ? f->sp < sp : f->sp <= sp;
	/* An unknown sp lies below the bound: dead when the bound is. */
	return f->sp_bound && f->sp_bound <= sp;
}

static void close_dead(struct tracer *tr, struct tracee *t, uint64_t sp, bool strict)
{
	struct callstack *cs = t->stack;
	while (cs->n && frame_dead(&cs->v[cs->n - 1], sp, strict))
		pop(tr, t);
}

static void push_frame(struct tracer *tr, struct tracee *t, const struct frame *f)
{
	struct callstack *cs = stack_of(t);
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 64;
		cs->v = xrealloc(cs->v, cs->cap * sizeof *cs->v);
	}
	struct frame *g = &cs->v[cs->n++];
	*g = *f;
	if (cs->n > tr->deepest_stack)
		tr->deepest_stack = cs->n;
	/* A call made while nothing is counted (--collect, client requests)
	 * leaves no arc; the call of the function collected itself does. */
	g->collect = tr->opt.collect && collect_is_entry(&t->proc->collect, f->callee);
	t->collect_depth += g->collect;
	g->recorded = tracer_counting(tr, t);
	if (g->collect && tr->opt.mode->on_collect_call)
		tr->opt.mode->on_collect_call(tr, t, f->ret_addr);
	g->entry_icount = t->icount;
	g->site_gen = tracer_code_gen(t->proc, f->call_site);
	g->callee_gen = tracer_code_gen(t->proc, f->callee);
	bool added;
	(*u64_table_slot(&cs->open, f->callee, &added))++;
}

void callstack_push(struct tracer *tr, struct tracee *t, uint64_t call_site, uint64_t callee,
		    uint64_t ret_addr, uint64_t sp)
{
	struct callstack *cs = stack_of(t);
	/* The new return address goes at sp: whatever frame had its own there
	 * or lower was left without a return. */
	if (sp)
		close_dead(tr, t, sp, false);
	struct frame f = { .call_site = call_site, .callee = callee, .ret_addr = ret_addr,
			   .sp = sp, .sp_bound = sp };
	if (!sp && cs->n)
		f.sp_bound = cs->v[cs->n - 1].sp_bound;
	push_frame(tr, t, &f);
}

void callstack_leaf(struct tracer *tr, struct tracee *t, uint64_t call_site, uint64_t callee,
		    uint64_t sp, uint64_t inclusive, bool recorded)
{
	struct callstack *cs = stack_of(t);
	close_dead(tr, t, sp, false);
	if (cs->n + 1 > tr->deepest_stack)
		tr->deepest_stack = cs->n + 1;
	if (!recorded)
		return;
	/* Outermost when no other frame of the callee is open (pop's test
	 * with this call's own frame counted). */
	const uint64_t *open = u64_table_find(&cs->open, callee);
	struct arc_key k = { call_site, callee, call_site ? tracer_code_gen(t->proc, call_site) : 0,
			     tracer_code_gen(t->proc, callee), t->id };
	tracer_add_arc(tr, &k, inclusive, !open || !*open ? inclusive : 0, 1);
}

void callstack_jump(struct tracer *tr, struct tracee *t, uint64_t site, uint64_t callee)
{
	struct callstack *cs = stack_of(t);
	if (!cs->n)
		return; /* no frame to run in: nothing the call graph can show */
	/* A chain of jumps nests (printf@plt -> .plt -> the lazy binder ->
	 * printf, as callgrind shows it) but stays bounded: a jump back into a
	 * function the chain already holds (tail recursion, an interpreter's
	 * handlers jumping to each other) returns to its frame, and a chain
	 * longer than TAIL_CHAIN_MAX replaces its top. */
	size_t chain = 0;
	const uint64_t *open_frames = u64_table_find(&cs->open, callee);
	bool open = open_frames && *open_frames;
	while (chain < cs->n && cs->v[cs->n - 1 - chain].tail && chain < TAIL_CHAIN_MAX) {
		if (open && cs->v[cs->n - 1 - chain].callee == callee) {
			while (chain--)
				pop(tr, t);
			return;
		}
		chain++;
	}
	if (chain == TAIL_CHAIN_MAX) {
		site = cs->v[cs->n - 1].call_site;
		pop(tr, t);
	}
	const struct frame *below = &cs->v[cs->n - 1];
	struct frame f = { .call_site = site, .callee = callee, .ret_addr = below->ret_addr,
			   .sp = below->sp, .sp_bound = below->sp_bound, .tail = true };
	push_frame(tr, t, &f);
}

void callstack_ret(struct tracer *tr, struct tracee *t, uint64_t target, uint64_t sp)
{
	struct callstack *cs = t->stack;
	if (!cs)
		return;
	/* Frames below the stack pointer were abandoned (longjmp, exceptions). */
	close_dead(tr, t, sp, true);
	for (size_t i = cs->n; i-- > 0 && cs->n - i <= RET_SEARCH_DEPTH;) {
		const struct frame *f = &cs->v[i];
		if (f->ret_addr != target || (f->sp && f->sp != sp))
			continue;
		/* A tail frame leaves with the frame whose call it continues. */
		while (i > 0 && cs->v[i].tail)
			i--;
		while (cs->n > i)
			pop(tr, t);
		return;
	}
	/* A return no call matched (a push+ret trampoline): nothing to close. */
}

void callstack_unwind(struct tracer *tr, struct tracee *t)
{
	if (!t->stack)
		return;
	while (t->stack->n)
		pop(tr, t);
	free(t->stack->v);
	u64_table_clear(&t->stack->open);
	free(t->stack);
	t->stack = NULL;
}

void callstack_end_part(struct tracer *tr, struct tracee *t)
{
	struct callstack *cs = t->stack;
	struct u64_table seen = { 0 };
	for (size_t i = 0; cs && i < cs->n; i++) {
		struct frame *f = &cs->v[i];
		bool added;
		u64_table_slot(&seen, f->callee, &added);
		if (f->recorded && t->icount != f->entry_icount)
			emit_arc(tr, t, f, added, 0);
		f->entry_icount = t->icount;
	}
	u64_table_clear(&seen);
}

void callstack_restart(struct tracee *t)
{
	struct callstack *cs = t->stack;
	for (size_t i = 0; cs && i < cs->n; i++)
		cs->v[i].entry_icount = t->icount;
}
