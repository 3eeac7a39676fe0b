#include "arc_sum.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

/* One multiply: this runs for every call the program returns from, and a
 * collision costs only an early send. */
static size_t slot_of(const struct arc_key *k)
{
	uint64_t key = k->caller_pc * 0x9e3779b97f4a7c15ull ^ k->callee_pc ^ (uint64_t)k->thread << 40 ^
		       (uint64_t)k->caller_gen << 20 ^ k->callee_gen;
	return (size_t)((key * 0xbf58476d1ce4e5b9ull) >> (64 - ARC_SUM_BITS));
}

static bool same_key(const struct arc_sum_slot *s, const struct arc_key *k)
{
	return s->caller_pc == k->caller_pc && s->callee_pc == k->callee_pc && s->thread == k->thread &&
	       s->caller_gen == k->caller_gen && s->callee_gen == k->callee_gen;
}

static void send(struct arc_sum *s, struct arc_sum_slot *slot)
{
	struct prof_event ev = { .kind = EV_ARC, .thread = slot->thread };
	ev.arc.caller_pc = slot->caller_pc;
	ev.arc.callee_pc = slot->callee_pc;
	ev.arc.caller_gen = slot->caller_gen;
	ev.arc.callee_gen = slot->callee_gen;
	ev.arc.inclusive = slot->inclusive;
	ev.arc.outer_inclusive = slot->outer_inclusive;
	/* The event's calls is 32 bits: a slot that summed more goes in pieces
	 * (the writer adds them up again). */
	while (slot->calls > UINT32_MAX) {
		ev.arc.calls = UINT32_MAX;
		s->sink(s->ctx, &ev);
		ev.arc.inclusive = ev.arc.outer_inclusive = 0;
		slot->calls -= UINT32_MAX;
	}
	ev.arc.calls = (uint32_t)slot->calls;
	s->sink(s->ctx, &ev);
	slot->used = false;
}

void arc_sum_add_arc(struct arc_sum *s, const struct arc_key *k, uint64_t inclusive,
		     uint64_t outer_inclusive, uint32_t calls)
{
	if (!s->slots)
		s->slots = xcalloc(ARC_SUM_SLOTS, sizeof *s->slots);
	struct arc_sum_slot *slot = &s->slots[slot_of(k)];
	if (slot->used && !same_key(slot, k))
		send(s, slot);
	if (!slot->used) {
		slot->caller_pc = k->caller_pc;
		slot->callee_pc = k->callee_pc;
		slot->caller_gen = k->caller_gen;
		slot->callee_gen = k->callee_gen;
		slot->thread = k->thread;
		slot->calls = slot->inclusive = slot->outer_inclusive = 0;
		slot->used = true;
	}
	slot->calls += calls;
	slot->inclusive += inclusive;
	slot->outer_inclusive += outer_inclusive;
}

void arc_sum_flush(struct arc_sum *s)
{
	for (size_t i = 0; s->slots && i < ARC_SUM_SLOTS; i++)
		if (s->slots[i].used)
			send(s, &s->slots[i]);
}

void arc_sum_end(struct arc_sum *s)
{
	arc_sum_flush(s);
	free(s->slots);
	s->slots = NULL;
}
