/* Block mode's view of one address space: decoded blocks and the int3
 * breakpoints placed at their ends (shared by every thread of the space). */
#ifndef PROF_BLOCK_H
#define PROF_BLOCK_H

#include "prof/branch.h"
#include "prof/classes.h"
#include "prof/maps.h"
#include "scratch.h"
#include "prof/u64_table.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum block_end {
	END_BRANCH,       /* a control transfer, emulated at a breakpoint */
	END_SYSCALL,      /* `syscall`: the PTRACE_SYSCALL entry stop ends it */
	END_TRAP,         /* int3, ud2, ...: runs natively; the signal it raises ends it */
	END_REP,          /* a REP string instruction: run out of line, counted from RCX */
	END_STEP,         /* undecodable, not emulated, or a block too long: single-stepped */
};

struct block_insn {
	uint64_t pc;
	uint8_t cls;
};

/* A direct call the block runs through (a superblock): known to the call graph. */
struct block_call {
	uint32_t index;         /* position of the call in insns */
	uint64_t target, ret_addr;
};

struct block {
	uint64_t start;
	uint32_t n;             /* instructions, terminator included except for REP/STEP */
	struct block_insn *insns;
	struct block_call *calls;
	uint32_t ncalls;
	uint8_t end;            /* enum block_end */
	/* No int3 at the end (END_STEP, a REP without a slot, unwritable code):
	 * the thread single-steps its way there. */
	bool walk;
	uint64_t end_pc;        /* the terminator (or the REP/STEP instruction) */
	uint64_t slot;          /* END_REP: its copy in the scratch page; 0 = none */
	struct insn_info end_info;
	struct branch br;       /* END_BRANCH */
};

struct aspace {
	int refs;               /* vfork children share their parent's */
	bool removed;           /* breakpoints taken out of memory (detaching) */
	struct u64_table blocks;  /* start -> struct block * */
	struct u64_table bps;     /* breakpoint address -> the original byte */
	/* every block ever built: freed with the space (threads may still run
	 * an invalidated one) */
	struct block **all;
	size_t nall, all_cap;
	struct scratch scratch; /* out-of-line slots (shared with a vfork child) */
};

struct aspace *aspace_new(void);
/* A copy for a forked child: the breakpoints are in its memory too. */
struct aspace *aspace_fork(const struct aspace *parent);
void aspace_put(struct aspace *as);
struct block *aspace_block(struct aspace *as, uint64_t start);
void aspace_add_block(struct aspace *as, struct block *b);
bool aspace_bp_orig(const struct aspace *as, uint64_t addr, uint8_t *orig);
void aspace_bp_add(struct aspace *as, uint64_t addr, uint8_t orig);
/* Executable mappings changed: forget blocks, and breakpoints no longer in code. */
void aspace_code_changed(struct aspace *as, const struct map_list *exec_maps);
/* Writes every original byte back into pid's memory (before letting it run free). */
void aspace_remove_breakpoints(struct aspace *as, pid_t pid);

#endif
