/* The Callgrind profile format (version 1), readable by callgrind_annotate and
 * KCachegrind, as callgrind --dump-instr=yes writes it: one event, Ir =
 * instructions executed, at positions "instr line" (link-time address as
 * objdump prints it, DWARF source line):
 *
 *   ob=(1) /path/of/dso          object file
 *   fl=(1) /path/of/source.c     the function's source file (??? without DWARF)
 *   fn=(2) outer                 a function, then one cost line per instruction:
 *   0x1139 12 240                address, line, instructions executed there
 *   fi=(3) /usr/include/x.h      the next lines come from an inlined file,
 *   0x1140 80 6
 *   fe=(1)                       and back in the function's own file
 *   cfn=(3) inner                a call (cob=/cfi= before it when the callee's
 *   calls=50 0x1200 30           object or file differ), its count and the
 *   0x1145 13 300                callee's entry, then the call site and the
 *                                inclusive cost of those calls
 *
 * A function entered by a jump (a tail call, a PLT stub's target) is called
 * from the jump instruction, with the inclusive count prof gives that edge.
 * Names are compressed: "(id) name" the first time, "(id)" afterwards. Call
 * costs count every call, as callgrind's do: for a recursive function,
 * callgrind_annotate --inclusive=yes adds nested calls again, exactly as it
 * does on valgrind's own output. Sample mode records stacks, not call sites:
 * its calls sit at the caller's first instruction. */
#include "report.h"
#include "callgraph.h"
#include "prof/log.h"
#include "prof/store.h"
#include "prof/u64_table.h"
#include "prof/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One compression namespace (ob, fl or fn): string -> id, the index in v + 1. */
struct names {
	const char **v;
	size_t n;
	struct u64_table index;  /* hash of the string -> index in v */
};

struct name_key {
	const char *const *v;
	const char *name;
};

static bool same_name(uint64_t i, const void *ctx)
{
	const struct name_key *k = ctx;
	return strcmp(k->v[i], k->name) == 0;
}

/* Writes "key=(id) name" the first time name is seen, "key=(id)" after. */
static void put_name(FILE *out, struct names *t, const char *key, const char *name)
{
	struct name_key k = { t->v, name };
	uint64_t hash = hash_two_strings(name, ""), i;
	if (u64_table_find_same(&t->index, hash, same_name, &k, &i)) {
		fprintf(out, "%s=(%zu)\n", key, (size_t)i + 1);
		return;
	}
	t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
	u64_table_add(&t->index, hash, t->n);
	t->v[t->n++] = name;
	fprintf(out, "%s=(%zu) ", key, t->n);
	for (const char *s = name; *s; s++) /* a name is one line */
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
	fputc('\n', out);
}

static void names_free(struct names *t)
{
	free(t->v);
	u64_table_clear(&t->index);
}

struct cg_writer {
	FILE *out;
	const struct profile *p;
	struct names obs, fls, fns;
	const char *ob;          /* the current object */
	const char *fn_file;     /* the current function's own file (its fl=) */
	const char *file;        /* the file the next cost lines belong to */
};

static int cmp_function(const struct position *a, const struct position *b)
{
	int c = strcmp(a->dso_path, b->dso_path);
	return c ? c : strcmp(a->function, b->function);
}

static bool same_function(const struct position *a, const struct position *b)
{
	return cmp_function(a, b) == 0;
}

/* The first instruction row of a function, by binary search in the sorted rows. */
static const struct pc_row *first_row(const struct profile *p, const char *dso_path, const char *fn)
{
	size_t lo = 0, hi = p->npcs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct position *m = &p->pcs[mid].at;
		int c = strcmp(m->dso_path, dso_path);
		if (!c)
			c = strcmp(m->function, fn);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->npcs && strcmp(p->pcs[lo].at.dso_path, dso_path) == 0 &&
	    strcmp(p->pcs[lo].at.function, fn) == 0)
		return &p->pcs[lo];
	return NULL;
}

/* A function's own file: that of its lowest address with line information,
 * else "???", as valgrind writes it (callgrind_annotate then does not try to
 * annotate a DSO as if it were source code). */
static const char *function_file(const struct profile *p, const char *dso_path, const char *fn)
{
	const struct pc_row *r = first_row(p, dso_path, fn);
	for (; r && r < p->pcs + p->npcs && strcmp(r->at.dso_path, dso_path) == 0 &&
	       strcmp(r->at.function, fn) == 0; r++)
		if (r->at.file)
			return r->at.file;
	return "???";
}

/* Switches the cost lines to the file of at: fi= into an inlined file, fe=
 * back to the function's own. */
static void set_file(struct cg_writer *w, const struct position *at)
{
	const char *file = at->file ? at->file : w->fn_file;
	if (strcmp(file, w->file) == 0)
		return;
	put_name(w->out, &w->fls, strcmp(file, w->fn_file) == 0 ? "fe" : "fi", file);
	w->file = file;
}

static void begin_function(struct cg_writer *w, const struct position *at)
{
	fputc('\n', w->out);
	if (!w->ob || strcmp(w->ob, at->dso_path) != 0) {
		put_name(w->out, &w->obs, "ob", at->dso_path);
		w->ob = at->dso_path;
	}
	w->fn_file = w->file = function_file(w->p, at->dso_path, at->function);
	put_name(w->out, &w->fls, "fl", w->fn_file);
	put_name(w->out, &w->fns, "fn", at->function);
}

/* A call: the callee's names, its entry position, then the call site's line. */
static void put_call(struct cg_writer *w, const struct position *site, const struct position *callee,
		     uint64_t calls, uint64_t inclusive)
{
	set_file(w, site);
	if (strcmp(callee->dso_path, w->ob) != 0)
		put_name(w->out, &w->obs, "cob", callee->dso_path);
	const char *file = function_file(w->p, callee->dso_path, callee->function);
	if (strcmp(file, w->file) != 0)
		put_name(w->out, &w->fls, "cfi", file);
	put_name(w->out, &w->fns, "cfn", callee->function);
	const struct pc_row *entry = callee->addr ? NULL :
		first_row(w->p, callee->dso_path, callee->function);
	if (entry) /* entered by a jump: its first address */
		callee = &entry->at;
	fprintf(w->out, "calls=%llu 0x%llx %d\n0x%llx %d %llu\n", (unsigned long long)calls,
		(unsigned long long)callee->addr, callee->line, (unsigned long long)site->addr,
		site->line, (unsigned long long)inclusive);
}

/* Sample mode: the function's callees from the sampled stacks, at its
 * first sampled instruction (at). */
static void put_sampled_calls(struct cg_writer *w, struct cg_graph *g, const struct position *at)
{
	const struct cg_node *f = &g->nodes[cg_node_of(g, at->function, at->dso)];
	for (size_t k = 0; k < f->nout; k++) {
		const struct cg_node *c = &g->nodes[f->out[k].callee];
		struct position callee = { c->name, c->dso, c->dso_path, 0, NULL, 0 };
		put_call(w, at, &callee, f->out[k].calls, f->out[k].inclusive);
	}
}

/* Sample mode: functions never sampled themselves, only below on stacks
 * (main calling the hot code): their calls. */
static void put_unsampled_callers(struct cg_writer *w, struct cg_graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct cg_node *f = &g->nodes[i];
		if (!f->nout || first_row(w->p, f->dso_path, f->name))
			continue;
		struct position at = { f->name, f->dso, f->dso_path, 0, NULL, 0 };
		begin_function(w, &at);
		put_sampled_calls(w, g, &at);
	}
}

/* Which part this is, as callgrind says why it dumped. */
static void put_part(FILE *out, const struct profile *p)
{
	if (!p->part || p->nparts < 2)
		return;
	const struct part_row *r = &p->parts[0];
	for (size_t i = 0; i < p->nparts; i++)
		if (p->parts[i].number == p->part)
			r = &p->parts[i];
	if (r == &p->parts[p->nparts - 1])
		fprintf(out, "desc: Part: %d of %zu, ended by the program's end\n", p->part, p->nparts);
	else
		fprintf(out, "desc: Part: %d of %zu, ended by Client Request%s%s\n", p->part, p->nparts,
			r->name ? ": " : "", r->name ? r->name : ""); /* names have no newlines */
}

static void put_header(FILE *out, const struct profile *p)
{
	fputs("# callgrind format\nversion: 1\n", out);
	fprintf(out, "creator: prof %s\ncmd: ", PROF_VERSION);
	for (const char *s = p->command; *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
	fprintf(out, "\npart: %d\n", p->part ? p->part : 1);
	if (p->sampled)
		fprintf(out, "desc: Trigger: prof sample mode, %u Hz, %s clock%s\n", p->sample_freq,
			p->sample_clock ? p->sample_clock : "cpu",
			p->complete ? "" : " (incomplete recording)");
	else
		fprintf(out, "desc: Trigger: prof %s mode, exact instruction counts%s\n", p->mode,
			p->complete ? "" : " (incomplete recording)");
	if (p->collect)
		fprintf(out, "desc: Collected: only while %s is on the call stack\n", p->collect);
	put_part(out, p);
	fprintf(out, "\npositions: instr line\nevents: %s\nsummary: %llu\n",
		p->sampled ? "Samples" : "Ir", (unsigned long long)p->total);
}

void report_callgrind(FILE *out, const struct profile *p, const struct report_options *o)
{
	struct cg_graph g;
	if (p->sampled)
		cg_build(p, &g);
	put_header(out, p);
	struct cg_writer w = { .out = out, .p = p };
	size_t s = 0; /* sites are sorted as the instructions: merge */
	for (size_t i = 0; i < p->npcs;) {
		const struct pc_row *first = &p->pcs[i];
		begin_function(&w, &first->at);
		while (s < p->nsites && cmp_function(&p->sites[s].site, &first->at) < 0)
			s++; /* never expected: a call site whose function executed nothing */
		for (; i < p->npcs && same_function(&p->pcs[i].at, &first->at); i++) {
			const struct pc_row *r = &p->pcs[i];
			set_file(&w, &r->at);
			fprintf(out, "0x%llx %d %llu\n", (unsigned long long)r->at.addr, r->at.line,
				(unsigned long long)r->count);
			for (; s < p->nsites && same_function(&p->sites[s].site, &first->at) &&
			       p->sites[s].site.addr <= r->at.addr; s++)
				put_call(&w, &p->sites[s].site, &p->sites[s].callee, p->sites[s].calls,
					 p->sites[s].inclusive);
		}
		if (p->sampled)
			put_sampled_calls(&w, &g, &first->at);
	}
	if (p->sampled)
		put_unsampled_callers(&w, &g);
	fprintf(out, "\ntotals: %llu\n", (unsigned long long)p->total);
	names_free(&w.obs);
	names_free(&w.fls);
	names_free(&w.fns);
	if (p->sampled)
		cg_free(&g);
}

int report_callgrind_file(const struct profile *p, const struct report_options *o)
{
	FILE *out = o->output ? fopen(o->output, "w") : stdout;
	if (!out) {
		log_error("cannot write %s: %s", o->output, strerror(errno));
		return -1;
	}
	report_callgrind(out, p, o);
	if (ferror(out) | (o->output ? fclose(out) : fflush(out))) {
		log_error("cannot write %s: %s", o->output ? o->output : "stdout", strerror(errno));
		return -1;
	}
	return 0;
}

/* callgrind.out.PID, PID that of the recording's first process. */
static char *default_prefix(sqlite3 *db)
{
	sqlite3_stmt *st;
	long long pid = 0;
	if (sqlite3_prepare_v2(db, "SELECT pid FROM processes ORDER BY id LIMIT 1", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		pid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return xasprintf("callgrind.out.%lld", pid);
}

/* One part into its file; 0, or -1 after one error line. */
static int write_part(sqlite3 *db, const struct report_options *o, int part, const char *path)
{
	struct report_options one = *o;
	one.filter.part = part;
	one.output = path;
	struct profile p;
	int rc = profile_load(db, &one.filter, &p);
	if (rc == 0)
		rc = profile_load_pcs(db, &one.filter, &p);
	if (rc == 0 && part == 1)
		symbolizer_print_warnings(p.symbolizer);
	if (rc == 0)
		rc = report_callgrind_file(&p, &one);
	profile_free(&p);
	return rc;
}

int report_callgrind_parts(sqlite3 *db, const struct report_options *o)
{
	struct profile all = { 0 };
	if (profile_load_parts(db, &o->filter, &all) != 0) {
		profile_free(&all);
		return -1;
	}
	size_t n = all.nparts;
	int *numbers = xmalloc(n * sizeof *numbers);
	for (size_t i = 0; i < n; i++)
		numbers[i] = all.parts[i].number;
	profile_free(&all);
	int rc = 0;
	if (n > 1) {
		char *prefix = o->output ? xstrdup(o->output) : default_prefix(db);
		for (size_t i = 0; i < n && rc == 0; i++) {
			/* As callgrind: the dumps numbered, the last part under the plain name. */
			char *path = i + 1 < n ? xasprintf("%s.%d", prefix, numbers[i]) : xstrdup(prefix);
			rc = write_part(db, o, numbers[i], path);
			free(path);
		}
		if (rc == 0)
			fprintf(stderr, "prof: %zu parts -> %s.%d ... %s.%d and %s\n", n, prefix, numbers[0],
				prefix, numbers[n - 2], prefix);
		free(prefix);
	}
	free(numbers);
	return rc < 0 ? -1 : n > 1 ? (int)n : 0;
}
