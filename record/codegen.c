#include "codegen.h"
#include "prof/util.h"

#include <string.h>

/* The index of the first range that ends after pc. */
static size_t first_after(const struct code_gens *g, uint64_t pc)
{
	size_t lo = 0, hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->v[mid].end <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t code_gens_at(const struct code_gens *g, uint64_t pc)
{
	if (!g->n)
		return 0;
	size_t i = first_after(g, pc);
	return i < g->n && g->v[i].start <= pc ? g->v[i].gen : 0;
}

static void insert_at(struct code_gens *g, size_t i, struct gen_range r)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->v = xrealloc(g->v, g->cap * sizeof *g->v);
	}
	memmove(&g->v[i + 1], &g->v[i], (g->n - i) * sizeof *g->v);
	g->v[i] = r;
	g->n++;
}

uint32_t code_gens_bump(struct code_gens *g, uint64_t start, uint64_t end)
{
	uint32_t gen = ++g->clock;
	if (start >= end)
		return gen;
	/* Ranges that overlap [start, end) keep only what lies outside it. */
	size_t i = first_after(g, start), j = i;
	struct gen_range left = { 0 }, right = { 0 };
	for (; j < g->n && g->v[j].start < end; j++) {
		if (g->v[j].start < start)
			left = (struct gen_range){ g->v[j].start, start, g->v[j].gen };
		if (g->v[j].end > end)
			right = (struct gen_range){ end, g->v[j].end, g->v[j].gen };
	}
	if (g->n > j) /* g->v is NULL while empty */
		memmove(&g->v[i], &g->v[j], (g->n - j) * sizeof *g->v);
	g->n -= j - i;
	if (right.gen)
		insert_at(g, i, right);
	insert_at(g, i, (struct gen_range){ start, end, gen });
	if (left.gen)
		insert_at(g, i, left);
	return gen;
}

void code_gens_free(struct code_gens *g)
{
	free(g->v);
	*g = (struct code_gens){ 0 };
}
