/* Functions as graph nodes, found by (name, DSO) through a hash table. */
#include "callgraph.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

static void index_insert(struct cg_graph *g, size_t node)
{
	const struct cg_node *nd = &g->nodes[node];
	size_t h = hash_two_strings(nd->name, nd->dso) & (g->index_cap - 1);
	while (g->index[h])
		h = (h + 1) & (g->index_cap - 1);
	g->index[h] = node + 1;
}

/* cap: a power of two, at least twice the number of nodes. */
static void index_rebuild(struct cg_graph *g, size_t cap)
{
	free(g->index);
	g->index_cap = cap;
	g->index = xcalloc(cap, sizeof *g->index);
	for (size_t i = 0; i < g->n; i++)
		index_insert(g, i);
}

size_t cg_node_of(struct cg_graph *g, const char *name, const char *dso)
{
	size_t h = hash_two_strings(name, dso) & (g->index_cap - 1);
	for (; g->index[h]; h = (h + 1) & (g->index_cap - 1)) {
		const struct cg_node *nd = &g->nodes[g->index[h] - 1];
		if (strcmp(nd->name, name) == 0 && strcmp(nd->dso, dso) == 0)
			return g->index[h] - 1;
	}
	g->nodes = xrealloc(g->nodes, (g->n + 1) * sizeof *g->nodes);
	g->nodes[g->n] = (struct cg_node){ .name = name, .dso = dso, .dso_path = dso };
	g->n++;
	if (g->n * 2 > g->index_cap)
		index_rebuild(g, g->index_cap * 2);
	else
		index_insert(g, g->n - 1);
	return g->n - 1;
}

void cg_build(const struct profile *p, struct cg_graph *g)
{
	memset(g, 0, sizeof *g);
	g->nodes = xcalloc(p->nfuncs + 1, sizeof *g->nodes);
	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct func_row *f = &p->funcs[i];
		g->nodes[i] = (struct cg_node){ .name = f->name, .dso = f->dso,
						.dso_path = f->dso_path ? f->dso_path : f->dso,
						.self = f->count };
	}
	g->n = p->nfuncs;
	size_t cap = 256;
	while (cap < 2 * g->n)
		cap *= 2;
	index_rebuild(g, cap);

	size_t *caller = xmalloc((p->nedges + 1) * sizeof *caller);
	size_t *callee = xmalloc((p->nedges + 1) * sizeof *callee);
	for (size_t i = 0; i < p->nedges; i++) {
		const struct edge_row *e = &p->edges[i];
		caller[i] = cg_node_of(g, e->caller, e->caller_dso);
		callee[i] = cg_node_of(g, e->callee, e->callee_dso);
	}
	g->roots = xcalloc(p->nroots + 1, sizeof *g->roots);
	for (size_t i = 0; i < p->nroots; i++) {
		const struct edge_row *e = &p->roots[i];
		g->roots[i] = (struct cg_edge){ cg_node_of(g, e->callee, e->callee_dso), e->calls,
						e->inclusive };
		g->nodes[g->roots[i].callee].in_inclusive += e->inclusive;
	}
	g->nroots = p->nroots;

	/* Edge lists per caller, in one array: count, then place. */
	struct cg_edge *all = g->edge_store = xcalloc(p->nedges + 1, sizeof *all);
	size_t *fill = xcalloc(g->n + 1, sizeof *fill);
	for (size_t i = 0; i < p->nedges; i++)
		g->nodes[caller[i]].nout++;
	size_t at = 0;
	for (size_t k = 0; k < g->n; k++) {
		g->nodes[k].out = all + at;
		at += g->nodes[k].nout;
	}
	for (size_t i = 0; i < p->nedges; i++) {
		const struct edge_row *e = &p->edges[i];
		struct cg_node *from = &g->nodes[caller[i]];
		from->out[fill[caller[i]]++] = (struct cg_edge){ callee[i], e->calls, e->inclusive };
		if (caller[i] != callee[i])
			g->nodes[callee[i]].in_inclusive += e->inclusive;
	}
	free(fill);
	free(caller);
	free(callee);
}

void cg_free(struct cg_graph *g)
{
	free(g->edge_store);
	free(g->index);
	free(g->nodes);
	free(g->roots);
	memset(g, 0, sizeof *g);
}
