/* Block mode's view of one address space: decoded blocks and the int3
 * breakpoints placed at their ends (shared by every thread of the space). */
#ifndef PROF_BLOCK_H
#define PROF_BLOCK_H

#include "prof/branch.h"
#include "prof/classes.h"
#include "prof/maps.h"
#include "cache.h"
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
	END_EMULATE,      /* an instruction the tracer carries out (emulated_insn.h), at an int3 */
	END_CLIENT,       /* the `xchg` of valgrind's client request: the tracer carries it out */
};

struct block_insn {
	uint64_t pc;
	uint8_t cls;
	bool sp_unknown;        /* what it does to RSP is not known */
	int32_t sp_delta;       /* else: what it adds to RSP */
};

/* A direct call the block runs through (a superblock), or a direct jump
 * into another function's entry: known to the call graph. */
struct block_call {
	uint32_t index;         /* position of the call or jump in insns */
	bool jump;              /* a tail jump (ret_addr unused) */
	uint64_t target, ret_addr;
};

struct block {
	uint64_t start;
	uint32_t n;             /* instructions, terminator included except for REP/STEP/EMULATE/CLIENT */
	struct block_insn *insns;
	struct block_call *calls;
	uint32_t ncalls;
	uint8_t end;            /* enum block_end */
	/* No int3 at the end (END_STEP, a REP without a slot, unwritable code):
	 * the thread single-steps its way there. */
	bool walk;
	uint64_t end_pc;        /* the terminator (or the REP/STEP/EMULATE instruction) */
	uint64_t slot;          /* END_REP: its copy in the scratch page; 0 = none */
	struct insn_info end_info;
	struct branch br;       /* END_BRANCH */
};

struct cache;

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
	struct cache *cache;    /* cache mode: the translations (shared with a vfork child) */
	struct u64_table guarded; /* pages prof made read-only (write_guard.c) */
	struct u64_table aliases; /* code page <-> its writable alias (write_guard.c) */
};

enum bstate {
	B_RUN,        /* running its block; an int3 or a syscall stop ends it */
	B_WALK,       /* single-stepping its block up to end_pc (no int3 there) */
	B_SYSCALL,    /* between a syscall's entry and exit stops */
	B_EXEC_EXIT,  /* after exec: the execve exit stop comes next */
	B_STEP,       /* single-stepping the instruction at pc (END_STEP, a REP without slot) */
	B_SLOT,       /* the REP instruction at pc runs in its scratch slot */
	B_HANDLER,    /* a signal was delivered with a single step */
	B_CACHE,      /* cache mode: running translated code */
	B_CSYS,       /* cache mode: in a syscall made from translated code */
};

/* Block mode's state of one thread (tracee.mode_state). */
struct block_thread {
	struct block *block;    /* the block the thread runs */
	uint32_t pos;           /* its first instruction not counted yet */
	uint8_t state;          /* enum bstate */
	uint64_t pc;            /* B_WALK, B_STEP, B_SLOT: the instruction under way */
	struct insn_info insn;  /* B_STEP, B_SLOT: what it is */
	uint64_t slot;          /* B_SLOT: where its copy runs */
	uint64_t rep_rcx;       /* RCX before the REP instruction */
	void *ext;              /* the state of the mode built on block mode (block_ext); that mode frees it */
};

/* block.c, for cache mode, which falls back on block mode */
struct tracer;
struct tracee;
struct block_thread *block_thread_of(struct tracee *t);
/* t stands at pc (nothing there executed): run from there, delivering sig. */
void block_run_from(struct tracer *tr, struct tracee *t, uint64_t pc, int sig);
void block_resume_thread(struct tracee *t, int sig);
void block_single_step(struct tracee *t, int sig);
void block_set_pc(struct tracee *t, uint64_t pc);
/* Detaching (mode_ops.settle, .clean_process), for cache mode. */
int block_settle(struct tracer *tr, struct tracee *t, int status);
struct proc;
void block_clean_process(struct tracer *tr, struct proc *p, struct tracee *injector, bool entry);
/* What a mode built on block mode (cache mode) adds to it, through
 * mode_ops.block_ext: block mode calls these, never that mode by name. */
struct block_ext {
	/* t stands at pc with no signal to deliver: true when t now runs
	 * elsewhere (the code cache), false to run the block. */
	bool (*enter)(struct tracer *tr, struct tracee *t, uint64_t pc);
	/* A process image's first stop (no other thread runs in it), its
	 * scratch page at stub (0: none). */
	void (*image_start)(struct tracer *tr, struct tracee *t, uint64_t stub);
};

struct aspace *aspace_new(void);
/* A copy for a forked child: the breakpoints are in its memory too. */
struct aspace *aspace_fork(const struct aspace *parent, pid_t child);
void aspace_put(struct aspace *as);
struct block *aspace_block(struct aspace *as, uint64_t start);
void aspace_add_block(struct aspace *as, struct block *b);
bool aspace_bp_orig(const struct aspace *as, uint64_t addr, uint8_t *orig);
void aspace_bp_add(struct aspace *as, uint64_t addr, uint8_t orig);
/* Executable mappings changed: forget blocks, and breakpoints no longer in code. */
void aspace_code_changed(struct aspace *as, const struct map_list *exec_maps);
/* The program rewrote [lo, hi) in place: blocks are decoded again, and
 * its breakpoints there are forgotten (an int3 left there gives its byte
 * back). */
void aspace_discard(struct tracer *tr, struct aspace *as, pid_t pid, uint64_t lo, uint64_t hi,
		    bool keep_int3s);
/* n bytes of code read at pc: prof's int3s among them undone; a breakpoint
 * whose int3 is gone (the program wrote there) is forgotten. */
void aspace_code_at(struct aspace *as, uint64_t pc, uint8_t *code, size_t n);
/* Writes every original byte back into pid's memory (before letting it run free). */
/* Every range prof mapped into the process (scratch page, code cache),
 * up to cap of them; returns how many there are. */
size_t aspace_prof_mappings(const struct aspace *as, struct vm_range *out, size_t cap);
void aspace_remove_breakpoints(struct tracer *tr, struct aspace *as, pid_t pid);

#endif
