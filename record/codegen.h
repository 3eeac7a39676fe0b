/* Code generations of one process image. A JIT frees code and puts other
 * code at the same address: counts made before and after must not add up
 * as one function's. Each time code in an address range may have changed
 * (unmapped, remapped, protected, rewritten in place), the range gets a new
 * generation, the value of a clock that only moves forward; an address
 * never touched is generation 0. Counts carry the generation of their pc,
 * and names read from the JIT's files carry the clock when they were read,
 * so report can tell which name belongs to which code (common/symbolize.c). */
#ifndef PROF_CODEGEN_H
#define PROF_CODEGEN_H

#include <stddef.h>
#include <stdint.h>

struct gen_range {
	uint64_t start, end;
	uint32_t gen;
};

struct code_gens {
	struct gen_range *v;   /* sorted by start, disjoint; only ranges with gen > 0 */
	size_t n, cap;
	uint32_t clock;        /* the last generation given (0: none yet) */
};

/* The generation of the code at pc. */
uint32_t code_gens_at(const struct code_gens *g, uint64_t pc);
/* Gives [start, end) the next generation and returns it. */
uint32_t code_gens_bump(struct code_gens *g, uint64_t start, uint64_t end);
void code_gens_free(struct code_gens *g);

#endif
