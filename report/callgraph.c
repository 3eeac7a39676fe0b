/* Functions as graph nodes, found by (name, DSO) through the hash of the pair. */
#include "callgraph.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

struct node_key {
	const struct cg_node *nodes;
	const char *name, *dso;
};

static bool same_node(uint64_t i, const void *ctx)
{
	const struct node_key *k = ctx;
	return strcmp(k->nodes[i].name, k->name) == 0 && strcmp(k->nodes[i].dso, k->dso) == 0;
}

size_t cg_node_of(struct cg_graph *g, const char *name, const char *dso)
{
	struct node_key k = { g->nodes, name, dso };
	uint64_t hash = hash_two_strings(name, dso), i;
	if (u64_table_find_same(&g->index, hash, same_node, &k, &i))
		return (size_t)i;
	g->nodes = xrealloc(g->nodes, (g->n + 1) * sizeof *g->nodes);
	g->nodes[g->n] = (struct cg_node){ .name = name, .dso = dso, .dso_path = dso };
	u64_table_add(&g->index, hash, g->n);
	return g->n++;
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
	u64_table_reserve(&g->index, g->n);
	for (size_t i = 0; i < g->n; i++)
		u64_table_add(&g->index, hash_two_strings(g->nodes[i].name, g->nodes[i].dso), i);

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
	u64_table_clear(&g->index);
	free(g->nodes);
	free(g->roots);
	memset(g, 0, sizeof *g);
}
