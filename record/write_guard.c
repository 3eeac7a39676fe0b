/* Code written in place (see write_guard.h). The pages prof protected are
 * kept in the address space's table `guarded`: page -> the program's rights
 * (PROT_*) shifted left by two, OPENED set once prof has given them back
 * after a write (a fault raised before that, in another thread, is then
 * still prof's: the write runs again), UNUSED while nothing prof made of the
 * page's code is alive (dropped since it was protected: a write then needs
 * no new code generation). */
#include "write_guard.h"
#include "block.h"
#include "inject.h"
#include "tracer.h"
#include "prof/log.h"
#include "prof/maps.h"
#include "prof/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PAGE 4096ull
#define OPENED 1ull
#define UNUSED 2ull
#define PROT_SHIFT 2

static int mmap_prot(uint32_t map_prot)
{
	return (map_prot & MAP_PROT_R ? PROT_READ : 0) | (map_prot & MAP_PROT_W ? PROT_WRITE : 0) |
	       (map_prot & MAP_PROT_X ? PROT_EXEC : 0);
}

/* mprotect(page, len, prot) run by t; false when refused (said once). */
static bool protect(struct tracer *tr, struct tracee *t, uint64_t stub, uint64_t page,
		    uint64_t len, int prot, bool entry)
{
	const uint64_t args[6] = { page, len, (uint64_t)prot, 0, 0, 0 };
	struct injection inj;
	bool ran = inject_syscall(tr, t, stub, SYS_mprotect, args, entry, &inj);
	if (ran)
		inject_queue_held(tr, t, &inj);
	if (ran && inj.ret == 0)
		return true;
	if (inj.ret != -ESRCH && inj.ret != -EPERM) /* refused by a filter: said by inject */
		log_debug("process %d: mprotect(%#llx, %llu, %d) for code written in place: %lld",
			  t->proc->pid, (unsigned long long)page, (unsigned long long)len, prot,
			  (long long)inj.ret);
	return false;
}

static bool guard_page(struct tracer *tr, struct tracee *t, struct aspace *as, uint64_t page)
{
	uint64_t *known = u64_table_find(&as->guarded, page);
	int prot;
	if (known) {
		*known &= ~UNUSED;
		if (!(*known & OPENED))
			return false; /* protected already */
		prot = (int)(*known >> PROT_SHIFT);
	} else {
		const struct map_entry *m = maps_find(&t->proc->maps, page);
		if (!m || !(m->prot & MAP_PROT_W))
			return false;
		prot = mmap_prot(m->prot);
	}
	if (!protect(tr, t, as->scratch.base, page, PAGE, prot & ~PROT_WRITE, false)) {
		if (!tr->write_guard_warned)
			log_warn("process %d: code in writable memory at %#llx cannot be protected: "
				 "if the program rewrites it in place, prof may count the old code",
				 t->proc->pid, (unsigned long long)page);
		tr->write_guard_warned = true;
		return false;
	}
	u64_table_put(&as->guarded, page, (uint64_t)prot << PROT_SHIFT);
	return true;
}

bool write_guard_code(struct tracer *tr, struct tracee *t, uint64_t pc, uint64_t len)
{
	struct aspace *as = t->proc->as;
	bool now = false;
	/* Without the scratch page's stub an injection would write over the
	 * code other threads may be running. */
	if (!as || !as->scratch.base || !t->proc->id || !len)
		return false;
	for (uint64_t page = pc & ~(PAGE - 1); page < pc + len; page += PAGE)
		now |= guard_page(tr, t, as, page);
	return now;
}

bool write_guard_owns(const struct aspace *as, int sig, const siginfo_t *si)
{
	uint64_t val;
	return sig == SIGSEGV && si->si_code == SEGV_ACCERR && as && as->guarded.n &&
	       u64_table_get(&as->guarded, (uint64_t)si->si_addr & ~(PAGE - 1), &val);
}

bool write_guard_fault(struct tracer *tr, struct tracee *t, int sig, const siginfo_t *si)
{
	struct aspace *as = t->proc->as;
	if (!write_guard_owns(as, sig, si))
		return false;
	uint64_t page = (uint64_t)si->si_addr & ~(PAGE - 1);
	uint64_t *known = u64_table_find(&as->guarded, page);
	if (*known & OPENED)
		return true; /* raised before prof opened it: the write runs again */
	int prot = (int)(*known >> PROT_SHIFT);
	log_debug("thread %d writes code at %#llx (page %#llx%s)", t->tid,
		  (unsigned long long)(uint64_t)si->si_addr, (unsigned long long)page,
		  *known & UNUSED ? ", unused" : "");
	if (!(*known & UNUSED))
		tracer_code_written(tr, t, page, PAGE);
	known = u64_table_find(&as->guarded, page); /* (the table may have changed) */
	if (!protect(tr, t, as->scratch.base, page, PAGE, prot, false)) {
		/* The program would die of a fault it never raised natively. */
		tracer_lost(tr, "a page of code not given back its rights",
			    "process %d at %llx", t->proc->pid, (unsigned long long)page);
		u64_table_remove(&as->guarded, page);
		return false;
	}
	if (known)
		*known |= OPENED;
	return true;
}

struct range_ctx {
	uint64_t lo, hi;
	uint64_t *pages;
	size_t n, cap;
};

static void collect_in_range(uint64_t page, uint64_t val, void *ctx)
{
	struct range_ctx *r = ctx;
	(void)val;
	if (page < r->lo || page >= r->hi)
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->pages = xrealloc(r->pages, r->cap * sizeof *r->pages);
	}
	r->pages[r->n++] = page;
}

static size_t pages_in(const struct aspace *as, uint64_t lo, uint64_t hi, struct range_ctx *r)
{
	memset(r, 0, sizeof *r);
	r->lo = lo & ~(PAGE - 1);
	r->hi = hi;
	if (as && as->guarded.n)
		u64_table_each(&as->guarded, collect_in_range, r);
	return r->n;
}

void write_guard_forget(struct aspace *as, uint64_t lo, uint64_t hi)
{
	struct range_ctx r;
	size_t n = pages_in(as, lo, hi, &r);
	for (size_t i = 0; i < n; i++)
		u64_table_remove(&as->guarded, r.pages[i]);
	free(r.pages);
}

void write_guard_unused(struct aspace *as, uint64_t lo, uint64_t hi)
{
	struct range_ctx r;
	size_t n = pages_in(as, lo, hi, &r);
	for (size_t i = 0; i < n; i++)
		*u64_table_find(&as->guarded, r.pages[i]) |= UNUSED;
	free(r.pages);
}

void write_guard_moved(struct tracer *tr, struct tracee *t, uint64_t from, uint64_t len,
		       uint64_t to)
{
	struct aspace *as = t->proc->as;
	struct range_ctx r;
	size_t n = pages_in(as, from, from + len, &r);
	for (size_t i = 0; i < n; i++) {
		uint64_t val = 0;
		u64_table_get(&as->guarded, r.pages[i], &val);
		u64_table_remove(&as->guarded, r.pages[i]);
		if (!(val & OPENED))
			protect(tr, t, as->scratch.base, to + (r.pages[i] - from), PAGE,
				(int)(val >> PROT_SHIFT), false);
	}
	free(r.pages);
}

bool write_guard_release(struct tracer *tr, struct aspace *as, struct tracee *injector, bool entry)
{
	struct range_ctx r;
	size_t n = pages_in(as, 0, UINT64_MAX, &r);
	for (size_t i = 0; i < n; i++) {
		uint64_t val = 0;
		u64_table_get(&as->guarded, r.pages[i], &val);
		if (val & OPENED)
			continue;
		if (!protect(tr, injector, as->scratch.base, r.pages[i], PAGE, (int)(val >> PROT_SHIFT),
			     entry))
			tracer_lost(tr, "a page of code not given back its rights", "process %d at %llx",
				    injector->proc->pid, (unsigned long long)r.pages[i]);
		entry = false;
	}
	free(r.pages);
	u64_table_clear(&as->guarded);
	return entry;
}
