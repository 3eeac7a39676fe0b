/* Folded stacks, one "outermost;...;innermost count" line per stack, the input
 * of flamegraph.pl, speedscope, inferno and prof's own --svg.
 *
 * Sample mode records whole stacks: those are written as they are. Block and
 * step mode record an exact call graph (calls and inclusive instructions per
 * caller and callee), not whole stacks, so the stacks are reconstructed: the
 * tree is expanded from the roots (each thread's first function, and
 * functions no recorded call reaches, such as one entered by a jump), and
 * each function's own instructions are shared among the stacks that reach
 * it in proportion to the inclusive instructions flowing down each path
 * (a caller's share times the fraction of the callee's inclusive count that
 * comes from that caller). Where every function has a single caller this is
 * exact. A function reached from several callers has one set of counts for
 * all of them, so what it does is split among its callers in proportion to
 * their calls' inclusive instructions, as if every call cost the same: those
 * stacks are an approximation of the real ones (a callee only one caller's
 * calls reached shows under every caller). Per-function totals stay exact.
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

#define IN_PROGRESS ((size_t)-2)

/* A node for function f when no expanded path reaches it (the paths were
 * cut as too thin, or its callers are unreachable): under the main path of
 * its biggest caller, else a stack of its own. */
static size_t place(struct expansion *x, size_t f, size_t *largest, const size_t *caller)
{
	if (largest[f] == IN_PROGRESS) /* a cycle of unreached callers */
		return NO_PARENT;
	if (largest[f] != NO_PARENT)
		return largest[f];
	size_t parent = NO_PARENT;
	if (caller[f] != NO_PARENT) {
		largest[f] = IN_PROGRESS;
		parent = place(x, caller[f], largest, caller);
	}
	return largest[f] = add_tnode(x, f, parent, 0);
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
	size_t *caller = xmalloc((g->n + 1) * sizeof *caller);
	uint64_t *caller_incl = xcalloc(g->n + 1, sizeof *caller_incl);
	for (size_t i = 0; i < g->n; i++)
		caller[i] = NO_PARENT;
	for (size_t i = 0; i < g->n; i++)
		for (size_t k = 0; k < g->nodes[i].nout; k++) {
			const struct cg_edge *e = &g->nodes[i].out[k];
			if (e->callee != i && e->inclusive >= caller_incl[e->callee]) {
				caller[e->callee] = i;
				caller_incl[e->callee] = e->inclusive;
			}
		}
	for (size_t i = 0; i < g->n; i++) {
		if (given[i] == g->nodes[i].self)
			continue;
		size_t node = place(x, i, largest, caller);
		x->t[node].count += g->nodes[i].self - given[i];
	}
	free(caller);
	free(caller_incl);
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

static void add_line(struct folded *f, size_t *frames, size_t depth, uint64_t count)
{
	f->lines = xrealloc(f->lines, (f->nlines + 1) * sizeof *f->lines);
	f->lines[f->nlines++] = (struct folded_line){ frames, depth, count, NULL };
}

/* Block and step mode: stacks rebuilt from the call graph. */
static void lines_from_call_graph(struct folded *f)
{
	struct expansion x = { .g = &f->g };
	expand_all(&x);
	distribute(&x);
	for (size_t k = 0; k < x.n; k++) {
		if (!x.t[k].count)
			continue;
		size_t depth = 0;
		for (size_t n = k; n != NO_PARENT; n = x.t[n].parent)
			depth++;
		size_t *frames = xmalloc(depth * sizeof *frames), d = depth;
		for (size_t n = k; n != NO_PARENT; n = x.t[n].parent)
			frames[--d] = x.t[n].func;
		add_line(f, frames, depth, x.t[k].count);
	}
	free(x.t);
}

/* Sample mode: the sampled stacks themselves. A sample without a stack
 * still counts, as a stack of its function alone. */
static void lines_from_samples(struct folded *f, const struct profile *p)
{
	size_t nfuncs = f->g.n;
	uint64_t *leaf = xcalloc(nfuncs + 1, sizeof *leaf);
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct stack_row *s = &p->stacks[i];
		size_t *frames = xmalloc(s->depth * sizeof *frames);
		for (size_t d = 0; d < s->depth; d++)
			frames[d] = cg_node_of(&f->g, s->names[d], s->dsos[d]);
		if (frames[s->depth - 1] < nfuncs)
			leaf[frames[s->depth - 1]] += s->count;
		add_line(f, frames, s->depth, s->count);
	}
	for (size_t i = 0; i < nfuncs; i++) {
		if (f->g.nodes[i].self <= leaf[i])
			continue;
		size_t *frames = xmalloc(sizeof *frames);
		frames[0] = i;
		add_line(f, frames, 1, f->g.nodes[i].self - leaf[i]);
	}
	free(leaf);
}

/* Joins the labels, sorts the lines and merges equal ones. */
static void finish_lines(struct folded *f)
{
	for (size_t i = 0; i < f->nlines; i++) {
		struct folded_line *l = &f->lines[i];
		size_t len = 0;
		for (size_t d = 0; d < l->depth; d++)
			len += strlen(f->label[l->frames[d]]) + 1;
		char *w = l->text = xmalloc(len + 1);
		for (size_t d = 0; d < l->depth; d++) {
			size_t ll = strlen(f->label[l->frames[d]]);
			memcpy(w, f->label[l->frames[d]], ll);
			w += ll;
			*w++ = ';';
		}
		w[l->depth ? -1 : 0] = '\0';
	}
	sort_array(f->lines, f->nlines, sizeof *f->lines, cmp_line);
	size_t w = 0;
	for (size_t i = 0; i < f->nlines; i++) {
		struct folded_line *l = &f->lines[i];
		f->total += l->count;
		if (w && strcmp(f->lines[w - 1].text, l->text) == 0) {
			f->lines[w - 1].count += l->count;
			free(l->frames);
			free(l->text);
		} else {
			f->lines[w++] = *l;
		}
	}
	f->nlines = w;
}

void folded_build(const struct profile *p, struct folded *f)
{
	memset(f, 0, sizeof *f);
	cg_build(p, &f->g);
	if (p->nstacks)
		lines_from_samples(f, p);
	else
		lines_from_call_graph(f);
	make_labels(f);
	finish_lines(f);
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
