#include "block.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

static size_t slot(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

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
	free(as->block_keys);
	free(as->blocks);
	free(as->bp_keys);
	free(as->bp_orig);
	scratch_free(&as->scratch);
	free(as);
}

struct block *aspace_block(struct aspace *as, uint64_t start)
{
	if (!as->block_cap)
		return NULL;
	for (size_t h = slot(start, as->block_cap); as->block_keys[h]; h = (h + 1) & (as->block_cap - 1))
		if (as->block_keys[h] == start + 1)
			return as->blocks[h];
	return NULL;
}

static void block_insert(struct aspace *as, struct block *b)
{
	size_t h = slot(b->start, as->block_cap);
	while (as->block_keys[h] && as->block_keys[h] != b->start + 1)
		h = (h + 1) & (as->block_cap - 1);
	if (!as->block_keys[h])
		as->nblocks++;
	as->block_keys[h] = b->start + 1;
	as->blocks[h] = b;
}

static void blocks_resize(struct aspace *as, size_t cap)
{
	uint64_t *keys = as->block_keys;
	struct block **blocks = as->blocks;
	size_t old = as->block_cap;
	as->block_cap = cap;
	as->block_keys = xcalloc(cap, sizeof *as->block_keys);
	as->blocks = xcalloc(cap, sizeof *as->blocks);
	as->nblocks = 0;
	for (size_t i = 0; i < old; i++)
		if (keys[i])
			block_insert(as, blocks[i]);
	free(keys);
	free(blocks);
}

void aspace_add_block(struct aspace *as, struct block *b)
{
	if ((as->nblocks + 1) * 2 > as->block_cap)
		blocks_resize(as, as->block_cap ? as->block_cap * 2 : 1024);
	block_insert(as, b);
	if (as->nall == as->all_cap) {
		as->all_cap = as->all_cap ? 2 * as->all_cap : 1024;
		as->all = xrealloc(as->all, as->all_cap * sizeof *as->all);
	}
	as->all[as->nall++] = b;
}

bool aspace_bp_orig(const struct aspace *as, uint64_t addr, uint8_t *orig)
{
	if (!as->bp_cap)
		return false;
	for (size_t h = slot(addr, as->bp_cap); as->bp_keys[h]; h = (h + 1) & (as->bp_cap - 1)) {
		if (as->bp_keys[h] == addr + 1) {
			*orig = as->bp_orig[h];
			return true;
		}
	}
	return false;
}

static void bp_insert(struct aspace *as, uint64_t addr, uint8_t orig)
{
	size_t h = slot(addr, as->bp_cap);
	while (as->bp_keys[h] && as->bp_keys[h] != addr + 1)
		h = (h + 1) & (as->bp_cap - 1);
	if (!as->bp_keys[h])
		as->nbps++;
	as->bp_keys[h] = addr + 1;
	as->bp_orig[h] = orig;
}

static void bps_resize(struct aspace *as, size_t cap)
{
	uint64_t *keys = as->bp_keys;
	uint8_t *orig = as->bp_orig;
	size_t old = as->bp_cap;
	as->bp_cap = cap;
	as->bp_keys = xcalloc(cap, sizeof *as->bp_keys);
	as->bp_orig = xcalloc(cap, 1);
	as->nbps = 0;
	for (size_t i = 0; i < old; i++)
		if (keys[i])
			bp_insert(as, keys[i] - 1, orig[i]);
	free(keys);
	free(orig);
}

void aspace_bp_add(struct aspace *as, uint64_t addr, uint8_t orig)
{
	if ((as->nbps + 1) * 2 > as->bp_cap)
		bps_resize(as, as->bp_cap ? as->bp_cap * 2 : 1024);
	bp_insert(as, addr, orig);
}

struct aspace *aspace_fork(const struct aspace *parent)
{
	struct aspace *as = aspace_new();
	for (size_t i = 0; i < parent->bp_cap; i++)
		if (parent->bp_keys[i])
			aspace_bp_add(as, parent->bp_keys[i] - 1, parent->bp_orig[i]);
	scratch_copy(&as->scratch, &parent->scratch);
	/* Blocks are rebuilt on demand: decoding is cheap next to a stop. */
	return as;
}

void aspace_code_changed(struct aspace *as, const struct map_list *exec_maps)
{
	memset(as->block_keys, 0, as->block_cap * sizeof *as->block_keys);
	as->nblocks = 0;
	scratch_forget_slots(&as->scratch);
	size_t cap = as->bp_cap;
	uint64_t *keys = as->bp_keys;
	uint8_t *orig = as->bp_orig;
	as->bp_keys = NULL;
	as->bp_orig = NULL;
	as->bp_cap = as->nbps = 0;
	for (size_t i = 0; i < cap; i++) {
		if (!keys[i])
			continue;
		/* A breakpoint whose code is still mapped is still in memory. */
		for (size_t m = 0; m < exec_maps->n; m++)
			if (keys[i] - 1 >= exec_maps->v[m].start && keys[i] - 1 < exec_maps->v[m].end) {
				aspace_bp_add(as, keys[i] - 1, orig[i]);
				break;
			}
	}
	free(keys);
	free(orig);
}

void aspace_remove_breakpoints(struct aspace *as, pid_t pid)
{
	for (size_t i = 0; i < as->bp_cap; i++) {
		if (!as->bp_keys[i])
			continue;
		uint64_t addr = as->bp_keys[i] - 1;
		errno = 0;
		long word = ptrace(PTRACE_PEEKDATA, pid, addr, 0);
		if (word == -1 && errno)
			continue;
		word = (word & ~0xffl) | as->bp_orig[i];
		if (ptrace(PTRACE_POKEDATA, pid, addr, word) != 0)
			log_debug("cannot restore byte at %llx in %d", (unsigned long long)addr, pid);
	}
	/* The table stays: threads stopped past an int3 are still recognized. */
	as->removed = true;
	memset(as->block_keys, 0, as->block_cap * sizeof *as->block_keys);
	as->nblocks = 0;
}
