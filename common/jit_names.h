/* Internal to common/: the JIT's names of a recording (jit_symbols) and its
 * code generations (code_gens), to name code in no ELF file. */
#ifndef PROF_JIT_NAMES_H
#define PROF_JIT_NAMES_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jit_symbol {
	uint64_t start, size;
	uint32_t stamp;          /* the process's code clock when prof read it */
	const char *name;
	int64_t blob;            /* its code in code_blobs (jitdump), 0: none */
	int64_t id;              /* its row */
	uint64_t load_ns;        /* jitdump: when the JIT loaded it (CLOCK_MONOTONIC); 0: unknown */
};

struct jit_names;

/* NULL after one error line; an empty set for recordings before schema 3. */
struct jit_names *jit_names_load(sqlite3 *db);
void jit_names_free(struct jit_names *jn);
/* The name of the code that ran at pc in generation gen of process proc
 * (see jit_names.c); NULL when none. */
const struct jit_symbol *jit_names_lookup(const struct jit_names *jn, uint32_t proc, uint64_t pc,
					  uint32_t gen);

#endif
