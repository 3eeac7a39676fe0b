/* A shadow call stack per thread, fed by the calls, returns and tail jumps
 * the recording modes see; each finished call becomes an arc (caller site
 * -> callee) with the instructions executed inside it. */
#ifndef PROF_CALLSTACK_H
#define PROF_CALLSTACK_H

#include "prof/u64_table.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tracer;
struct tracee;

struct frame {
	uint64_t call_site, callee, ret_addr;
	uint32_t site_gen, callee_gen;   /* code generations when the call was made */
	uint64_t sp;             /* rsp pointing at the return address; 0 = unknown */
	uint64_t sp_bound;       /* sp, or for an unknown one an address it lies below (0: none) */
	uint64_t entry_icount;
	bool collect;            /* --collect: a call of the function collected */
	bool recorded;           /* its arc is recorded (with --collect: called while collecting) */
	bool tail;               /* entered by a jump out of the frame below: returns with it */
};

struct callstack {
	struct frame *v;
	size_t n, cap;
	struct u64_table open;   /* callee -> its frames on the stack (recursion counted once) */
};

void callstack_push(struct tracer *tr, struct tracee *t, uint64_t call_site, uint64_t callee,
		    uint64_t ret_addr, uint64_t sp);
/* A jump at site into another function's code (a tail call, a PLT stub's
 * jump to its target): the callee runs in the jumper's frame and returns
 * with it, but has an activation of its own in the call graph (a chain of
 * such jumps stays bounded: see callstack.c). */
void callstack_jump(struct tracer *tr, struct tracee *t, uint64_t site, uint64_t callee);
/* A call at call_site (rsp at sp after it, not 0) whose return to the
 * address after it, with rsp at sp, came before anything else the call
 * stack sees (a leaf: half the calls of hashmix and node): what
 * callstack_push then callstack_ret would do, without the frame. The
 * thread's clock stands at the call (frames the call leaves dead close
 * there), and the return adds inclusive instructions to it after this;
 * recorded: whether the call is counted. Not with --collect (a call there
 * may change what is counted). */
void callstack_leaf(struct tracer *tr, struct tracee *t, uint64_t call_site, uint64_t callee,
		    uint64_t sp, uint64_t inclusive, bool recorded);
/* A return to target with rsp at sp (pointing at the return address). */
void callstack_ret(struct tracer *tr, struct tracee *t, uint64_t target, uint64_t sp);
/* The thread ends: every open frame is closed. */
void callstack_unwind(struct tracer *tr, struct tracee *t);
/* The recording's current part ends: each open call leaves what it ran so
 * far in it (an arc without a call: the call counts where it returns), and
 * counts on from here. */
void callstack_end_part(struct tracer *tr, struct tracee *t);
/* The current part's counts were dropped: open calls count from here. */
void callstack_restart(struct tracee *t);

#endif
