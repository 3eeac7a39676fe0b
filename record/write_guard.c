/* Code written in place (see write_guard.h). The pages prof protected are
 * kept in the address space's table `guarded`: page -> the program's rights
 * (PROT_*) shifted left by PROT_SHIFT, OPENED set once prof has given them back
 * after a write (a fault raised before that, in another thread, is then
 * still prof's: the write runs again), UNUSED while nothing prof made of the
 * page's code is alive (dropped since it was protected: a write then needs
 * no new code generation), ALIAS for a page of a second, writable mapping
 * of the memory a page of code is mapped from (a memfd or a shared file
 * mapped twice, as V8 can: written there, the code changes there).
 * `aliases`, for pages of shared mappings prof read code from: code page ->
 * its writable alias page | ALIAS_OF_CODE (0 | ALIAS_OF_CODE: none), and
 * alias page -> code page | CODE_OF_ALIAS. */
#include "write_guard.h"
#include "block.h"
#include "inject.h"
#include "syscall_writes.h"
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
#define ALIAS 4ull
#define PROT_SHIFT 3
#define ALIAS_OF_CODE 1ull
#define CODE_OF_ALIAS 2ull

static int mmap_prot(uint32_t map_prot)
{
	return (map_prot & MAP_PROT_R ? PROT_READ : 0) | (map_prot & MAP_PROT_W ? PROT_WRITE : 0) |
	       (map_prot & MAP_PROT_X ? PROT_EXEC : 0);
}

/* mprotect(page, len, prot) run by t; false when refused (said once).
 * *entry: t stands at a syscall-entry stop; false once an injection ran
 * (the program's syscall is then to run again from its instruction). */
static bool protect_at(struct tracer *tr, struct tracee *t, uint64_t stub, uint64_t page,
		       uint64_t len, int prot, bool *entry)
{
	const uint64_t args[6] = { page, len, (uint64_t)prot, 0, 0, 0 };
	struct injection inj;
	bool ran = inject_syscall(tr, t, stub, SYS_mprotect, args, *entry, &inj);
	if (ran) {
		inject_queue_held(tr, t, &inj);
		*entry = false;
	}
	if (ran && inj.ret == 0)
		return true;
	if (inj.ret != -ESRCH && inj.ret != -EPERM) /* refused by a filter: said by inject */
		log_debug("process %d: mprotect(%#llx, %llu, %d) for code written in place: %lld",
			  t->proc->pid, (unsigned long long)page, (unsigned long long)len, prot,
			  (long long)inj.ret);
	return false;
}

static bool protect(struct tracer *tr, struct tracee *t, uint64_t stub, uint64_t page,
		    uint64_t len, int prot)
{
	bool entry = false;
	return protect_at(tr, t, stub, page, len, prot, &entry);
}

/* Makes page read-only for the program, its rights prot (PROT_*) known, or
 * read from m (NULL: the page is listed already, or not writable). */
static bool protect_page(struct tracer *tr, struct tracee *t, struct aspace *as, uint64_t page,
			 const struct map_entry *m, uint64_t flags)
{
	uint64_t *known = u64_table_find(&as->guarded, page);
	int prot;
	if (known) {
		*known &= ~UNUSED;
		if (!(*known & OPENED))
			return false; /* protected already */
		prot = (int)(*known >> PROT_SHIFT);
		flags = *known & ALIAS;
	} else {
		if (!m || !(m->prot & MAP_PROT_W))
			return false;
		prot = mmap_prot(m->prot);
	}
	if (!protect(tr, t, as->scratch.base, page, PAGE, prot & ~PROT_WRITE)) {
		if (!tr->write_guard_warned)
			log_warn("process %d: code in writable memory at %#llx cannot be protected: "
				 "if the program rewrites it in place, prof may count the old code",
				 t->proc->pid, (unsigned long long)page);
		tr->write_guard_warned = true;
		return false;
	}
	u64_table_put(&as->guarded, page, (uint64_t)prot << PROT_SHIFT | flags);
	return true;
}

/* The writable page, in another mapping of the same file (a memfd's
 * name, or the path: the maps file gives no more), that maps the same
 * bytes as page of m; 0 if none. */
static uint64_t find_alias(struct tracee *t, const struct map_entry *m, uint64_t page,
			   struct map_entry *alias)
{
	struct map_list all = { 0 };
	uint64_t found = 0, off = m->pgoff + (page - m->start);
	if (maps_read_all(t->proc->mm_tid ? t->proc->mm_tid : t->tid, &all) != 0)
		log_debug("process %d: maps unreadable: %s", t->proc->pid, strerror(errno));
	for (size_t i = 0; i < all.n && !found; i++) {
		const struct map_entry *w = &all.v[i];
		if (w->start != m->start && (w->prot & MAP_PROT_W) && (w->prot & MAP_PROT_SHARED) &&
		    strcmp(w->path, m->path) == 0 && w->pgoff <= off &&
		    off < w->pgoff + (w->end - w->start)) {
			found = w->start + (off - w->pgoff);
			*alias = *w;
			alias->path = NULL;
		}
	}
	maps_free(&all);
	return found;
}

/* Code read from page of m, a shared mapping: its writable alias is
 * protected too (looked for once per page, until the program maps). */
static bool guard_alias(struct tracer *tr, struct tracee *t, struct aspace *as,
			const struct map_entry *m, uint64_t page)
{
	uint64_t link;
	struct map_entry w;
	if (u64_table_get(&as->aliases, page, &link))
		return (link & ~(PAGE - 1)) &&
		       protect_page(tr, t, as, link & ~(PAGE - 1), NULL, ALIAS);
	uint64_t alias = find_alias(t, m, page, &w);
	u64_table_put(&as->aliases, page, alias | ALIAS_OF_CODE);
	if (!alias)
		return false;
	u64_table_put(&as->aliases, alias, page | CODE_OF_ALIAS);
	log_debug("process %d: code at %#llx is writable at %#llx too", t->proc->pid,
		  (unsigned long long)page, (unsigned long long)alias);
	return protect_page(tr, t, as, alias, &w, ALIAS);
}

static bool guard_page(struct tracer *tr, struct tracee *t, struct aspace *as, uint64_t page)
{
	const struct map_entry *m = maps_find(&t->proc->maps, page);
	bool now = protect_page(tr, t, as, page, m, 0);
	if (m && (m->prot & MAP_PROT_SHARED) && m->path[0])
		now |= guard_alias(tr, t, as, m, page);
	return now;
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

/* Gives page, listed and not opened yet, its rights back for a write
 * about to run (the program's, or the kernel's for it), what prof made of
 * its code gone first. *entry as protect_at's. */
static bool open_page(struct tracer *tr, struct tracee *t, uint64_t page, bool *entry)
{
	struct aspace *as = t->proc->as;
	uint64_t *known = u64_table_find(&as->guarded, page);
	int prot = (int)(*known >> PROT_SHIFT);
	uint64_t code = page, link;
	if ((*known & ALIAS) && u64_table_get(&as->aliases, page, &link) && (link & CODE_OF_ALIAS))
		code = link & ~(PAGE - 1);
	log_debug("thread %d writes code at page %#llx%s%s%s", t->tid, (unsigned long long)code,
		  *known & ALIAS ? ", through its alias" : "", *known & UNUSED ? ", unused" : "",
		  *entry ? ", by a syscall" : "");
	if (!(*known & UNUSED))
		tracer_code_written(tr, t, code, PAGE);
	known = u64_table_find(&as->guarded, page); /* (the table may have changed) */
	if (!protect_at(tr, t, as->scratch.base, page, PAGE, prot, entry)) {
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

bool write_guard_fault(struct tracer *tr, struct tracee *t, int sig, const siginfo_t *si)
{
	struct aspace *as = t->proc->as;
	if (!write_guard_owns(as, sig, si))
		return false;
	uint64_t page = (uint64_t)si->si_addr & ~(PAGE - 1);
	if (*u64_table_find(&as->guarded, page) & OPENED)
		return true; /* raised before prof opened it: the write runs again */
	bool entry = false;
	return open_page(tr, t, page, &entry);
}

struct range_ctx {
	uint64_t lo, hi;
	uint64_t *pages;
	size_t n, cap;
};

static void add_page(struct range_ctx *r, uint64_t page)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->pages = xrealloc(r->pages, r->cap * sizeof *r->pages);
	}
	r->pages[r->n++] = page;
}

static void collect_in_range(uint64_t page, uint64_t val, void *ctx)
{
	struct range_ctx *r = ctx;
	(void)val;
	if (page >= r->lo && page < r->hi)
		add_page(r, page);
}

/* Entries of `aliases` with either page in the range. */
static void collect_linked(uint64_t page, uint64_t link, void *ctx)
{
	struct range_ctx *r = ctx;
	uint64_t other = link & ~(PAGE - 1);
	if ((page >= r->lo && page < r->hi) || (other && other >= r->lo && other < r->hi)) {
		add_page(r, page);
		if (other)
			add_page(r, other);
	}
}

/* The listed pages in [lo, hi): looked up one by one for a range of fewer
 * pages than the table holds (a JIT's every mmap and munmap asks), the
 * table walked for a larger one. */
static size_t pages_in(const struct aspace *as, uint64_t lo, uint64_t hi, struct range_ctx *r)
{
	memset(r, 0, sizeof *r);
	r->lo = lo & ~(PAGE - 1);
	r->hi = hi;
	if (!as || !as->guarded.n)
		return 0;
	uint64_t val;
	if ((r->hi - r->lo) / PAGE < as->guarded.n) {
		for (uint64_t page = r->lo; page < r->hi; page += PAGE)
			if (u64_table_get(&as->guarded, page, &val))
				add_page(r, page);
	} else {
		u64_table_each(&as->guarded, collect_in_range, r);
	}
	return r->n;
}

void write_guard_forget(struct aspace *as, uint64_t lo, uint64_t hi)
{
	struct range_ctx r;
	size_t n = pages_in(as, lo, hi, &r);
	for (size_t i = 0; i < n; i++)
		u64_table_remove(&as->guarded, r.pages[i]);
	free(r.pages);
	/* Which page maps which is to be looked for again, both ways. */
	memset(&r, 0, sizeof r);
	r.lo = lo & ~(PAGE - 1);
	r.hi = hi;
	if (as && as->aliases.n)
		u64_table_each(&as->aliases, collect_linked, &r);
	for (size_t i = 0; i < r.n; i++)
		u64_table_remove(&as->aliases, r.pages[i]);
	free(r.pages);
}

void write_guard_unused(struct aspace *as, uint64_t lo, uint64_t hi)
{
	struct range_ctx r;
	size_t n = pages_in(as, lo, hi, &r);
	for (size_t i = 0; i < n; i++)
		*u64_table_find(&as->guarded, r.pages[i]) |= UNUSED;
	free(r.pages);
	uint64_t link, *alias;
	for (uint64_t page = lo & ~(PAGE - 1); as && as->aliases.n && page < hi; page += PAGE)
		if (u64_table_get(&as->aliases, page, &link) && (link & ALIAS_OF_CODE) &&
		    (alias = u64_table_find(&as->guarded, link & ~(PAGE - 1))))
			*alias |= UNUSED;
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
				(int)(val >> PROT_SHIFT));
	}
	free(r.pages);
}

#define MAX_WRITES 64

bool write_guard_syscall_entry(struct tracer *tr, struct tracee *t, long nr, const uint64_t args[6])
{
	struct aspace *as = t->proc->as;
	if (!as || !as->guarded.n)
		return true;
	struct mem_range w[MAX_WRITES];
	size_t n = syscall_writes(t->tid, nr, args, w, MAX_WRITES);
	bool entry = true;
	for (size_t i = 0; i < n; i++) {
		struct range_ctx r;
		size_t pages = pages_in(as, w[i].lo, w[i].hi, &r);
		for (size_t k = 0; k < pages; k++) {
			uint64_t val;
			if (u64_table_get(&as->guarded, r.pages[k], &val) && !(val & OPENED)) {
				log_debug("thread %d: syscall %ld may write %#llx-%#llx", t->tid, nr,
					  (unsigned long long)w[i].lo, (unsigned long long)w[i].hi);
				open_page(tr, t, r.pages[k], &entry);
			}
		}
		free(r.pages);
	}
	return entry;
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
		if (!protect_at(tr, injector, as->scratch.base, r.pages[i], PAGE,
				(int)(val >> PROT_SHIFT), &entry))
			tracer_lost(tr, "a page of code not given back its rights", "process %d at %llx",
				    injector->proc->pid, (unsigned long long)r.pages[i]);
	}
	free(r.pages);
	u64_table_clear(&as->guarded);
	u64_table_clear(&as->aliases);
	return entry;
}
