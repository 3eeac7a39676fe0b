#include "block.h"
#include "cache.h"
#include "tracer.h"
#include "prof/log.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

struct aspace *aspace_new(void)
{
	struct aspace *as = xcalloc(1, sizeof *as);
	as->refs = 1;
	return as;
}

static void block_free(struct block *b)
{
	free(b->insns);
	free(b->calls);
	free(b);
}

void aspace_put(struct aspace *as)
{
	if (!as || --as->refs > 0)
		return;
	for (size_t i = 0; i < as->nall; i++)
		block_free(as->all[i]);
	free(as->all);
	u64_table_clear(&as->blocks);
	u64_table_clear(&as->bps);
	u64_table_clear(&as->guarded);
	u64_table_clear(&as->aliases);
	scratch_free(&as->scratch);
	cache_put(as->cache);
	free(as);
}

struct block *aspace_block(struct aspace *as, uint64_t start)
{
	uint64_t b;
	return u64_table_get(&as->blocks, start, &b) ? (struct block *)(uintptr_t)b : NULL;
}

void aspace_add_block(struct aspace *as, struct block *b)
{
	u64_table_put(&as->blocks, b->start, (uint64_t)(uintptr_t)b);
	if (as->nall == as->all_cap) {
		as->all_cap = as->all_cap ? 2 * as->all_cap : 1024;
		as->all = xrealloc(as->all, as->all_cap * sizeof *as->all);
	}
	as->all[as->nall++] = b;
}

bool aspace_bp_orig(const struct aspace *as, uint64_t addr, uint8_t *orig)
{
	uint64_t v;
	if (!u64_table_get(&as->bps, addr, &v))
		return false;
	*orig = (uint8_t)v;
	return true;
}

void aspace_bp_add(struct aspace *as, uint64_t addr, uint8_t orig)
{
	u64_table_put(&as->bps, addr, orig);
	/* A page of code the cache kept without this int3 would take the
	 * program's byte for a stale one (aspace_code_at). */
	if (as->cache)
		cache_mem_forget_pages(&as->cache->mem, addr, addr + 1);
}

struct aspace *aspace_fork(const struct aspace *parent, pid_t child)
{
	struct aspace *as = aspace_new();
	if (parent->cache)
		as->cache = cache_fork(parent->cache, child);
	u64_table_copy(&as->bps, &parent->bps);
	u64_table_copy(&as->guarded, &parent->guarded);
	u64_table_copy(&as->aliases, &parent->aliases);
	scratch_copy(&as->scratch, &parent->scratch);
	/* Blocks are rebuilt on demand: decoding is cheap next to a stop. */
	return as;
}

struct kept_bps {
	const struct map_list *exec_maps;
	struct u64_table *into;
};

static void keep_if_mapped(uint64_t addr, uint64_t orig, void *ctx)
{
	struct kept_bps *k = ctx;
	for (size_t m = 0; m < k->exec_maps->n; m++)
		if (addr >= k->exec_maps->v[m].start && addr < k->exec_maps->v[m].end) {
			u64_table_put(k->into, addr, orig);
			return;
		}
}

void aspace_code_changed(struct aspace *as, const struct map_list *exec_maps)
{
	u64_table_clear(&as->blocks);
	scratch_forget_slots(&as->scratch);
	/* A breakpoint whose code is still mapped is still in memory. */
	struct u64_table kept = { 0 };
	struct kept_bps k = { exec_maps, &kept };
	u64_table_each(&as->bps, keep_if_mapped, &k);
	u64_table_clear(&as->bps);
	as->bps = kept;
}

struct discarded {
	struct tracer *tr;
	pid_t pid;
	uint64_t lo, hi;
	uint64_t *gone;
	size_t n, cap;
};

/* A breakpoint in the range: forgotten; where an int3 still stands there
 * the original byte goes back. The program said it wrote the range: an
 * int3 there is ours (copied back, or left where it wrote around it) or
 * one it wrote itself, which cannot be told apart; JITs pad code with
 * int3s, and taking ours for the program's made the translator decode the
 * new code with the old byte. Padding is never run; our int3 would be. */
static void forget_in_range(uint64_t addr, uint64_t orig, void *ctx)
{
	struct discarded *d = ctx;
	uint8_t code[16], byte = (uint8_t)orig;
	if (addr < d->lo || addr >= d->hi)
		return;
	if (tracer_read_code(d->pid, addr, code) && code[0] == 0xcc &&
	    !tracer_write_code(d->pid, addr, &byte, 1))
		tracer_lost(d->tr, "a byte of code not restored", "process %d at %llx", d->pid,
			    (unsigned long long)addr);
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->gone = xrealloc(d->gone, d->cap * sizeof *d->gone);
	}
	d->gone[d->n++] = addr;
}

void aspace_code_at(struct aspace *as, uint64_t pc, uint8_t *code, size_t n)
{
	uint8_t orig;
	for (size_t i = 0; as && as->bps.n && i < n; i++) {
		if (!aspace_bp_orig(as, pc + i, &orig))
			continue;
		if (code[i] == 0xcc)
			code[i] = orig; /* decode what the program wrote, not our int3 */
		else
			u64_table_remove(&as->bps, pc + i);
	}
}

void aspace_discard(struct tracer *tr, struct aspace *as, pid_t pid, uint64_t lo, uint64_t hi,
		    bool keep_int3s)
{
	struct discarded d = { tr, pid, lo, hi, NULL, 0, 0 };
	if (!keep_int3s)
		u64_table_each(&as->bps, forget_in_range, &d);
	for (size_t i = 0; i < d.n; i++)
		u64_table_remove(&as->bps, d.gone[i]);
	if (d.n)
		log_debug("process %d: %zu breakpoints of %llx-%llx forgotten", pid, d.n,
			  (unsigned long long)lo, (unsigned long long)hi);
	free(d.gone);
	/* Blocks stay allocated: a thread may still run one (see struct aspace). */
	u64_table_clear(&as->blocks);
	scratch_forget_slots(&as->scratch);
}

struct restore_ctx {
	struct tracer *tr;
	pid_t pid;
};

static void restore_byte(uint64_t addr, uint64_t orig, void *ctx)
{
	const struct restore_ctx *r = ctx;
	uint8_t byte = (uint8_t)orig;
	if (!tracer_write_code(r->pid, addr, &byte, 1))
		tracer_lost(r->tr, "a byte of code not restored", "process %d at %llx", r->pid,
			    (unsigned long long)addr);
}

void aspace_remove_breakpoints(struct tracer *tr, struct aspace *as, pid_t pid)
{
	struct restore_ctx r = { tr, pid };
	u64_table_each(&as->bps, restore_byte, &r);
	/* The table stays: threads stopped past an int3 are still recognized. */
	as->removed = true;
	u64_table_clear(&as->blocks);
}

size_t aspace_prof_mappings(const struct aspace *as, struct vm_range *out, size_t cap)
{
	size_t n = 0;
	if (!as)
		return 0;
	if (as->scratch.base && cap)
		out[0] = (struct vm_range){ as->scratch.base, as->scratch.base + SCRATCH_SIZE };
	n += as->scratch.base != 0;
	if (as->cache)
		n += cache_mappings(as->cache, out + (n < cap ? n : cap), cap > n ? cap - n : 0);
	return n;
}
