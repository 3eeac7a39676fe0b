/* Cache mode's code cache: the program's basic blocks translated into
 * memory prof maps into it, each translation counting itself (a counter per
 * block, a running instruction count) and logging calls and returns, so a
 * thread runs without stops until it reaches code not translated yet.
 * Per-thread data lives behind the GS base prof gives the thread (glibc
 * leaves GS alone on x86-64). See docs/code-cache.md. */
#ifndef PROF_CACHE_H
#define PROF_CACHE_H

#include "prof/classes.h"
#include "prof/maps.h"
#include "prof/u64_table.h"
#include "cache_index.h"
#include "cache_mem.h"
#include "translate.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct tracer;
struct tracee;

/* Each thread's data area, behind its GS base: a header, the call log (a
 * PROT_NONE guard page after it), then one counter per translation. */
#define CD_ICOUNT      0x00    /* instructions the translations ran */
#define CD_LOG_PTR     0x08    /* next free log entry (an address) */
#define CD_TMP_RAX     0x10
#define CD_TMP_RCX     0x18
#define CD_TMP_RDX     0x20
#define CD_TMP_TARGET  0x28
#define CD_REP_BEFORE  0x30
#define CD_TMP_T       0x38
#define CD_TMP_FLAGS   0x40    /* the lookup's lahf/seto */
#define CD_LOG         0x1000
#define CD_LOG_SIZE    (1ul << 20)
#define CD_GUARD       (CD_LOG + CD_LOG_SIZE)
#define CD_COUNTERS    (CD_GUARD + 4096)
#define CD_MAX_COUNTERS (4ul << 20)
#define CD_SIZE        (CD_COUNTERS + 8 * CD_MAX_COUNTERS)  /* the most an area grows to */
#define CD_CHUNK       (32ul << 10)  /* counters are mapped this many at a time */
#define CD_HASH_MUL    0x5bd1e995u
#define CD_HASH_SHIFT  24

/* Each code region starts with its indirect-target lookup and its table
 * (shared by the threads; written by prof only, value before key). */
#define CR_TABLE       0x1000
#define CR_TABLE_BITS  16
#define CR_TABLE_SLACK 1024   /* probes run past the last bucket, never wrap */
#define CR_TABLE_SLOTS ((1ul << CR_TABLE_BITS) + CR_TABLE_SLACK)
#define CR_CODE        (CR_TABLE + CR_TABLE_SLOTS * 16)
#define CACHE_REGION_SIZE (8ul << 20)  /* the most a region grows to */
#define CACHE_REGION_STEP (1ul << 20)  /* regions are mapped this much code at a time */
#define CACHE_MAX_REGIONS 64

/* One entry of the call log, as the translations write it. */
#define CACHE_LOG_JUMP (1ull << 63)  /* in site: a jump into another function */
/* In a call's site, the call's length: its return address is known without
 * reading (or remembering) the code the call was translated from. */
#define CACHE_LOG_LEN_SHIFT 56
#define CACHE_LOG_PC_MASK ((1ull << CACHE_LOG_LEN_SHIFT) - 1)
struct cache_log_entry {
	uint64_t site;          /* the call (| its length << CACHE_LOG_LEN_SHIFT, or | CACHE_LOG_JUMP:
				 * the jump) instruction; 0: a return */
	uint64_t target;        /* the callee, or where the return goes */
	uint64_t sp;            /* rsp pointing at the return address */
	uint64_t icount;        /* CD_ICOUNT after the call or return */
};

/* An exit to code that was not translated yet: the jump leads to an int3. */
struct cache_exit {
	uint64_t stub;          /* the int3 */
	uint64_t rel_field;     /* the rel32 of the jump to the stub */
	uint64_t target;        /* the original address it stands for */
	uint32_t next;          /* the next exit to the same target, + 1 (0: none) */
	uint8_t linked;         /* LINK_*: how it reaches its target's translation */
	bool dead;              /* in a translation invalidated */
};
enum { LINK_NONE, LINK_REL, LINK_ABS };

struct cache_region {
	uint64_t base, used;
	uint64_t mapped;        /* bytes mapped from base (it grows in place) */
	uint64_t lookup;        /* its copy of the indirect-target lookup */
	uint64_t probe, miss;   /* inside it: where a miss resumes, its int3 */
	uint64_t *keys;         /* its table's keys, as written into the program */
	struct cache_by_addr by_addr; /* its translations, in the order of their addresses */
	/* Translations made during this stop, not written yet: one write for
	 * all of them (they follow each other from pending_at). */
	uint8_t *pending;
	size_t pending_len, pending_cap;
	uint64_t pending_at;
};

/* A thread's data area. */
struct cache_area {
	uint64_t base;          /* its address, the thread's GS base; 0: none */
	uint64_t *seen;         /* counter values already counted, by id */
	uint32_t nseen;
};

struct cache {
	int refs;               /* a vfork child shares its parent's */
	bool off;               /* refused or given up: block mode from now on */
	bool started;           /* cache_start succeeded */
	uint64_t gs_before;     /* the GS base the program had */
	uint64_t *areas;        /* every data area mapped (unmapped at detach) */
	uint32_t *area_counters; /* the counters mapped in each */
	size_t nareas;
	uint32_t counters;      /* counters mapped in every area (they grow together) */
	bool full;              /* no room to grow: code not translated yet runs in block mode */
	bool as_limited;        /* the program has an address-space limit (ulimit -v) */
	struct cache_area forked; /* a fork child's first thread starts with this one */
	struct cache_mem mem;   /* the program's memory: counters, logs, code */
	pid_t pid;
	struct cache_region regions[CACHE_MAX_REGIONS];
	int nregions;
	struct cache_index index;   /* the translations (by counter id, original address, page) */
	struct u64_table exits;     /* stub address -> index in exits */
	struct u64_table exits_to;  /* target -> the first exit to it, + 1 (cache_exit.next) */
	uint64_t invalidated;       /* translations invalidated (PROF_DEBUG) */
	struct cache_exit *exitv;
	size_t nexits, exits_cap;
	struct u64_table unlisted;  /* targets kept out of the lookup tables (cache_unlist) */
	/* Where each translated syscall returns in the cache -> in the program
	 * (the syscall puts the first in RCX; the program must see the second). */
	struct u64_table after_syscall;
	struct u64_table homeless;  /* blocks that ran in block mode: no region could reach them */
	/* Executable file mappings (by start) -> their file in tracer.warm + 1
	 * (0: not a regular file), with a bit set once the blocks earlier
	 * processes ran in it are translated here (warm_start.h). */
	struct u64_table warm_maps;
	uint64_t warm_made;         /* translations made that way (PROF_DEBUG) */
	bool no_room;               /* a translation found no counter or region since set false */
	uint64_t peeked_ns;     /* when the progress line last looked at the counters */
	uint64_t next_harvest_ns, harvest_gap_ns; /* counters read out at syscalls (cache_mode.c) */
};

/* Which thread runs in the cache, and its clocks (per thread). */
struct cache_clock {
	uint64_t tracee;        /* CD_ICOUNT at the last drain */
	uint64_t tracer;        /* tracee->icount then */
	bool ran;               /* the thread runs in the cache (since it last entered) */
};

struct cache *cache_new(void);
/* A forked child's copy (its memory holds the same translations). */
struct cache *cache_fork(const struct cache *parent, pid_t child);
void cache_put(struct cache *c);

/* The process's first thread: checks the cache can run, maps t's data area
 * and sets its GS base; t stands at a stop where syscalls can be injected.
 * False: the cache is off for this process. */
bool cache_start(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t stub,
		 struct cache_area *a);
/* A data area for another thread of the process (GS base set); false when
 * there is none (t then keeps the GS base it had). */
bool cache_area_new(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t stub,
		    struct cache_area *a);
void cache_area_free(struct cache_area *a);
void cache_area_copy(struct cache_area *dst, const struct cache_area *src);
/* The translation of the block at pc, made if needed; NULL when the code
 * there cannot run from the cache (block mode runs it). */
const struct trans *cache_translate(struct tracer *tr, struct tracee *t, struct cache *c,
				    uint64_t stub, uint64_t pc);
bool cache_holds(const struct cache *c, uint64_t addr);
/* The translation whose code holds addr. */
const struct trans *cache_trans_at(const struct cache *c, uint64_t addr);
/* An exit stub's int3 at addr: the original address it stands for. */
bool cache_exit_at(const struct cache *c, uint64_t addr, uint64_t *target);
/* The program's address for addr, where a translated syscall returns. */
bool cache_after_syscall(const struct cache *c, uint64_t addr, uint64_t *orig);
/* Links the exit at stub to the translation of its target. */
void cache_link(struct cache *c, uint64_t stub, const struct trans *to);
/* The lookup's miss int3 is at addr. */
bool cache_is_miss(const struct cache *c, uint64_t addr, uint64_t *probe);
/* Puts target -> its translation into every region's lookup table. */
bool cache_insert(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t target,
		  const struct trans *x);

/* Counts what the translations ran since the last harvest (per instruction,
 * for t's thread row) and replays the call log into t's call stack. */
void cache_harvest(struct tracer *tr, struct tracee *t, struct cache *c, struct cache_area *a);
/* The same for the translations made from code in [lo, hi) only (what a
 * change of that code needs counted first): a read per translation, where
 * cache_harvest reads every counter; a range with many falls back to it. */
void cache_harvest_range(struct tracer *tr, struct tracee *t, struct cache *c, struct cache_area *a,
			 uint64_t lo, uint64_t hi);
/* What t's counters hold that was not counted yet, in instructions
 * (nothing is counted: the progress line shows it). */
uint64_t cache_uncounted(struct cache *c, const struct cache_area *a);
/* Replays the call log only (the counters stay for the next harvest). */
void cache_drain(struct tracer *tr, struct tracee *t, struct cache *c, struct cache_area *a,
		 struct cache_clock *clk);
/* t goes (back) into the cache: its clock goes on from t->icount. */
void cache_clock_enter(struct tracee *t, struct cache_clock *clk);
/* The log is full (a fault on its guard page at addr): drain it and say
 * where the thread resumes. */
bool cache_log_full(struct tracer *tr, struct tracee *t, struct cache *c, struct cache_area *a,
		    struct cache_clock *clk, uint64_t fault_addr, uint64_t rip, uint64_t *resume);
/* A translation entered once more than it ran (a signal stopped it
 * inside): its entry is taken back in the data area, before the counters
 * are read; what it ran is the tracer's to count. */
void cache_unenter(struct tracer *tr, struct cache *c, struct cache_area *a, const struct trans *x);
/* target never goes into a lookup table again (its copies there become
 * dead keys): an indirect branch or return to it stops the thread. */
void cache_unlist(struct cache *c, uint64_t target);

/* cache_collect.c: --collect FUNC. pc (FUNC's entry) stays untranslated, so
 * that a thread entering FUNC stops. */
bool cache_collect_untranslated(struct tracer *tr, struct tracee *t, uint64_t pc);
/* A call into FUNC returns to ret_addr: the return must stop (mode_ops.on_collect_call). */
void cache_collect_call(struct tracer *tr, struct tracee *t, uint64_t ret_addr);
/* The program's code in [lo, hi) changed or went: every translation made
 * from it dies (its entries leave the lookup tables, the exits leading to
 * it trap again); its memory is kept, since a thread may still be inside.
 * Returns how many died. See docs/code-cache.md, "Code that changes". */
size_t cache_invalidate(struct tracer *tr, struct cache *c, uint64_t lo, uint64_t hi);
/* Takes the cache out of the process (no thread inside); t is stopped. */
void cache_remove(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t stub,
		  bool at_syscall_entry);
bool cache_write(struct cache *c, uint64_t addr, const void *buf, size_t n);
bool cache_read(struct cache *c, uint64_t addr, void *buf, size_t n);
bool cache_set_gs(pid_t tid, uint64_t gs);

/* An address range [start, end) of the program's memory. */
struct vm_range {
	uint64_t start, end;
};
/* What prof mapped into the program for the cache (code regions and data
 * areas, as far as each is mapped), up to cap of them; returns how many
 * there are. */
size_t cache_mappings(const struct cache *c, struct vm_range *out, size_t cap);

#endif
