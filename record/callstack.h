/* A shadow call stack per thread, fed by the calls and returns block mode
 * sees; each finished call becomes an arc (caller site -> callee) with the
 * instructions executed inside it. */
#ifndef PROF_CALLSTACK_H
#define PROF_CALLSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tracer;
struct tracee;

struct frame {
	uint64_t call_site, callee, ret_addr;
	uint32_t site_gen, callee_gen;   /* code generations when the call was made */
	uint64_t sp;             /* rsp pointing at the return address; 0 = unknown */
	uint64_t entry_icount;
	bool collect;            /* --collect: a call of the function collected */
	bool recorded;           /* its arc is recorded (with --collect: called while collecting) */
};

struct callstack {
	struct frame *v;
	size_t n, cap;
};

void callstack_push(struct tracer *tr, struct tracee *t, uint64_t call_site, uint64_t callee,
		    uint64_t ret_addr, uint64_t sp);
/* A return to target with rsp at sp (pointing at the return address). */
void callstack_ret(struct tracer *tr, struct tracee *t, uint64_t target, uint64_t sp);
/* The thread ends: every open frame is closed. */
void callstack_unwind(struct tracer *tr, struct tracee *t);

#endif
