/* Arcs summed in the tracer before they reach the writer. Call-heavy code
 * ends millions of calls on a few hundred arcs, and every event through the
 * ring costs the tracer a copy and the writer a hash lookup; the writer only
 * adds them up, so adding them up first changes no row. */
#ifndef PROF_ARC_SUM_H
#define PROF_ARC_SUM_H

#include "prof/events.h"

#include <stdbool.h>
#include <stdint.h>

#define ARC_SUM_BITS 12
#define ARC_SUM_SLOTS (1u << ARC_SUM_BITS) /* direct-mapped: a collision sends the older arc on */

struct arc_sum_slot {
	uint64_t caller_pc, callee_pc, inclusive, outer_inclusive, calls;
	uint32_t caller_gen, callee_gen, thread;
	bool used;
};

/* Where the summed arcs go (the writer, or a test). */
typedef void (*arc_sum_sink)(void *ctx, const struct prof_event *ev);

struct arc_sum {
	struct arc_sum_slot *slots;  /* allocated at the first arc */
	arc_sum_sink sink;
	void *ctx;
};

/* An arc's key: the call site and callee, their code generations, the
 * thread. */
struct arc_key {
	uint64_t caller_pc, callee_pc;
	uint32_t caller_gen, callee_gen, thread;
};

/* Adds an arc (calls of k, their inclusive and outermost inclusive
 * counts); an arc already held in its slot under another key goes to the
 * sink first. From its parts, not as an event: the call stack's pops
 * built one and the sums read it back, and the read of two counts at once
 * from fields just written one by one waited for the stores, in every
 * return replayed. */
void arc_sum_add_arc(struct arc_sum *s, const struct arc_key *k, uint64_t inclusive,
		     uint64_t outer_inclusive, uint32_t calls);
/* Every arc held goes to the sink (before anything that changes what the
 * writer adds arcs to: a part's end, its counts dropped, the end). */
void arc_sum_flush(struct arc_sum *s);
/* Flushes, and frees the slots. */
void arc_sum_end(struct arc_sum *s);

#endif
