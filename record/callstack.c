/* Frames are matched by return address and stack pointer, so longjmp,
 * exceptions and tail calls resynchronize instead of corrupting the stack. */
#include "callstack.h"
#include "tracer.h"
#include "prof/util.h"

#include <stdlib.h>

#define RET_SEARCH_DEPTH 16

void callstack_push(struct tracer *tr, struct tracee *t, uint64_t call_site, uint64_t callee,
		    uint64_t ret_addr, uint64_t sp)
{
	if (!t->stack)
		t->stack = xcalloc(1, sizeof *t->stack);
	struct callstack *cs = t->stack;
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? 2 * cs->cap : 64;
		cs->v = xrealloc(cs->v, cs->cap * sizeof *cs->v);
	}
	/* --collect: a call made while not collecting leaves no arc. */
	bool collect = tr->opt.collect && collect_is_entry(&t->proc->collect, callee);
	bool recorded = !tr->opt.collect || t->collect_depth > 0;
	t->collect_depth += collect;
	cs->v[cs->n++] = (struct frame){ call_site, callee, ret_addr,
					 tracer_code_gen(t->proc, call_site),
					 tracer_code_gen(t->proc, callee),
					 sp, t->icount, collect, recorded };
}

/* Closes the top frame. Its instructions count towards the callee's own
 * inclusive total only in its outermost activation, so recursion is not
 * counted twice. */
static void pop(struct tracer *tr, struct tracee *t)
{
	struct callstack *cs = t->stack;
	struct frame *f = &cs->v[--cs->n];
	t->collect_depth -= f->collect;
	if (!f->recorded)
		return;
	uint64_t inclusive = t->icount - f->entry_icount;
	bool outermost = true;
	for (size_t i = 0; i < cs->n && outermost; i++)
		outermost = cs->v[i].callee != f->callee;
	struct prof_event ev = { .kind = EV_ARC, .thread = t->id };
	ev.arc.caller_pc = f->call_site;
	ev.arc.callee_pc = f->callee;
	ev.arc.caller_gen = f->call_site ? f->site_gen : 0;
	ev.arc.callee_gen = f->callee_gen;
	ev.arc.inclusive = inclusive;
	ev.arc.outer_inclusive = outermost ? inclusive : 0;
	tracer_emit(tr, &ev);
}

void callstack_ret(struct tracer *tr, struct tracee *t, uint64_t target, uint64_t sp)
{
	struct callstack *cs = t->stack;
	if (!cs)
		return;
	/* Frames below the stack pointer were abandoned (longjmp, exceptions). */
	while (cs->n && cs->v[cs->n - 1].sp && cs->v[cs->n - 1].sp < sp)
		pop(tr, t);
	for (size_t i = cs->n; i-- > 0 && cs->n - i <= RET_SEARCH_DEPTH;) {
		if (cs->v[i].ret_addr == target && (!cs->v[i].sp || cs->v[i].sp == sp)) {
			while (cs->n > i)
				pop(tr, t);
			return;
		}
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
	free(t->stack);
	t->stack = NULL;
}
