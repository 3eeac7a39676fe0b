/* The code cache's books of its translations. See cache_index.h. */
#include "cache_index.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_SHIFT 12

void cache_index_copy(struct cache_index *dst, const struct cache_index *src)
{
	*dst = *src;
	dst->trans = xcalloc(src->cap ? src->cap : 1, sizeof *dst->trans);
	for (uint32_t i = 0; i < src->n; i++)
		dst->trans[i] = src->trans[i] ? trans_copy(src->trans[i]) : NULL;
	memset(&dst->by_orig, 0, sizeof dst->by_orig);
	u64_table_copy(&dst->by_orig, &src->by_orig);
	memset(&dst->by_page, 0, sizeof dst->by_page);
	u64_table_copy(&dst->by_page, &src->by_page);
	dst->pages = xcalloc(src->pages_cap ? src->pages_cap : 1, sizeof *dst->pages);
	for (size_t i = 0; i < src->npages; i++) {
		const struct cache_page *pg = &src->pages[i];
		dst->pages[i] = *pg;
		dst->pages[i].ids = xmalloc((pg->cap ? pg->cap : 1) * sizeof *pg->ids);
		memcpy(dst->pages[i].ids, pg->ids, pg->n * sizeof *pg->ids);
	}
}

void cache_index_clear(struct cache_index *ix)
{
	for (uint32_t i = 0; i < ix->n; i++) {
		trans_free(ix->trans[i]);
		ix->trans[i] = NULL;
	}
	u64_table_clear(&ix->by_orig);
	u64_table_clear(&ix->by_page);
	for (size_t i = 0; i < ix->npages; i++)
		free(ix->pages[i].ids);
	free(ix->pages);
	ix->pages = NULL;
	ix->npages = ix->pages_cap = 0;
}

void cache_index_free(struct cache_index *ix)
{
	cache_index_clear(ix);
	free(ix->trans);
	ix->trans = NULL;
	ix->n = ix->cap = 0;
}

uint32_t cache_index_next_id(struct cache_index *ix)
{
	if (ix->n == ix->cap) {
		uint32_t cap = ix->cap ? 2 * ix->cap : 1024;
		ix->trans = xrealloc(ix->trans, cap * sizeof *ix->trans);
		memset(ix->trans + ix->cap, 0, (cap - ix->cap) * sizeof *ix->trans);
		ix->cap = cap;
	}
	return ix->n;
}

static void by_addr_add(struct cache_by_addr *l, uint32_t id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->ids = xrealloc(l->ids, l->cap * sizeof *l->ids);
	}
	l->ids[l->n++] = id;
}

static void index_range(struct cache_index *ix, uint32_t id, uint64_t lo, uint64_t hi)
{
	for (uint64_t pg = lo >> PAGE_SHIFT; lo < hi && pg <= (hi - 1) >> PAGE_SHIFT; pg++) {
		bool added;
		uint64_t *slot = u64_table_slot(&ix->by_page, pg, &added);
		if (added) {
			if (ix->npages == ix->pages_cap) {
				ix->pages_cap = ix->pages_cap ? 2 * ix->pages_cap : 256;
				ix->pages = xrealloc(ix->pages, ix->pages_cap * sizeof *ix->pages);
			}
			memset(&ix->pages[ix->npages], 0, sizeof *ix->pages);
			*slot = ++ix->npages;
		}
		struct cache_page *p = &ix->pages[*slot - 1];
		if (p->n && p->ids[p->n - 1] == id)
			continue; /* the dependency runs on in the block's page */
		if (p->n == p->cap) {
			p->cap = p->cap ? 2 * p->cap : 8;
			p->ids = xrealloc(p->ids, p->cap * sizeof *p->ids);
		}
		p->ids[p->n++] = id;
	}
}

/* A translation belongs to every page its source bytes (or the code read
 * for its flags) touch: a block straddling two pages is in both. */
void cache_index_add(struct cache_index *ix, struct trans *x, struct cache_by_addr *addr)
{
	ix->trans[x->id] = x;
	ix->n++;
	u64_table_put(&ix->by_orig, x->orig, x->id + 1ull);
	by_addr_add(addr, x->id);
	index_range(ix, x->id, x->orig, x->pc[x->n]);
	for (int i = 0; i < 2; i++)
		index_range(ix, x->id, x->dep[i][0], x->dep[i][1]);
}

const struct trans *cache_index_orig(const struct cache_index *ix, uint64_t pc)
{
	uint64_t v;
	return u64_table_get(&ix->by_orig, pc, &v) ? ix->trans[v - 1] : NULL;
}

const struct trans *cache_index_at(const struct cache_index *ix, const struct cache_by_addr *l,
				   uint64_t addr)
{
	size_t lo = 0, hi = l->n; /* the first whose entry is above addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->trans[l->ids[mid]]->entry <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct trans *x = lo ? ix->trans[l->ids[lo - 1]] : NULL;
	return x && addr < x->end ? x : NULL;
}

void cache_index_unlist(struct cache_index *ix, const struct trans *x)
{
	uint64_t v;
	if (u64_table_get(&ix->by_orig, x->orig, &v) && v == x->id + 1ull)
		u64_table_remove(&ix->by_orig, x->orig);
}

static bool overlaps(uint64_t a, uint64_t b, uint64_t lo, uint64_t hi)
{
	return a < b && a < hi && lo < b;
}

static bool reads_range(const struct trans *x, uint64_t lo, uint64_t hi)
{
	return overlaps(x->orig, x->pc[x->n], lo, hi) || overlaps(x->dep[0][0], x->dep[0][1], lo, hi) ||
	       overlaps(x->dep[1][0], x->dep[1][1], lo, hi);
}

struct page_walk {
	struct cache_index *ix;
	uint64_t lo, hi;
	void (*kill)(void *ctx, struct trans *x);
	void *ctx;
	size_t killed;
};

/* Kills the live translations of one page that read [lo, hi); the page's
 * list keeps the live ones. */
static void walk_page(struct page_walk *w, struct cache_page *p)
{
	uint32_t kept = 0;
	for (uint32_t k = 0; k < p->n; k++) {
		struct trans *x = w->ix->trans[p->ids[k]];
		if (x && !x->dead && reads_range(x, w->lo, w->hi)) {
			w->kill(w->ctx, x);
			w->killed++;
		}
		if (x && !x->dead)
			p->ids[kept++] = p->ids[k];
	}
	p->n = kept;
}

static void walk_if_inside(uint64_t page, uint64_t idx, void *ctx)
{
	struct page_walk *w = ctx;
	uint64_t start = page << PAGE_SHIFT;
	if (start < w->hi && w->lo < start + (1ull << PAGE_SHIFT))
		walk_page(w, &w->ix->pages[idx - 1]);
}

size_t cache_index_reading(struct cache_index *ix, uint64_t lo, uint64_t hi,
			   void (*kill)(void *ctx, struct trans *x), void *ctx)
{
	uint64_t first = lo >> PAGE_SHIFT, last = (hi - 1) >> PAGE_SHIFT;
	struct page_walk w = { ix, lo, hi, kill, ctx, 0 };
	if (last - first + 1 > ix->by_page.n) { /* a huge range: walk the pages that hold code */
		u64_table_each(&ix->by_page, walk_if_inside, &w);
	} else {
		for (uint64_t pg = first; pg <= last; pg++) {
			uint64_t idx;
			if (u64_table_get(&ix->by_page, pg, &idx))
				walk_page(&w, &ix->pages[idx - 1]);
		}
	}
	return w.killed;
}

void cache_by_addr_copy(struct cache_by_addr *dst, const struct cache_by_addr *src)
{
	*dst = *src;
	dst->ids = xmalloc((src->cap + 1) * sizeof *src->ids);
	if (src->ids)
		memcpy(dst->ids, src->ids, src->n * sizeof *src->ids);
}

void cache_by_addr_free(struct cache_by_addr *l)
{
	free(l->ids);
	memset(l, 0, sizeof *l);
}
