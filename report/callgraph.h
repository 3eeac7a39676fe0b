/* The profile's call graph as indexed nodes and per-caller edge lists, for
 * the exporters (callgrind, folded stacks, flame graph). */
#ifndef PROF_REPORT_CALLGRAPH_H
#define PROF_REPORT_CALLGRAPH_H

#include "prof/profile.h"
#include "prof/u64_table.h"

#include <stddef.h>
#include <stdint.h>

struct cg_edge {
	size_t callee;               /* node index */
	uint64_t calls, inclusive;
};

struct cg_node {
	const char *name, *dso, *dso_path;
	uint64_t self;               /* the function's own instructions */
	uint64_t in_inclusive;       /* inclusive of every call into it (roots included,
					self-recursive calls not) */
	struct cg_edge *out;         /* its callees, as in profile.edges order */
	size_t nout;
};

struct cg_graph {
	struct cg_node *nodes;       /* p->funcs[i] is node i; callers or callees that
					executed nothing themselves follow */
	size_t n;
	struct cg_edge *roots;       /* edges from "[root]" (a thread's first frame) */
	size_t nroots;
	struct cg_edge *edge_store;  /* every node's out, in one allocation */
	struct u64_table index;      /* hash of (name, dso) -> node index */
};

void cg_build(const struct profile *p, struct cg_graph *g);
void cg_free(struct cg_graph *g);
/* The node of (name, dso), added with nothing of its own (no instructions,
 * no callees) when the profile has no such function. */
size_t cg_node_of(struct cg_graph *g, const char *name, const char *dso);

#endif
