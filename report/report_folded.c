/* Folded stacks, one "outermost;...;innermost count" line per stack, the input
 * of flamegraph.pl, speedscope, inferno and prof's own --svg.
 *
 * prof records an exact call graph (calls and inclusive instructions per
 * caller and callee), not whole stacks, so the stacks are reconstructed: the
 * tree is expanded from the roots (each thread's first function, and
 * functions no recorded call reaches, such as one entered by a jump), and
 * each function's own instructions are shared among the stacks that reach
 * it in proportion to the inclusive instructions flowing down each path
 * (a caller's share times the fraction of the callee's inclusive count that
 * comes from that caller). When a function is reached from only one caller
 * this is exact; when it is reached from several, the split assumes every
 * caller's calls cost the same per instruction, so the stacks are an
 * approximation of the real ones (the per-function totals stay exact).
 * Recursion is cut: a call to a function already on the current path is not
 * expanded, and its instructions stay with the outer activation. Each
 * function's lines add up exactly to its own count (the rounding remainder
 * goes on its largest line), so all lines add up to the total. */
#include "report.h"
#include "folded.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

#define NO_PARENT ((size_t)-1)
#define MAX_TREE_NODES ((size_t)1 << 20)
#define MAX_DEPTH 1024

struct tnode {
	size_t func, parent;
	double share;        /* the part of the function's activity on this path */
	uint64_t count;
};

struct expansion {
	const struct cg_graph *g;
	struct tnode *t;
	size_t n, cap;
	bool *on_path;
	double threshold;    /* paths carrying fewer inclusive instructions are cut */
	bool overflow;
};

static size_t add_tnode(struct expansion *x, size_t func, size_t parent, double share)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 256;
		x->t = xrealloc(x->t, x->cap * sizeof *x->t);
	}
	x->t[x->n] = (struct tnode){ func, parent, share, 0 };
	return x->n++;
}

static void expand(struct expansion *x, size_t node, size_t depth)
{
	const struct cg_node *f = &x->g->nodes[x->t[node].func];
	double share = x->t[node].share;
	for (size_t k = 0; k < f->nout && !x->overflow; k++) {
		const struct cg_edge *e = &f->out[k];
		const struct cg_node *c = &x->g->nodes[e->callee];
		double flow = share * (double)e->inclusive;
		if (x->on_path[e->callee] || !c->in_inclusive || flow < x->threshold ||
		    depth >= MAX_DEPTH)
			continue;
		if (x->n >= MAX_TREE_NODES) {
			x->overflow = true;
			return;
		}
		size_t child = add_tnode(x, e->callee, node, flow / (double)c->in_inclusive);
		x->on_path[e->callee] = true;
		expand(x, child, depth + 1);
		x->on_path[e->callee] = false;
	}
}

static void expand_root(struct expansion *x, size_t func, double share)
{
	size_t node = add_tnode(x, func, NO_PARENT, share);
	x->on_path[func] = true;
	expand(x, node, 1);
	x->on_path[func] = false;
}

/* The tree of paths from every root, cut where paths carry less than the
 * threshold; a huge call graph raises the threshold until it fits. */
static void expand_all(struct expansion *x)
{
	const struct cg_graph *g = x->g;
	x->on_path = xcalloc(g->n + 1, sizeof *x->on_path);
	for (x->threshold = 0.5;; x->threshold *= 16) {
		x->n = 0;
		x->overflow = false;
		for (size_t i = 0; i < g->nroots && !x->overflow; i++) {
			const struct cg_edge *r = &g->roots[i];
			const struct cg_node *c = &g->nodes[r->callee];
			if (r->inclusive)
				expand_root(x, r->callee, (double)r->inclusive / (double)c->in_inclusive);
		}
		for (size_t i = 0; i < g->n && !x->overflow; i++)
			if (!g->nodes[i].in_inclusive && (g->nodes[i].self || g->nodes[i].nout))
				expand_root(x, i, 1.0);
		if (!x->overflow)
			break;
	}
	free(x->on_path);
}

/* Shares each function's own count among its paths; exact sums. */
static void distribute(struct expansion *x)
{
	const struct cg_graph *g = x->g;
	double *sum = xcalloc(g->n + 1, sizeof *sum);
	uint64_t *given = xcalloc(g->n + 1, sizeof *given);
	size_t *largest = xmalloc((g->n + 1) * sizeof *largest);
	for (size_t i = 0; i < g->n; i++)
		largest[i] = NO_PARENT;
	for (size_t k = 0; k < x->n; k++)
		sum[x->t[k].func] += x->t[k].share;
	for (size_t k = 0; k < x->n; k++) {
		struct tnode *t = &x->t[k];
		if (sum[t->func] <= 0)
			continue;
		uint64_t self = g->nodes[t->func].self;
		t->count = (uint64_t)((double)self * (t->share / sum[t->func])); /* floor */
		if (t->count > self - given[t->func])
			t->count = self - given[t->func];
		given[t->func] += t->count;
		size_t *l = &largest[t->func];
		if (*l == NO_PARENT || t->count > x->t[*l].count)
			*l = k;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (given[i] == g->nodes[i].self)
			continue;
		if (largest[i] == NO_PARENT) /* no path reaches it: a stack of its own */
			largest[i] = add_tnode(x, i, NO_PARENT, 0);
		x->t[largest[i]].count += g->nodes[i].self - given[i];
	}
	free(sum);
	free(given);
	free(largest);
}

static int cmp_index_by_name(const void *a, const void *b, void *arg)
{
	const struct cg_graph *g = arg;
	return strcmp(g->nodes[*(const size_t *)a].name, g->nodes[*(const size_t *)b].name);
}

/* Frame names: ';' and line breaks would break the format (blanks do not:
 * the count is after the last one); a name two DSOs share becomes dso`name
 * (the DTrace convention). */
static void make_labels(struct folded *f)
{
	const struct cg_graph *g = &f->g;
	size_t *order = xmalloc((g->n + 1) * sizeof *order);
	for (size_t i = 0; i < g->n; i++)
		order[i] = i;
	qsort_r(order, g->n, sizeof *order, cmp_index_by_name, (void *)g);
	f->label = xcalloc(g->n + 1, sizeof *f->label);
	for (size_t k = 0; k < g->n; k++) {
		const struct cg_node *nd = &g->nodes[order[k]];
		bool shared = (k > 0 && strcmp(g->nodes[order[k - 1]].name, nd->name) == 0) ||
			      (k + 1 < g->n && strcmp(g->nodes[order[k + 1]].name, nd->name) == 0);
		char *s = shared ? xasprintf("%s`%s", nd->dso, nd->name) : xstrdup(nd->name);
		for (char *c = s; *c; c++)
			if (*c == ';')
				*c = ':';
			else if ((unsigned char)*c < ' ' || *c == 0x7f)
				*c = '_';
		f->label[order[k]] = s;
	}
	free(order);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->text, ((const struct folded_line *)b)->text);
}

void folded_build(const struct profile *p, struct folded *f)
{
	memset(f, 0, sizeof *f);
	cg_build(p, &f->g);
	make_labels(f);
	struct expansion x = { .g = &f->g };
	expand_all(&x);
	distribute(&x);
	for (size_t k = 0; k < x.n; k++) {
		if (!x.t[k].count)
			continue;
		size_t depth = 0, len = 0;
		for (size_t n = k; n != NO_PARENT; n = x.t[n].parent) {
			depth++;
			len += strlen(f->label[x.t[n].func]) + 1;
		}
		struct folded_line *l;
		f->lines = xrealloc(f->lines, (f->nlines + 1) * sizeof *f->lines);
		l = &f->lines[f->nlines++];
		l->frames = xmalloc(depth * sizeof *l->frames);
		l->depth = depth;
		l->count = x.t[k].count;
		l->text = xmalloc(len);
		size_t d = depth;
		for (size_t n = k; n != NO_PARENT; n = x.t[n].parent)
			l->frames[--d] = x.t[n].func;
		char *w = l->text;
		for (d = 0; d < depth; d++) {
			size_t ll = strlen(f->label[l->frames[d]]);
			memcpy(w, f->label[l->frames[d]], ll);
			w += ll;
			*w++ = d + 1 < depth ? ';' : '\0';
		}
		f->total += l->count;
	}
	free(x.t);
	qsort(f->lines, f->nlines, sizeof *f->lines, cmp_line);
}

void folded_free(struct folded *f)
{
	for (size_t i = 0; i < f->nlines; i++) {
		free(f->lines[i].frames);
		free(f->lines[i].text);
	}
	free(f->lines);
	for (size_t i = 0; f->label && i < f->g.n; i++)
		free(f->label[i]);
	free(f->label);
	cg_free(&f->g);
	memset(f, 0, sizeof *f);
}

void report_folded(FILE *out, const struct profile *p, const struct report_options *o)
{
	struct folded f;
	folded_build(p, &f);
	for (size_t i = 0; i < f.nlines; i++)
		fprintf(out, "%s %llu\n", f.lines[i].text, (unsigned long long)f.lines[i].count);
	folded_free(&f);
}
