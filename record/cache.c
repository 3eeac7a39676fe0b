/* The code cache's memory in the program and the translation of blocks. */
#include "cache.h"
#include "block.h"
#include "cache_emit.h"
#include "callstack.h"
#include "client_request.h"
#include "emulated_insn.h"
#include "inject.h"
#include "tracer.h"
#include "warm_start.h"
#include "write_guard.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

#define REACH (1ull << 30)      /* a region serves code this close: rel32 reaches it */

struct cache *cache_new(void)
{
	struct cache *c = xcalloc(1, sizeof *c);
	c->refs = 1;
	c->mem.fd = -1;
	c->mem.ops = &cache_mem_ptrace;
	return c;
}

static void open_mem(struct cache *c, pid_t pid)
{
	c->pid = pid;
	cache_mem_open(&c->mem, pid);
}

struct cache *cache_fork(const struct cache *parent, pid_t child)
{
	struct cache *c = cache_new();
	*c = *parent;
	c->refs = 1;
	cache_index_copy(&c->index, &parent->index);
	memset(&c->exits, 0, sizeof c->exits);
	for (int i = 0; i < c->nregions; i++) {
		const uint64_t *keys = parent->regions[i].keys;
		c->regions[i].keys = keys ? xmalloc(CR_TABLE_SLOTS * sizeof *keys) : NULL;
		c->regions[i].pending = NULL;
		c->regions[i].pending_len = c->regions[i].pending_cap = 0;
		cache_by_addr_copy(&c->regions[i].by_addr, &parent->regions[i].by_addr);
		if (keys)
			memcpy(c->regions[i].keys, keys, CR_TABLE_SLOTS * sizeof *keys);
	}
	/* (A cache that never started has none of these: NULL, which memcpy
	 * may not be given even for 0 bytes.) */
	c->areas = xmalloc((parent->nareas + 1) * sizeof *c->areas);
	c->area_counters = xmalloc((parent->nareas + 1) * sizeof *c->area_counters);
	if (parent->nareas) {
		memcpy(c->areas, parent->areas, parent->nareas * sizeof *c->areas);
		memcpy(c->area_counters, parent->area_counters, parent->nareas * sizeof *c->area_counters);
	}
	memset(&c->forked, 0, sizeof c->forked);
	u64_table_copy(&c->exits, &parent->exits);
	c->exitv = xmalloc((parent->exits_cap ? parent->exits_cap : 1) * sizeof *c->exitv);
	if (parent->nexits)
		memcpy(c->exitv, parent->exitv, parent->nexits * sizeof *c->exitv);
	memset(&c->exits_to, 0, sizeof c->exits_to);
	u64_table_copy(&c->exits_to, &parent->exits_to);
	memset(&c->unlisted, 0, sizeof c->unlisted);
	u64_table_copy(&c->unlisted, &parent->unlisted);
	memset(&c->after_syscall, 0, sizeof c->after_syscall);
	u64_table_copy(&c->after_syscall, &parent->after_syscall);
	memset(&c->homeless, 0, sizeof c->homeless); /* shared, it was freed twice */
	u64_table_copy(&c->homeless, &parent->homeless);
	memset(&c->warm_maps, 0, sizeof c->warm_maps);
	u64_table_copy(&c->warm_maps, &parent->warm_maps);
	open_mem(c, child);
	return c;
}

static void free_region_buffers(struct cache *c)
{
	for (int i = 0; i < c->nregions; i++) {
		free(c->regions[i].keys);
		free(c->regions[i].pending);
		cache_by_addr_free(&c->regions[i].by_addr);
	}
}

static void forget_translations(struct cache *c)
{
	cache_index_clear(&c->index);
	u64_table_clear(&c->exits);
	u64_table_clear(&c->exits_to);
	u64_table_clear(&c->after_syscall);
	c->nexits = 0;
}

/* PROF_DEBUG: the space translations take, and what of it is dead (kept,
 * never reused: docs/code-cache.md, "Threads: dead code stays in place"). */
static void log_space(const struct cache *c)
{
	uint64_t bytes = 0, dead = 0;
	for (uint32_t i = 0; i < c->index.n; i++) {
		const struct trans *x = c->index.trans[i];
		if (x) {
			bytes += x->end - x->entry;
			dead += x->dead ? x->end - x->entry : 0;
		}
	}
	log_debug("process %d: %u translations (%llu invalidated, %llu made ahead from earlier "
		  "processes), %zu exits, %llu writes; "
		  "%llu KiB of code, %llu KiB dead; %zu pages of its code kept", c->pid, c->index.n,
		  (unsigned long long)c->invalidated, (unsigned long long)c->warm_made, c->nexits,
		  (unsigned long long)c->mem.writes,
		  (unsigned long long)bytes >> 10, (unsigned long long)dead >> 10, c->mem.npages);
}

void cache_put(struct cache *c)
{
	if (!c || --c->refs > 0)
		return;
	if (log_debug_enabled())
		log_space(c);
	if (c->homeless.n) /* once, with the count: a warning per block would flood */
		log_warn("process %d: no room for the code cache within reach of some of its code: "
			 "%zu blocks of it ran in block mode (exact, slower)", c->pid, c->homeless.n);
	u64_table_clear(&c->homeless);
	u64_table_clear(&c->warm_maps);
	forget_translations(c);
	u64_table_clear(&c->unlisted);
	cache_index_free(&c->index);
	free(c->exitv);
	free_region_buffers(c);
	free(c->areas);
	free(c->area_counters);
	cache_area_free(&c->forked);
	cache_mem_close(&c->mem);
	free(c);
}

bool cache_write(struct cache *c, uint64_t addr, const void *buf, size_t n)
{
	return c->mem.ops->write(&c->mem, addr, buf, n);
}

bool cache_read(struct cache *c, uint64_t addr, void *buf, size_t n)
{
	return c->mem.ops->read(&c->mem, addr, buf, n);
}

bool cache_set_gs(pid_t tid, uint64_t gs)
{
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0)
		return false;
	r.gs_base = gs;
	if (ptrace(PTRACE_SETREGS, tid, 0, &r) != 0)
		return false;
	return ptrace(PTRACE_GETREGS, tid, 0, &r) == 0 && r.gs_base == gs;
}

/* ---- memory in the program ---- */

static uint64_t map_at(struct cache *c, uint64_t addr, uint64_t size, int prot)
{
	return c->mem.ops->map(&c->mem, addr, size, prot);
}

/* The lowest start of a file mapped with code, and the highest end of one. */
static void code_span(const struct map_list *m, uint64_t *low, uint64_t *high)
{
	*low = UINT64_MAX;
	*high = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].path[0] != '/' || m->v[i].pgoff > m->v[i].start)
			continue;
		uint64_t file_start = m->v[i].start - m->v[i].pgoff;
		if (file_start < *low)
			*low = file_start;
		if (m->v[i].end > *high)
			*high = m->v[i].end;
	}
}

static uint64_t stack_low(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	uint64_t lo = 0, start, end;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "[stack]") && sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2)
			lo = start;
	if (f)
		fclose(f);
	return lo;
}

/* Below every file of the program (where the scratch page went too) the
 * program's own mmaps never land: ours there move none of its addresses. */
#define DATA_GAP (1ull << 20)

void cache_area_free(struct cache_area *a)
{
	free(a->seen);
	memset(a, 0, sizeof *a);
}

void cache_area_copy(struct cache_area *dst, const struct cache_area *src)
{
	dst->base = src->base;
	dst->nseen = src->nseen;
	dst->seen = xcalloc(src->nseen + 1, sizeof *dst->seen);
	memcpy(dst->seen, src->seen, src->nseen * sizeof *dst->seen);
}

/* The lowest start of a file mapped at or above floor (UINT64_MAX: none). */
static uint64_t lowest_file_from(const struct map_list *m, uint64_t floor)
{
	uint64_t low = UINT64_MAX;
	for (size_t i = 0; i < m->n; i++) {
		const struct map_entry *e = &m->v[i];
		if (e->path[0] == '/' && e->pgoff <= e->start && e->start - e->pgoff >= floor &&
		    e->start - e->pgoff < low)
			low = e->start - e->pgoff;
	}
	return low;
}

#define AREAS_BELOW_LIBRARIES SCRATCH_FAR_BELOW

/* The lowest start of any mapping (the vDSO too) at or above floor. */
static uint64_t lowest_mapping_from(const struct map_list *m, uint64_t floor)
{
	uint64_t low = UINT64_MAX;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].start >= floor && m->v[i].start < low)
			low = m->v[i].start;
	return low;
}

/* Areas go below the program's files, one under the other (the k-th
 * place; each with room to grow into); 0: no such place. A non-PIE
 * executable leaves no room below it, and below a static-pie one the
 * program's own mmaps go: then a terabyte below its libraries (or its
 * vDSO, for a static executable), where the program's own mmaps (top-down
 * from above the libraries) and its heap (up from the executable) do not
 * reach. */
static uint64_t area_address(const struct map_list *maps, size_t k)
{
	uint64_t step = CD_SIZE + DATA_GAP;
	uint64_t low = lowest_file_from(maps, 0);
	if (low == UINT64_MAX)
		return 0;
	uint64_t below = low - SCRATCH_SIZE - DATA_GAP;
	if (low < SCRATCH_SIZE + DATA_GAP || below < (k + 2) * step + (1ull << 30) ||
	    scratch_in_mmap_area(maps, low)) {
		uint64_t libs = lowest_file_from(maps, 1ull << 32);
		if (libs == UINT64_MAX) /* a static executable: below the vDSO */
			libs = lowest_mapping_from(maps, 1ull << 32);
		if (libs == UINT64_MAX || libs < 2 * AREAS_BELOW_LIBRARIES)
			return 0;
		below = libs - AREAS_BELOW_LIBRARIES - SCRATCH_SIZE;
	}
	return (below - (k + 1) * step + DATA_GAP) & ~0xfffffull;
}

/* What area i maps: its header, log and guard, and its counters (the rest
 * of CD_SIZE stays free for them to grow into). */
static uint64_t area_mapped(const struct cache *c, size_t i)
{
	return CD_COUNTERS + 8ull * c->area_counters[i];
}

bool cache_area_new(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t stub,
		    struct cache_area *a)
{
	uint64_t base = 0;
	uint32_t counters = c->counters ? c->counters : CD_CHUNK;
	cache_mem_via(&c->mem, tr, t, stub);
	/* Where the places below the files are taken (another area, the
	 * program's own), the next; where there are none, all of it at once. */
	for (size_t k = c->nareas; k < c->nareas + 8 && !base; k++) {
		uint64_t want = area_address(&t->proc->maps, k);
		if (!want)
			break;
		base = map_at(c, want, CD_COUNTERS + 8ull * counters, PROT_READ | PROT_WRITE);
	}
	if (!base) {
		/* Where the kernel chooses, the area cannot grow in place: all of
		 * it at once, unless the program's address space is limited. */
		if (!c->as_limited)
			counters = CD_MAX_COUNTERS;
		base = map_at(c, 0, CD_COUNTERS + 8ull * counters, PROT_READ | PROT_WRITE);
	}
	if (!base)
		return false;
	if (!c->counters)
		c->counters = counters;
	c->areas = xrealloc(c->areas, (c->nareas + 1) * sizeof *c->areas);
	c->area_counters = xrealloc(c->area_counters, (c->nareas + 1) * sizeof *c->area_counters);
	c->area_counters[c->nareas] = counters;
	c->areas[c->nareas++] = base;
	uint64_t log_ptr = base + CD_LOG;
	if (!c->mem.ops->protect(&c->mem, base + CD_GUARD, 4096, PROT_NONE) ||
	    !cache_write(c, base + CD_LOG_PTR, &log_ptr, 8) || !cache_set_gs(t->tid, base))
		return false;
	cache_area_free(a);
	a->base = base;
	return true;
}

bool cache_start(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t stub,
		 struct cache_area *a)
{
	if (c->mem.fd < 0)
		open_mem(c, t->tid);
	struct rlimit as;
	c->as_limited = prlimit(t->proc->pid, RLIMIT_AS, NULL, &as) == 0 && as.rlim_cur != RLIM_INFINITY;
	c->gs_before = tracer_read_reg(t, offsetof(struct user_regs_struct, gs_base));
	if (c->gs_before) {
		log_warn("process %d uses the GS segment: block mode instead of the code cache",
			 t->proc->pid);
		c->off = true;
		return false;
	}
	if (!cache_area_new(tr, t, c, stub, a)) {
		if (!t->proc->as_limit.cannot && !t->proc->refused_syscalls) /* said so already */
			log_warn("process %d: no room for the code cache: block mode instead", t->proc->pid);
		c->off = true;
		return false;
	}
	c->started = true;
	return true;
}

/* Room for counter id in every area: each grows in place (the space after
 * it was left free for that). false when one cannot. */
static bool grow_counters(struct cache *c, uint32_t id)
{
	if (id < c->counters)
		return true;
	if (c->full)
		return false;
	uint64_t want = (uint64_t)c->counters * 2;
	while (want <= id)
		want *= 2;
	if (want > CD_MAX_COUNTERS)
		want = CD_MAX_COUNTERS;
	for (size_t i = 0; i < c->nareas; i++) {
		if (c->area_counters[i] >= want)
			continue;
		uint64_t end = c->areas[i] + area_mapped(c, i), more = 8 * (want - c->area_counters[i]);
		if (map_at(c, end, more, PROT_READ | PROT_WRITE) != end) {
			log_warn("process %d: no room for more code cache counters: code not translated "
				 "yet runs in block mode (exact, slower)", c->pid);
			c->full = true;
			return false;
		}
		c->area_counters[i] = (uint32_t)want;
	}
	c->counters = (uint32_t)want;
	return id < c->counters;
}

static bool reaches(uint64_t a, uint64_t b)
{
	return (a > b ? a - b : b - a) < REACH;
}

#define GAP_MARGIN (2ull << 20)  /* left free on each side of a region put in a gap */

/* The start of room for a region (all of CACHE_REGION_SIZE if there is,
 * else its first step) in a free gap of pid's address space where rel32
 * from pc reaches it, as close to pc as can be; 0: none. Below the stack
 * only (it grows down into what lies under it). */
static uint64_t gap_near(pid_t pid, uint64_t pc)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	uint64_t prev_end = 1ull << 20, best = 0, best_size = 0, start, end;
	for (bool more = true; more;) {
		more = fgets(line, sizeof line, f) != NULL;
		if (more && sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) != 2)
			continue;
		if (!more || strstr(line, "[stack]"))
			start = end = prev_end; /* nothing past the stack */
		for (uint64_t size = CACHE_REGION_SIZE; size >= CR_CODE + CACHE_REGION_STEP;
		     size = size == CACHE_REGION_SIZE ? CR_CODE + CACHE_REGION_STEP : 0) {
			if (start < prev_end + size + 2 * GAP_MARGIN || size < best_size)
				continue;
			uint64_t lo = (prev_end + GAP_MARGIN + 0xfffff) & ~0xfffffull;
			uint64_t hi = (start - GAP_MARGIN - size) & ~0xfffffull;
			uint64_t at = pc < lo ? lo : pc > hi ? hi : pc & ~0xfffffull;
			if (at >= lo && at <= hi && reaches(at, pc) && reaches(at + size, pc) &&
			    (size > best_size || (at > pc ? at - pc : pc - at) <
			     (best > pc ? best - pc : pc - best))) {
				best = at;
				best_size = size;
			}
		}
		if (!more || strstr(line, "[stack]"))
			break;
		prev_end = end > prev_end ? end : prev_end;
	}
	fclose(f);
	return best;
}

/* Places a new region where rel32 from pc reaches it and nothing of the
 * program's would have gone; failing that, in the free gap nearest pc (the
 * program's later mmaps may then go elsewhere than natively: better than
 * its code running in block mode). */
/* A region at addr, its lookup written; NULL when addr is taken. */
static struct cache_region *region_at(struct cache *c, uint64_t addr)
{
	uint64_t base = map_at(c, addr, CR_CODE + CACHE_REGION_STEP, PROT_READ | PROT_EXEC);
	if (!base)
		return NULL;
	/* The table is data: writable, it takes a batch of entries in one
	 * process_vm_writev (without, each entry goes through /proc/PID/mem). */
	if (!c->mem.ops->protect(&c->mem, base + CR_TABLE, CR_CODE - CR_TABLE, PROT_READ | PROT_WRITE))
		log_debug("process %d: lookup table at %llx stays read-only", c->pid,
			  (unsigned long long)(base + CR_TABLE));
	struct cache_region *r = &c->regions[c->nregions++];
	memset(r, 0, sizeof *r);
	r->base = base;
	r->mapped = CR_CODE + CACHE_REGION_STEP;
	struct emit e;
	emit_init(&e, base);
	emit_lookup(&e, base + CR_TABLE, &r->probe, &r->miss);
	r->lookup = base;
	bool ok = cache_write(c, base, e.b, e.n);
	r->used = CR_CODE;
	emit_free(&e);
	if (ok)
		return r;
	c->nregions--;
	return NULL;
}

static struct cache_region *new_region(const struct tracee *t, struct cache *c, uint64_t pc)
{
	if (c->nregions == CACHE_MAX_REGIONS)
		return NULL;
	uint64_t low, high, cand[24];
	int n = 0;
	code_span(&t->proc->maps, &low, &high);
	uint64_t below = low;
	for (size_t i = 0; i < c->nareas; i++)
		below = c->areas[i] < below ? c->areas[i] : below;
	for (uint64_t k = 1; k <= 3 && low != UINT64_MAX; k++)
		if (below > (k + 1) * CACHE_REGION_SIZE + DATA_GAP)
			cand[n++] = (below - DATA_GAP - k * CACHE_REGION_SIZE) & ~0xfffffull;
	uint64_t stack = stack_low(t->tid);
	uint64_t above = ((high + (32ull << 20)) & ~0x1fffffull) + (uint64_t)c->nregions * CACHE_REGION_SIZE;
	if (high && (!stack || above + CACHE_REGION_SIZE + (16ull << 20) < stack))
		cand[n++] = above;
	/* Near pc itself, for code far from both (a non-PIE executable): a big
	 * program fills several regions, so try a few places. */
	for (uint64_t k = 0; k < 8; k++)
		cand[n++] = (pc & ~0x1fffffull) + (512ull << 20) + k * CACHE_REGION_SIZE;
	for (uint64_t k = 1; k <= 8 && pc > (640ull << 20) + k * CACHE_REGION_SIZE; k++)
		cand[n++] = (pc & ~0x1fffffull) - (512ull << 20) - k * CACHE_REGION_SIZE;
	struct cache_region *r = NULL;
	for (int i = 0; i < n && !r; i++)
		if (reaches(cand[i], pc))
			r = region_at(c, cand[i]);
	uint64_t gap = r ? 0 : gap_near(t->tid, pc);
	return gap ? region_at(c, gap) : r;
}

/* More of the region mapped, in place, never past CACHE_REGION_SIZE: the
 * first step starts after the lookup table, so the last one is shorter (a
 * translation past the end was not the cache's for cache_holds, and a
 * thread in it was taken for one in the program's code). */
static bool grow_region(struct cache *c, struct cache_region *r, size_t size)
{
	uint64_t end = r->base + r->mapped;
	uint64_t step = CACHE_REGION_SIZE - r->mapped;
	step = step < CACHE_REGION_STEP ? step : CACHE_REGION_STEP;
	if (r->used + size > CACHE_REGION_SIZE || !step ||
	    map_at(c, end, step, PROT_READ | PROT_EXEC) != end)
		return false;
	r->mapped += step;
	return r->used + size <= r->mapped || grow_region(c, r, size);
}

static struct cache_region *region_for(const struct tracee *t, struct cache *c, uint64_t pc,
				       size_t size)
{
	for (int i = 0; i < c->nregions; i++) {
		struct cache_region *r = &c->regions[i];
		if (reaches(r->base, pc) &&
		    (r->used + size <= r->mapped || grow_region(c, r, size)))
			return r;
	}
	return new_region(t, c, pc);
}

size_t cache_mappings(const struct cache *c, struct vm_range *out, size_t cap)
{
	size_t n = 0;
	for (int i = 0; i < c->nregions; i++, n++)
		if (n < cap)
			out[n] = (struct vm_range){ c->regions[i].base,
						    c->regions[i].base + c->regions[i].mapped };
	for (size_t i = 0; i < c->nareas; i++, n++)
		if (n < cap)
			out[n] = (struct vm_range){ c->areas[i], c->areas[i] + area_mapped(c, i) };
	return n;
}

bool cache_holds(const struct cache *c, uint64_t addr)
{
	for (int i = 0; i < c->nregions; i++)
		if (addr >= c->regions[i].base && addr < c->regions[i].base + CACHE_REGION_SIZE)
			return true;
	return false;
}

bool cache_is_miss(const struct cache *c, uint64_t addr, uint64_t *probe)
{
	for (int i = 0; i < c->nregions; i++)
		if (addr == c->regions[i].miss) {
			*probe = c->regions[i].probe;
			return true;
		}
	return false;
}

/* ---- translating ---- */

/* The translator's view of t's code. */
struct code_reader {
	struct tracer *tr;
	struct tracee *t;
};

/* The program's own bytes at pc, not our int3s. */
static size_t reader_read(void *ctx, uint64_t pc, uint8_t out[16])
{
	struct code_reader *r = ctx;
	struct cache *c = r->t->proc->as->cache;
	/* Protected first, then read: a write after the read faults. */
	if (write_guard_code(r->tr, r->t, pc, 1))
		cache_mem_forget_code(&c->mem);
	return c->mem.ops->read_code(&c->mem, pc, out);
}

static void reader_saw(void *ctx, uint64_t pc, const uint8_t *code, size_t len)
{
	struct code_reader *r = ctx;
	if (len && ((pc ^ (pc + len - 1)) & ~4095ull)) /* its tail in the next page */
		write_guard_code(r->tr, r->t, pc + len - 1, 1);
	tracer_saw_code(r->tr, r->t->proc, pc, code, len);
}

/* A client request stops the thread (the block ends before its xchg, which
 * is never translated: cache_mode.c carries it out); so does an
 * instruction the tracer carries out (at a stop, in block mode). */
static bool reader_refuses(void *ctx, const struct scanned *s)
{
	struct code_reader *r = ctx;
	return (s->info.is_creq_marker && creq_at(r->tr, r->t, s->pc)) ||
	       tracer_emulates(r->tr, r->t, s->pc, &s->info);
}

static struct translate_source source_of(struct code_reader *r)
{
	return (struct translate_source){ .classifier = r->tr->classifier, .read = reader_read,
					  .saw = reader_saw, .refuses = reader_refuses, .ctx = r,
					  .memo = r->tr->decode_memo };
}

/* Scans the block at pc into s (room for MAX_TRANS_INSNS); returns its
 * length and sets *kind; 0 when nothing at pc can be translated. */
static uint32_t scan(const struct translate_source *src, struct tracee *t, struct cache *c,
		     uint64_t pc, struct scanned *s, int *kind, bool ahead)
{
	bool gs;
	uint32_t n = translate_scan(src, pc, s, kind, &gs);
	if (gs && !ahead) { /* ahead: maybe not code at all, decide when a thread gets there */
		log_warn("process %d addresses memory through GS: block mode instead of the code cache",
			 t->proc->pid);
		c->off = true;
	}
	return n;
}

static const struct trans *lookup_orig(const struct cache *c, uint64_t pc)
{
	return cache_index_orig(&c->index, pc);
}

static bool fits_rel32(uint64_t field, uint64_t target)
{
	int64_t d = (int64_t)(target - (field + 4));
	return d == (int32_t)d;
}

static void add_exit(struct cache *c, uint64_t stub, uint64_t field, uint64_t target,
		     uint8_t linked)
{
	if (c->nexits == c->exits_cap) {
		c->exits_cap = c->exits_cap ? 2 * c->exits_cap : 256;
		c->exitv = xrealloc(c->exitv, c->exits_cap * sizeof *c->exitv);
	}
	uint64_t *head = u64_table_slot(&c->exits_to, target, NULL);
	c->exitv[c->nexits] = (struct cache_exit){ stub, field, target, (uint32_t)*head, linked, false };
	*head = c->nexits + 1;
	u64_table_put(&c->exits, stub, c->nexits++);
}

/* Every exit has a stub of its own, its int3 for as long as the target has
 * no translation (again, after an invalidation); the jump leads straight
 * to the target's translation when there is one. */
static void place_exits(struct cache *c, struct translation *out)
{
	struct emit *e = &out->e;
	for (int i = 0; i < out->nex; i++) {
		const struct translate_exit *p = &out->ex[i];
		const struct trans *to = lookup_orig(c, p->target);
		uint8_t linked = LINK_NONE;
		if (to && fits_rel32(p->field, to->entry)) {
			uint32_t rel = (uint32_t)(int32_t)(int64_t)(to->entry - (p->field + 4));
			memcpy(e->b + (p->field - e->base), &rel, 4);
			linked = LINK_REL;
		} else if (to) {
			encode_abs_jmp(e->b + (p->stub - e->base), to->entry);
			linked = LINK_ABS;
		}
		add_exit(c, p->stub, p->field, p->target, linked);
	}
}

/* Appends code placed at addr (right after the region's pending bytes). */
static void pend(struct cache_region *r, uint64_t addr, const uint8_t *code, size_t n)
{
	if (!r->pending_len)
		r->pending_at = addr;
	size_t gap = addr - (r->pending_at + r->pending_len), need = r->pending_len + gap + n;
	if (need > r->pending_cap) {
		r->pending_cap = 2 * need + 4096;
		r->pending = xrealloc(r->pending, r->pending_cap);
	}
	memset(r->pending + r->pending_len, 0xcc, gap); /* alignment between translations */
	memcpy(r->pending + r->pending_len + gap, code, n);
	r->pending_len = need;
}

/* Writes into the program, or into code not written yet. */
static bool patch(struct cache *c, uint64_t addr, const void *buf, size_t n)
{
	for (int i = 0; i < c->nregions; i++) {
		struct cache_region *r = &c->regions[i];
		if (r->pending_len && addr >= r->pending_at && addr + n <= r->pending_at + r->pending_len) {
			memcpy(r->pending + (addr - r->pending_at), buf, n);
			return true;
		}
	}
	return cache_write(c, addr, buf, n);
}

static bool write_pending(struct cache *c)
{
	bool ok = true;
	for (int i = 0; i < c->nregions; i++) {
		struct cache_region *r = &c->regions[i];
		if (r->pending_len)
			ok &= cache_write(c, r->pending_at, r->pending, r->pending_len);
		r->pending_len = 0;
	}
	return ok;
}

/* ---- warm start: the blocks earlier processes ran (warm_start.h) ---- */

#define WARM_FILE ((1ull << 32) - 1)
#define WARM_DONE (1ull << 32)

/* The warm_maps value of the file mapping that holds pc, when it is of a
 * regular file and not writable (NULL otherwise); *m the mapping. */
static uint64_t *warm_slot(struct tracer *tr, const struct tracee *t, struct cache *c, uint64_t pc,
			   const struct map_entry **m)
{
	*m = tr->warm ? maps_find(&t->proc->maps, pc) : NULL;
	if (!*m || ((*m)->prot & MAP_PROT_W) || (*m)->path[0] != '/')
		return NULL;
	bool added;
	uint64_t *v = u64_table_slot(&c->warm_maps, (*m)->start, &added);
	if (added)
		*v = (uint64_t)(warm_start_file(tr->warm, (*m)->path) + 1);
	return *v & WARM_FILE ? v : NULL;
}

/* what (WARM_* bits) of the block at pc, for later processes. */
static void warm_learn(struct tracer *tr, const struct tracee *t, struct cache *c, uint64_t pc,
		       uint8_t what)
{
	const struct map_entry *m;
	uint64_t *v = warm_slot(tr, t, c, pc, &m);
	if (v)
		warm_start_learn(tr->warm, (int)(*v & WARM_FILE) - 1, pc - m->start + m->pgoff, what);
}

/* A mapping in [lo, hi) may be another file's from now on. */
struct warm_range {
	uint64_t lo, hi, *keys;
	size_t n;
};

static void warm_key_in_range(uint64_t key, uint64_t val, void *ctx)
{
	struct warm_range *r = ctx;
	(void)val;
	if (key >= r->lo && key < r->hi)
		r->keys[r->n++] = key;
}

static void warm_forget(struct cache *c, uint64_t lo, uint64_t hi)
{
	if (!c->warm_maps.n)
		return;
	struct warm_range r = { lo, hi, xmalloc(c->warm_maps.n * sizeof *r.keys), 0 };
	u64_table_each(&c->warm_maps, warm_key_in_range, &r);
	for (size_t i = 0; i < r.n; i++)
		u64_table_remove(&c->warm_maps, r.keys[i]);
	free(r.keys);
}

static struct trans *build(struct tracer *tr, const struct translate_source *src, struct tracee *t,
			   struct cache *c, const struct scanned *s, uint32_t n, int kind, bool ahead)
{
	uint32_t id = cache_index_next_id(&c->index);
	if (id >= CD_MAX_COUNTERS || !grow_counters(c, id)) {
		c->no_room = true;
		return NULL;
	}
	size_t bound = 24ul * n + 256;
	struct cache_region *r = region_for(t, c, s[0].pc, bound);
	if (!r) {
		c->no_room = true;
		if (!ahead) /* it runs now, in block mode */
			u64_table_put(&c->homeless, s[0].pc, 1);
		return NULL;
	}
	struct translate_place where = { .at = r->base + r->used, .id = id, .lookup = r->lookup };
	if (kind == TE_JMP || kind == TE_JCC || kind == TE_IJMP)
		where.jump = tracer_jump_exit(tr, t->proc, s[n - 1].pc, &s[n - 1].br);
	struct translation out;
	if (!translate_block(src, s, n, kind, &where, &out))
		return NULL;
	if (out.e.n > bound) { /* before its exits are filed: none may outlive it */
		translation_free(&out);
		return NULL;
	}
	struct trans *x = out.x;
	x->exit0 = (uint32_t)c->nexits;
	place_exits(c, &out);
	x->nexit = (uint32_t)(c->nexits - x->exit0);
	pend(r, out.e.base, out.e.b, out.e.n);
	emit_free(&out.e);
	r->used += (x->end - x->entry + 15) & ~15ull;
	if (kind == TE_SYSCALL)
		u64_table_put(&c->after_syscall, x->entry + x->off[x->n], x->pc[x->n]);
	cache_index_add(&c->index, x, &r->by_addr);
	return x;
}

static const struct trans *translate_one(struct tracer *tr, struct tracee *t, struct cache *c,
					 uint64_t pc, bool ahead)
{
	const struct trans *x = lookup_orig(c, pc);
	uint64_t seen;
	/* A block no region reached is not tried again: each try injects
	 * a mmap per candidate place. */
	if (x || c->off || u64_table_get(&c->homeless, pc, &seen) ||
	    cache_collect_untranslated(tr, t, pc))
		return x;
	struct scanned *s = xmalloc(MAX_TRANS_INSNS * sizeof *s);
	int kind = TE_FALL;
	struct code_reader r = { tr, t };
	struct translate_source src = source_of(&r);
	uint32_t n = scan(&src, t, c, pc, s, &kind, ahead);
	x = n ? build(tr, &src, t, c, s, n, kind, ahead) : NULL;
	free(s);
	return x;
}

static bool is_call(const struct trans *x)
{
	return x->kind == TE_CALL || x->kind == TE_ICALL;
}

/* The blocks a new translation leads to directly (its exits' targets, and
 * where its call returns to) are translated in the same stop, up to
 * AHEAD_BUDGET of them, and linked: each would otherwise cost a stop of its
 * own when first reached. Return sites go into the lookup table. */
#define AHEAD_BUDGET 16

/* Lookup-table entries on their way into the program: written together,
 * every value before every key (a thread probing meanwhile finds a key
 * only with its value in place), with one process_vm_writev (the tables
 * are mapped writable), where two pwrites an entry cost cc1 150,000
 * syscalls. */
#define TABLE_BATCH 64
struct table_batch {
	struct {
		struct cache_region *r;
		uint64_t k, target, entry;
	} v[TABLE_BATCH];
	size_t n;
};

static bool region_insert(struct cache *c, struct cache_region *r, uint64_t target, uint64_t entry,
			  struct table_batch *batch);
static bool table_flush(struct cache *c, struct table_batch *b);

/* Links each exit made since first whose target has a translation now. */
static void link_exits_from(struct cache *c, size_t first)
{
	for (size_t i = first; i < c->nexits; i++) {
		const struct trans *to = lookup_orig(c, c->exitv[i].target);
		uint64_t idx;
		if (to && !c->exitv[i].linked && u64_table_get(&c->exits, c->exitv[i].stub, &idx))
			cache_link(c, c->exitv[i].stub, to);
	}
}

/* Translates ahead of first into made[] (first included); returns how many. */
static size_t translate_ahead(struct tracer *tr, struct tracee *t, struct cache *c,
			      const struct trans *first, size_t first_exit,
			      const struct trans *made[AHEAD_BUDGET + 1])
{
	made[0] = first;
	size_t nmade = 1, next_exit = first_exit;
	for (size_t m = 0; m < nmade && nmade <= AHEAD_BUDGET && !c->off; m++) {
		uint64_t targets[3];
		int nt = 0;
		for (; next_exit < c->nexits && nt < 2; next_exit++)
			targets[nt++] = c->exitv[next_exit].target;
		if (is_call(made[m]))
			targets[nt++] = made[m]->pc[made[m]->n];
		for (int i = 0; i < nt && nmade <= AHEAD_BUDGET; i++) {
			if (lookup_orig(c, targets[i]))
				continue;
			const struct trans *y = translate_one(tr, t, c, targets[i], true);
			if (y)
				made[nmade++] = y;
		}
	}
	link_exits_from(c, first_exit);
	return nmade;
}

/* Return sites go into the lookup table once their code is in the program:
 * the table is read by running threads (a return to a site listed while its
 * translation was still only in prof's buffer ran the region's zeroes, and
 * the program died of SIGSEGV: busy, 1 attach in ~400). */
static void list_in_own_region(struct cache *c, const struct trans *x, struct table_batch *b)
{
	for (int i = 0; i < c->nregions; i++)
		if (x->entry >= c->regions[i].base && x->entry < c->regions[i].base + CACHE_REGION_SIZE)
			region_insert(c, &c->regions[i], x->orig, x->entry, b);
}

/* Into every region's table: a thread in any region may jump to it. */
static bool list_in_every_region(struct cache *c, uint64_t target, uint64_t entry,
				 struct table_batch *b)
{
	bool ok = true;
	for (int i = 0; i < c->nregions; i++)
		ok &= region_insert(c, &c->regions[i], target, entry, b);
	return ok;
}

static void list_return_sites(struct tracer *tr, struct tracee *t, struct cache *c,
			      const struct trans *const *made, size_t nmade)
{
	struct table_batch b = { .n = 0 };
	for (size_t m = 0; m < nmade; m++) {
		const struct trans *ret = is_call(made[m]) ? lookup_orig(c, made[m]->pc[made[m]->n]) : NULL;
		if (ret) {
			list_in_own_region(c, ret, &b);
			warm_learn(tr, t, c, ret->orig, WARM_LISTED_OWN);
		}
	}
	table_flush(c, &b);
}

static bool write_or_give_up(struct cache *c)
{
	if (write_pending(c))
		return true;
	log_warn("process %d: cannot write its code cache: block mode instead", c->pid);
	c->off = true;
	return false;
}

/* Exits made before a translation, to its address, lead to it now. */
static void link_exits_into(struct cache *c, const struct trans *to)
{
	uint64_t head;
	if (!u64_table_get(&c->exits_to, to->orig, &head))
		return;
	for (uint64_t i = head; i; i = c->exitv[i - 1].next)
		if (c->exitv[i - 1].linked == LINK_NONE && !c->exitv[i - 1].dead)
			cache_link(c, c->exitv[i - 1].stub, to);
}

static void warm_list(struct cache *c, const struct warm_block *b, const struct trans *const *xs,
		      size_t n)
{
	struct table_batch batch = { .n = 0 };
	for (size_t i = 0; i < n; i++) {
		if (!xs[i] || xs[i]->dead)
			continue;
		if (b[i].listed & WARM_LISTED_ALL)
			list_in_every_region(c, xs[i]->orig, xs[i]->entry, &batch);
		else if (b[i].listed & WARM_LISTED_OWN)
			list_in_own_region(c, xs[i], &batch);
	}
	table_flush(c, &batch);
}

/* At the first stop in a file mapping's code: the blocks earlier processes
 * ran in that file are translated now, all in this stop, linked and
 * listed as they were there; each would cost a stop of its own. */
static void warm_translate(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t pc)
{
	const struct map_entry *m;
	uint64_t *v = warm_slot(tr, t, c, pc, &m);
	if (!v || (*v & WARM_DONE))
		return;
	*v |= WARM_DONE;
	size_t n, first_exit = c->nexits, nmade = 0;
	uint64_t bias = m->start - m->pgoff;
	struct warm_block *b = warm_start_blocks(tr->warm, (int)(*v & WARM_FILE) - 1, m->pgoff,
						 m->pgoff + (m->end - m->start), &n);
	if (!n)
		return;
	const struct trans **xs = xcalloc(n, sizeof *xs), **made = xmalloc(n * sizeof *made);
	/* No room (counters, or a region within reach): each further try
	 * would inject mmaps again; the rest are translated as they run. */
	c->no_room = false;
	for (size_t i = 0; i < n && !c->off && !c->no_room; i++) {
		xs[i] = lookup_orig(c, bias + b[i].offset);
		if (!xs[i] && (xs[i] = translate_one(tr, t, c, bias + b[i].offset, true)))
			made[nmade++] = xs[i];
	}
	c->warm_made += nmade;
	link_exits_from(c, first_exit);
	/* Older code leads into the new only once the new is in place. */
	if (write_or_give_up(c)) {
		for (size_t i = 0; i < nmade; i++)
			link_exits_into(c, made[i]);
		warm_list(c, b, xs, n);
	}
	free(made);
	free(xs);
	free(b);
}

const struct trans *cache_translate(struct tracer *tr, struct tracee *t, struct cache *c,
				    uint64_t stub, uint64_t pc)
{
	const struct trans *x = lookup_orig(c, pc);
	if (x || c->off || !c->started)
		return x;
	cache_mem_forget_code(&c->mem); /* code may have changed since the last stop */
	cache_mem_via(&c->mem, tr, t, stub);
	size_t first_exit = c->nexits, nmade = 0;
	const struct trans *made[AHEAD_BUDGET + 1] = { 0 };
	x = translate_one(tr, t, c, pc, false);
	if (x)
		nmade = translate_ahead(tr, t, c, x, first_exit, made);
	if (!write_or_give_up(c))
		return NULL;
	list_return_sites(tr, t, c, made, nmade);
	if (x)
		warm_translate(tr, t, c, pc);
	return c->off ? NULL : x;
}

const struct trans *cache_trans_at(const struct cache *c, uint64_t addr)
{
	for (int i = 0; i < c->nregions; i++) {
		const struct cache_region *r = &c->regions[i];
		if (addr >= r->base && addr < r->base + CACHE_REGION_SIZE)
			return cache_index_at(&c->index, &r->by_addr, addr);
	}
	return NULL;
}

bool cache_exit_at(const struct cache *c, uint64_t addr, uint64_t *target)
{
	uint64_t i;
	if (!u64_table_get(&c->exits, addr, &i))
		return false;
	*target = c->exitv[i].target;
	return true;
}

bool cache_after_syscall(const struct cache *c, uint64_t addr, uint64_t *orig)
{
	return u64_table_get(&c->after_syscall, addr, orig);
}

void cache_link(struct cache *c, uint64_t stub, const struct trans *to)
{
	uint64_t i;
	if (!u64_table_get(&c->exits, stub, &i))
		return;
	struct cache_exit *x = &c->exitv[i];
	bool ok;
	if (x->dead || to->dead)
		return; /* a thread left in dead code goes on through the stubs */
	if (fits_rel32(x->rel_field, to->entry)) {
		uint32_t rel = (uint32_t)(int32_t)(int64_t)(to->entry - (x->rel_field + 4));
		ok = patch(c, x->rel_field, &rel, 4);
		x->linked = LINK_REL;
	} else {
		/* Its int3 last: a thread reaching the stub meanwhile traps, as before. */
		uint8_t jmp[14];
		encode_abs_jmp(jmp, to->entry);
		ok = patch(c, stub + 1, jmp + 1, sizeof jmp - 1) && patch(c, stub, jmp, 1);
		x->linked = LINK_ABS;
	}
	/* The exit stays known: another thread may stand on its int3 already. */
	if (!ok)
		log_debug("process %d: exit at %llx not linked", c->pid, (unsigned long long)stub);
}

static uint64_t bucket_of(uint64_t target)
{
	return ((target * (uint64_t)CD_HASH_MUL) >> CD_HASH_SHIFT) & ((1ull << CR_TABLE_BITS) - 1);
}

static uint64_t slot_addr(const struct cache_region *r, uint64_t k)
{
	return r->base + CR_TABLE + 16 * k;
}

/* Writes the batch's entries; those that could not be written leave the
 * table's copy in prof too (a target believed listed would miss forever). */
static bool table_flush(struct cache *c, struct table_batch *b)
{
	uint64_t addr[2 * TABLE_BATCH], val[2 * TABLE_BATCH];
	for (size_t i = 0; i < b->n; i++) {
		addr[i] = slot_addr(b->v[i].r, b->v[i].k) + 8;
		val[i] = b->v[i].entry;
		addr[b->n + i] = slot_addr(b->v[i].r, b->v[i].k);
		val[b->n + i] = b->v[i].target;
	}
	bool ok = !b->n || c->mem.ops->write_words(&c->mem, addr, val, 2 * b->n);
	for (size_t i = 0; !ok && i < b->n; i++)
		b->v[i].r->keys[b->v[i].k] = 0;
	b->n = 0;
	return ok;
}

/* Into the batch (written when it is full, or by the caller). */
static bool region_insert(struct cache *c, struct cache_region *r, uint64_t target, uint64_t entry,
			  struct table_batch *batch)
{
	uint64_t v;
	if (u64_table_get(&c->unlisted, target, &v))
		return false;
	if (!r->keys)
		r->keys = xcalloc(CR_TABLE_SLOTS, sizeof *r->keys);
	uint64_t b = bucket_of(target);
	for (uint64_t i = b; i < b + CR_TABLE_SLACK; i++) {
		if (r->keys[i] == target)
			return true;
		if (r->keys[i])
			continue;
		r->keys[i] = target;
		batch->v[batch->n].r = r;
		batch->v[batch->n].k = i;
		batch->v[batch->n].target = target;
		batch->v[batch->n].entry = entry;
		return ++batch->n < TABLE_BATCH || table_flush(c, batch);
	}
	return false; /* that bucket's run is full: this target always misses here */
}

/* A key no target equals: probes go on past it, inserts leave it. */
#define TOMBSTONE 1

static void unlist_entry(struct cache *c, uint64_t target);

void cache_unlist(struct cache *c, uint64_t target)
{
	uint64_t v;
	if (u64_table_get(&c->unlisted, target, &v))
		return;
	u64_table_put(&c->unlisted, target, 1);
	unlist_entry(c, target);
}

bool cache_insert(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t target,
		  const struct trans *x)
{
	struct table_batch b = { .n = 0 };
	warm_learn(tr, t, c, target, WARM_LISTED_ALL);
	bool ok = list_in_every_region(c, target, x->entry, &b);
	return table_flush(c, &b) && ok;
}

/* ---- counting ---- */

/* Counts what translation x ran since the last look (its counter now). */
static void count_trans(struct tracer *tr, struct tracee *t, struct cache *c,
			struct cache_area *a, const struct trans *x, uint64_t now)
{
	uint64_t d = now - a->seen[x->id];
	if (d && d == now && !x->dead) /* its first run seen in this thread */
		warm_learn(tr, t, c, x->orig, WARM_RAN);
	a->seen[x->id] = now;
	for (uint32_t k = 0; d && k < x->n; k++)
		tracer_count_insns(tr, t, x->pc[k], x->cls[k], d);
}

/* Room for a last-seen count per translation (new ones start at 0). */
static void grow_seen(struct cache_area *a, uint32_t n)
{
	if (a->nseen < n) {
		a->seen = xrealloc(a->seen, n * sizeof *a->seen);
		memset(a->seen + a->nseen, 0, (n - a->nseen) * sizeof *a->seen);
		a->nseen = n;
	}
}

/* Every counter of area a (one per translation, c->index.n of them), in
 * one read; NULL without an area or when they cannot be read. */
static uint64_t *read_counters(struct cache *c, const struct cache_area *a)
{
	if (!a->base || !c->index.n)
		return NULL;
	size_t size = c->index.n * sizeof(uint64_t);
	uint64_t *now = xmalloc(size);
	if (cache_read(c, a->base + CD_COUNTERS, now, size))
		return now;
	free(now);
	return NULL;
}

void cache_harvest(struct tracer *tr, struct tracee *t, struct cache *c, struct cache_area *a)
{
	if (!a->base || !c->index.n)
		return;
	uint32_t n = c->index.n;
	grow_seen(a, n);
	uint64_t *now = read_counters(c, a);
	if (!now) {
		tracer_lost(tr, "counters unreadable", "process %d", c->pid);
		return;
	}
	/* Per-instruction counts only: the thread's clock comes from the log. */
	uint64_t clock = t->icount;
	for (uint32_t id = 0; id < n; id++) {
		const struct trans *x = c->index.trans[id];
		if (x)
			count_trans(tr, t, c, a, x, now[id]);
		else
			a->seen[id] = now[id];
	}
	t->icount = clock;
	free(now);
}

uint64_t cache_uncounted(struct cache *c, const struct cache_area *a)
{
	uint64_t *now = read_counters(c, a), sum = 0;
	for (uint32_t id = 0; now && id < c->index.n; id++) {
		const struct trans *x = c->index.trans[id];
		if (x)
			sum += (now[id] - (id < a->nseen ? a->seen[id] : 0)) * x->n;
	}
	free(now);
	return sum;
}

struct range_ids {
	uint32_t *ids;
	size_t n, cap;
};

static void collect_id(void *ctx, struct trans *x)
{
	struct range_ids *r = ctx;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->ids = xrealloc(r->ids, r->cap * sizeof *r->ids);
	}
	r->ids[r->n++] = x->id;
}

#define RANGE_HARVEST_MAX 512

void cache_harvest_range(struct tracer *tr, struct tracee *t, struct cache *c, struct cache_area *a,
			 uint64_t lo, uint64_t hi)
{
	struct range_ids r = { 0 };
	if (!a->base || !c->index.n)
		return;
	cache_index_reading(&c->index, lo, hi, collect_id, &r);
	grow_seen(a, c->index.n);
	if (r.n > RANGE_HARVEST_MAX) {
		free(r.ids);
		cache_harvest(tr, t, c, a);
		return;
	}
	uint64_t clock = t->icount; /* the thread's clock comes from the log */
	for (size_t i = 0; i < r.n; i++) {
		uint64_t now;
		if (!cache_read(c, a->base + CD_COUNTERS + 8ull * r.ids[i], &now, sizeof now)) {
			tracer_lost(tr, "counters unreadable", "process %d", c->pid);
			break;
		}
		count_trans(tr, t, c, a, c->index.trans[r.ids[i]], now);
	}
	t->icount = clock;
	free(r.ids);
}

/* The thread's clock advances by what ran while it was counted. */
static void advance_clock(struct tracee *t, struct cache_clock *clk, uint64_t tracee_icount,
			  bool counting)
{
	if (counting)
		t->icount += tracee_icount - clk->tracee;
	clk->tracee = tracee_icount;
}

static void replay(struct tracer *tr, struct tracee *t, struct cache_clock *clk,
		   const struct cache_log_entry *v, size_t n)
{
	/* Only --collect's calls and returns change what is counted during a
	 * replay: otherwise it is asked once. */
	bool counting = tracer_counting(tr, t);
	for (size_t i = 0; i < n; i++) {
		if (tr->opt.collect)
			counting = tracer_counting(tr, t);
		advance_clock(t, clk, v[i].icount, counting);
		uint64_t site = v[i].site & CACHE_LOG_PC_MASK;
		uint64_t ret = site + (v[i].site >> CACHE_LOG_LEN_SHIFT & 15);
		if (v[i].site & CACHE_LOG_JUMP) {
			tracer_jump_taken(tr, t, site, v[i].target);
		} else if (v[i].site && !tr->opt.collect && i + 1 < n && !v[i + 1].site &&
			   v[i + 1].target == ret && v[i + 1].sp == v[i].sp && v[i].sp) {
			callstack_leaf(tr, t, site, v[i].target, v[i].sp, v[i + 1].icount - v[i].icount,
				       counting);
			advance_clock(t, clk, v[++i].icount, counting);
		} else if (v[i].site) {
			callstack_push(tr, t, site, v[i].target, ret, v[i].sp);
		} else {
			callstack_ret(tr, t, v[i].target, v[i].sp);
		}
	}
}

void cache_drain(struct tracer *tr, struct tracee *t, struct cache *c, struct cache_area *a,
		 struct cache_clock *clk)
{
	uint64_t hdr[2];
	if (!a->base || !clk->ran || !cache_read(c, a->base, hdr, sizeof hdr))
		return;
	uint64_t start = a->base + CD_LOG;
	size_t n = hdr[1] > start ? (hdr[1] - start) / sizeof(struct cache_log_entry) : 0;
	if (n > CD_LOG_SIZE / sizeof(struct cache_log_entry))
		n = CD_LOG_SIZE / sizeof(struct cache_log_entry);
	if (n) {
		struct cache_log_entry *v = xmalloc(n * sizeof *v);
		if (cache_read(c, start, v, n * sizeof *v))
			replay(tr, t, clk, v, n);
		free(v);
		if (!cache_write(c, a->base + CD_LOG_PTR, &start, 8))
			tracer_lost(tr, "a call log not reset", "process %d", c->pid);
	}
	advance_clock(t, clk, hdr[0], tracer_counting(tr, t));
	clk->tracer = t->icount;
}

void cache_clock_enter(struct tracee *t, struct cache_clock *clk)
{
	if (!clk->ran)
		clk->tracer = t->icount;
	clk->ran = true;
}

bool cache_log_full(struct tracer *tr, struct tracee *t, struct cache *c, struct cache_area *a,
		    struct cache_clock *clk, uint64_t fault_addr, uint64_t rip, uint64_t *resume)
{
	if (!a->base || fault_addr < a->base + CD_GUARD || fault_addr >= a->base + CD_GUARD + 4096 ||
	    !cache_holds(c, rip))
		return false;
	cache_drain(tr, t, c, a, clk);
	cache_clock_enter(t, clk);
	*resume = rip - 9; /* back to the load of the log pointer (mov rax, gs:[d32]) */
	return true;
}

void cache_unenter(struct tracer *tr, struct cache *c, struct cache_area *a, const struct trans *x)
{
	uint64_t addr = a->base + CD_COUNTERS + 8ull * x->id, v, icount;
	uint64_t seen = x->id < a->nseen ? a->seen[x->id] : 0;
	/* A counter read meanwhile (another thread's harvest) keeps the entry. */
	if (cache_read(c, addr, &v, 8) && v > seen) {
		v--;
		if (!cache_write(c, addr, &v, 8))
			tracer_lost(tr, "a counter not corrected", "process %d, counter %u", c->pid, x->id);
	}
	if (cache_read(c, a->base + CD_ICOUNT, &icount, 8)) {
		icount -= x->n;
		if (!cache_write(c, a->base + CD_ICOUNT, &icount, 8))
			tracer_lost(tr, "an instruction clock not corrected", "process %d", c->pid);
	}
}

/* ---- code changing under the translations ---- */

/* Exits leading to target trap again (a thread reaching one translates
 * the new code): the jump back to its stub (one aligned store), or the
 * stub's int3 back over its absolute jump. */
static void unlink_exits_to(struct cache *c, uint64_t target)
{
	uint64_t head;
	if (!u64_table_get(&c->exits_to, target, &head))
		return;
	for (uint64_t i = head; i; i = c->exitv[i - 1].next) {
		struct cache_exit *e = &c->exitv[i - 1];
		uint32_t rel = (uint32_t)(int32_t)(int64_t)(e->stub - (e->rel_field + 4));
		static const uint8_t int3 = 0xcc;
		bool ok = true;
		if (e->linked == LINK_REL)
			ok = patch(c, e->rel_field, &rel, 4);
		else if (e->linked == LINK_ABS)
			ok = patch(c, e->stub, &int3, 1);
		if (!ok)
			log_debug("process %d: exit at %llx not unlinked", c->pid,
				  (unsigned long long)e->stub);
		e->linked = LINK_NONE;
	}
}

/* Its entries in the lookup tables become dead keys (probes go past them). */
static void unlist_entry(struct cache *c, uint64_t target)
{
	uint64_t dead = TOMBSTONE, b = bucket_of(target);
	for (int i = 0; i < c->nregions; i++) {
		struct cache_region *r = &c->regions[i];
		for (uint64_t k = b; r->keys && k < b + CR_TABLE_SLACK && r->keys[k]; k++) {
			if (r->keys[k] != target)
				continue;
			if (!cache_write(c, slot_addr(r, k), &dead, 8))
				log_debug("process %d: %llx stays in a lookup table", c->pid,
					  (unsigned long long)target);
			r->keys[k] = TOMBSTONE;
		}
	}
}

static void kill_trans(void *ctx, struct trans *x)
{
	struct cache *c = ctx;
	x->dead = true;
	c->invalidated++;
	cache_index_unlist(&c->index, x);
	/* Its own exits stay known (a thread may stand on one) but are never
	 * linked again, nor unlinked. */
	for (uint32_t i = 0; i < x->nexit; i++)
		c->exitv[x->exit0 + i].dead = true;
	unlist_entry(c, x->orig);
	unlink_exits_to(c, x->orig);
}

size_t cache_invalidate(struct tracer *tr, struct cache *c, uint64_t lo, uint64_t hi)
{
	(void)tr;
	cache_mem_forget_pages(&c->mem, lo, hi);
	warm_forget(c, lo, hi);
	if (hi <= lo || !c->index.n)
		return 0;
	size_t killed = cache_index_reading(&c->index, lo, hi, kill_trans, c);
	if (killed)
		log_debug("process %d: %zu translations of %llx-%llx invalidated", c->pid, killed,
			  (unsigned long long)lo, (unsigned long long)hi);
	return killed;
}

void cache_remove(struct tracer *tr, struct tracee *t, struct cache *c, uint64_t stub,
		  bool at_syscall_entry)
{
	cache_mem_via(&c->mem, tr, t, stub);
	c->mem.at_syscall_entry = at_syscall_entry; /* only the first unmap finds it there */
	for (size_t i = 0; i < (size_t)c->nregions + c->nareas; i++) {
		bool region = i < (size_t)c->nregions;
		uint64_t addr = region ? c->regions[i].base : c->areas[i - c->nregions];
		uint64_t size = region ? c->regions[i].mapped : area_mapped(c, i - c->nregions);
		if (addr && !c->mem.ops->unmap(&c->mem, addr, size))
			tracer_lost(tr, "code cache memory left mapped", "process %d at %llx", t->proc->pid,
				    (unsigned long long)addr);
	}
	c->mem.at_syscall_entry = false;
	cache_set_gs(t->tid, c->gs_before);
	free_region_buffers(c);
	c->nregions = 0;
	c->nareas = 0;
	c->started = false;
	c->off = true;
	forget_translations(c);
}
