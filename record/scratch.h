/* The scratch page block mode injects into each process image: a stub for
 * later syscall injections, then slots where instructions that cannot be
 * emulated (REP string ops) run out of line, each copy followed by an int3
 * that hands the thread back to the tracer. Mapped PROT_READ|PROT_EXEC and
 * written with ptrace, so a W^X policy has nothing to refuse but PROT_EXEC. */
#ifndef PROF_SCRATCH_H
#define PROF_SCRATCH_H

#include "prof/u64_table.h"

#include <stdbool.h>
#include <stdint.h>

struct tracer;
struct tracee;
struct injection;
struct map_list;

#define SCRATCH_SIZE (64 * 1024)
#define SCRATCH_SLOT_SIZE 32

struct scratch {
	uint64_t base;           /* 0: not mapped */
	bool refused;            /* the kernel said no: nothing runs out of line here */
	uint32_t used;           /* bytes handed out, the stub included */
	struct u64_table slots;  /* original pc -> slot address */
};

/* Maps the page into t's process; t stands at a stop that is not a
 * syscall-entry stop and no other thread of the process runs. On false the
 * page is refused (said once) or t died (inj->ret is -ESRCH). */
/* Whether addr lies among what the kernel's top-down mmap placed (the
 * libraries, the vDSO, a static-pie executable): within 4 TiB below the
 * highest of the program's code mappings. Memory of prof's just below such
 * a mapping would be where the program's next mmap goes. */
bool scratch_in_mmap_area(const struct map_list *exec_maps, uint64_t addr);
/* Far below the top-down mmap area: a terabyte under addr (0: no room). */
#define SCRATCH_FAR_BELOW (1ull << 40)

bool scratch_map(struct tracer *tr, struct tracee *t, struct scratch *s, struct injection *inj);
/* Takes the page out of t's process (no thread may be inside it); t may stand
 * at a syscall-entry stop, which then goes on as if nothing happened. */
void scratch_unmap(struct tracer *tr, struct tracee *t, struct scratch *s, bool at_syscall_entry);
/* A slot holding the instruction at pc (code: its bytes) and an int3; 0 when
 * there is no page, no room left, or the instruction cannot move. */
uint64_t scratch_slot(struct tracer *tr, struct tracee *t, struct scratch *s, uint64_t pc,
		      const uint8_t *code, size_t len);
bool scratch_holds(const struct scratch *s, uint64_t addr);
/* Code was unmapped or replaced: its slots must not be found again (they
 * stay allocated, as a thread may still run one). */
void scratch_forget_slots(struct scratch *s);
/* A forked child's copy: the page and its slots are in its memory too. */
void scratch_copy(struct scratch *dst, const struct scratch *src);
void scratch_free(struct scratch *s);

#endif
