/* The Callgrind profile format (version 1), readable by callgrind_annotate and
 * KCachegrind. One event, Ir = instructions executed. prof counts per
 * function, not per source line, so every cost sits at position (line) 0:
 *
 *   ob=(1) /path/of/dso          object file   } the DSO path for both
 *   fl=(1) /path/of/dso          "source" file }
 *   fn=(2) outer                 a function, then its self cost line
 *   0 240
 *   cfn=(3) inner                a callee (cob=/cfi= before it when its DSO differs),
 *   calls=50 0                   how often it was called (target position 0)
 *   0 300                        and the inclusive cost of those calls
 *
 * Names are compressed: "(id) name" the first time, "(id)" afterwards. Call
 * costs count every call, as callgrind's do: for a recursive function,
 * callgrind_annotate --inclusive=yes adds nested calls again, exactly as it
 * does on valgrind's own output. */
#include "report.h"
#include "callgraph.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

/* One compression namespace (ob, fl or fn): string -> id. */
struct names {
	const char **v;
	size_t n, *slots, cap;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void names_grow(struct names *t)
{
	free(t->slots);
	t->cap = t->cap ? t->cap * 2 : 64;
	t->slots = xcalloc(t->cap, sizeof *t->slots);
	for (size_t i = 0; i < t->n; i++) {
		size_t h = hash_str(t->v[i]) & (t->cap - 1);
		while (t->slots[h])
			h = (h + 1) & (t->cap - 1);
		t->slots[h] = i + 1;
	}
}

/* Writes "key=(id) name" the first time name is seen, "key=(id)" after. */
static void put_name(FILE *out, struct names *t, const char *key, const char *name)
{
	if ((t->n + 1) * 2 > t->cap)
		names_grow(t);
	size_t h = hash_str(name) & (t->cap - 1);
	for (; t->slots[h]; h = (h + 1) & (t->cap - 1)) {
		if (strcmp(t->v[t->slots[h] - 1], name) == 0) {
			fprintf(out, "%s=(%zu)\n", key, t->slots[h]);
			return;
		}
	}
	t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
	t->v[t->n++] = name;
	t->slots[h] = t->n;
	fprintf(out, "%s=(%zu) ", key, t->n);
	for (const char *s = name; *s; s++) /* a name is one line */
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
	fputc('\n', out);
}

static void names_free(struct names *t)
{
	free(t->v);
	free(t->slots);
}

void report_callgrind(FILE *out, const struct profile *p, const struct report_options *o)
{
	struct cg_graph g;
	cg_build(p, &g);
	fputs("# callgrind format\nversion: 1\n", out);
	fprintf(out, "creator: prof %s\ncmd: ", PROF_VERSION);
	for (const char *s = p->command; *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
	fputs("\npart: 1\n", out);
	if (p->sampled)
		fprintf(out, "desc: Trigger: prof sample mode, %u Hz, %s clock%s\n", p->sample_freq,
			p->sample_clock ? p->sample_clock : "cpu",
			p->complete ? "" : " (incomplete recording)");
	else
		fprintf(out, "desc: Trigger: prof %s mode, exact instruction counts%s\n", p->mode,
			p->complete ? "" : " (incomplete recording)");
	fprintf(out, "desc: Positions: none recorded, every cost is at line 0 of its DSO\n\n"
		"positions: line\nevents: %s\nsummary: %llu\n", p->sampled ? "Samples" : "Ir",
		(unsigned long long)p->total);

	struct names obs = { 0 }, fls = { 0 }, fns = { 0 };
	const char *cur_dso = NULL;
	for (size_t i = 0; i < g.n; i++) {
		const struct cg_node *f = &g.nodes[i];
		if (!f->self && !f->nout)
			continue;
		fputc('\n', out);
		if (!cur_dso || strcmp(cur_dso, f->dso_path) != 0) {
			put_name(out, &obs, "ob", f->dso_path);
			put_name(out, &fls, "fl", f->dso_path);
			cur_dso = f->dso_path;
		}
		put_name(out, &fns, "fn", f->name);
		if (f->self)
			fprintf(out, "0 %llu\n", (unsigned long long)f->self);
		for (size_t k = 0; k < f->nout; k++) {
			const struct cg_edge *e = &f->out[k];
			const struct cg_node *c = &g.nodes[e->callee];
			if (strcmp(c->dso_path, f->dso_path) != 0) {
				put_name(out, &obs, "cob", c->dso_path);
				put_name(out, &fls, "cfi", c->dso_path);
			}
			put_name(out, &fns, "cfn", c->name);
			fprintf(out, "calls=%llu 0\n0 %llu\n", (unsigned long long)e->calls,
				(unsigned long long)e->inclusive);
		}
	}
	fprintf(out, "\ntotals: %llu\n", (unsigned long long)p->total);
	names_free(&obs);
	names_free(&fls);
	names_free(&fns);
	cg_free(&g);
}
