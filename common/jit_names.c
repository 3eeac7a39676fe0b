/* Which JIT name goes with which code. The code at pc in generation g
 * lived from the change that began g until the next change covering pc
 * (generation g'); the last change at or before g that replaced the code
 * (unmapped it, mapped over it) began the life of everything after it.
 * Each entry of the JIT's files is placed on that timeline by its load
 * time (a jitdump's CLOCK_MONOTONIC timestamp, against the time each
 * generation began) or, without one (perf maps), by the process's code
 * clock when prof read it (before each change). The name of the code is
 * the last entry placed during its life; without one, the first placed
 * after it but before the next replacement: a JIT whose file is buffered
 * (V8's jitdump, java's map written at exit) is read late. A change that
 * did not replace the code (mprotect, a write) ends no name's life: the
 * function may still be there. */
#include "jit_names.h"
#include "prof/store.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

struct gen_span {
	uint64_t start, end;
	uint32_t gen;
	bool replaced;
	uint64_t born_ns;        /* CLOCK_MONOTONIC when the change was seen; 0: unknown */
};

struct proc_jit {
	struct jit_symbol *syms;   /* by start, then read order */
	uint64_t *max_end;         /* the largest end among syms[0..i] */
	size_t nsyms;
	struct gen_span *gens;     /* by generation */
	size_t ngens;
};

struct jit_names {
	struct proc_jit *procs;    /* by process row id */
	size_t nprocs;
	char **names;              /* owns the symbol names */
	size_t nnames;
};

static struct proc_jit *proc_of(struct jit_names *jn, uint64_t proc)
{
	if (proc > 1u << 24)
		return NULL;
	if (proc >= jn->nprocs) {
		jn->procs = xrealloc(jn->procs, (proc + 1) * sizeof *jn->procs);
		memset(jn->procs + jn->nprocs, 0, (proc + 1 - jn->nprocs) * sizeof *jn->procs);
		jn->nprocs = proc + 1;
	}
	return &jn->procs[proc];
}

static int cmp_sym(const void *a, const void *b)
{
	const struct jit_symbol *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_gen(const void *a, const void *b)
{
	const struct gen_span *x = a, *y = b;
	return x->gen < y->gen ? -1 : x->gen > y->gen;
}

static int load_symbols(sqlite3 *db, struct jit_names *jn)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT proc, start, size, stamp, name, COALESCE(blob, 0), id,"
			       " COALESCE(load_ns, 0) FROM jit_symbols WHERE size > 0 AND start + size > start",
			       -1, &st, NULL) != SQLITE_OK)
		return store_read_error(db);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proc_jit *pj = proc_of(jn, (uint64_t)sqlite3_column_int64(st, 0));
		const char *name = (const char *)sqlite3_column_text(st, 4);
		if (!pj || !name)
			continue;
		if ((pj->nsyms & (pj->nsyms - 1)) == 0)
			pj->syms = xrealloc(pj->syms, (pj->nsyms ? 2 * pj->nsyms : 1) * sizeof *pj->syms);
		if ((jn->nnames & (jn->nnames - 1)) == 0)
			jn->names = xrealloc(jn->names, (jn->nnames ? 2 * jn->nnames : 1) * sizeof *jn->names);
		jn->names[jn->nnames] = xstrdup(name);
		pj->syms[pj->nsyms++] = (struct jit_symbol){
			(uint64_t)sqlite3_column_int64(st, 1), (uint64_t)sqlite3_column_int64(st, 2),
			(uint32_t)sqlite3_column_int64(st, 3), jn->names[jn->nnames++],
			sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6),
			(uint64_t)sqlite3_column_int64(st, 7) };
	}
	return store_loop_end(st, rc);
}

static int load_gens(sqlite3 *db, struct jit_names *jn)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT proc, gen, start, end, replaced, COALESCE(born_ns, 0)"
			       " FROM code_gens", -1, &st, NULL) != SQLITE_OK)
		return store_read_error(db);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proc_jit *pj = proc_of(jn, (uint64_t)sqlite3_column_int64(st, 0));
		if (!pj)
			continue;
		if ((pj->ngens & (pj->ngens - 1)) == 0)
			pj->gens = xrealloc(pj->gens, (pj->ngens ? 2 * pj->ngens : 1) * sizeof *pj->gens);
		pj->gens[pj->ngens++] = (struct gen_span){ (uint64_t)sqlite3_column_int64(st, 2),
							   (uint64_t)sqlite3_column_int64(st, 3),
							   (uint32_t)sqlite3_column_int64(st, 1),
							   sqlite3_column_int(st, 4) != 0,
							   (uint64_t)sqlite3_column_int64(st, 5) };
	}
	return store_loop_end(st, rc);
}

struct jit_names *jit_names_load(sqlite3 *db)
{
	struct jit_names *jn = xcalloc(1, sizeof *jn);
	if (store_schema_version(db) < 4)
		return jn;
	if (load_symbols(db, jn) != 0 || load_gens(db, jn) != 0) {
		jit_names_free(jn);
		return NULL;
	}
	for (size_t i = 0; i < jn->nprocs; i++) {
		struct proc_jit *pj = &jn->procs[i];
		sort_array(pj->syms, pj->nsyms, sizeof *pj->syms, cmp_sym);
		sort_array(pj->gens, pj->ngens, sizeof *pj->gens, cmp_gen);
		pj->max_end = xmalloc((pj->nsyms ? pj->nsyms : 1) * sizeof *pj->max_end);
		for (size_t k = 0; k < pj->nsyms; k++) {
			uint64_t end = pj->syms[k].start + pj->syms[k].size;
			pj->max_end[k] = k && pj->max_end[k - 1] > end ? pj->max_end[k - 1] : end;
		}
	}
	return jn;
}

void jit_names_free(struct jit_names *jn)
{
	if (!jn)
		return;
	for (size_t i = 0; i < jn->nprocs; i++) {
		free(jn->procs[i].syms);
		free(jn->procs[i].max_end);
		free(jn->procs[i].gens);
	}
	for (size_t i = 0; i < jn->nnames; i++)
		free(jn->names[i]);
	free(jn->names);
	free(jn->procs);
	free(jn);
}

/* The life of the code at pc in generation gen: the generations (and
 * their times) of the change that began it (from: the last replacement),
 * of the change that ended it (until), and of the next replacement
 * (gone). 0 and UINT32_MAX stand for "none". */
struct life {
	uint32_t from, until, gone;
	uint64_t from_ns, until_ns, gone_ns;
};

static struct life life_of(const struct proc_jit *pj, uint64_t pc, uint32_t gen)
{
	struct life l = { 0, UINT32_MAX, UINT32_MAX, 0, UINT64_MAX, UINT64_MAX };
	for (size_t i = 0; i < pj->ngens; i++) { /* by generation */
		const struct gen_span *g = &pj->gens[i];
		if (g->start > pc || pc >= g->end)
			continue;
		uint64_t born = g->born_ns ? g->born_ns : UINT64_MAX;
		if (g->gen <= gen && g->replaced) {
			l.from = g->gen;
			l.from_ns = g->born_ns;
		} else if (g->gen > gen && l.until == UINT32_MAX) {
			l.until = g->gen;
			l.until_ns = born;
		}
		if (g->gen > gen && g->replaced) {
			l.gone = g->gen;
			l.gone_ns = born;
			break;
		}
	}
	return l;
}

enum placed { BEFORE, DURING, AFTER, GONE };

/* Where an entry falls on the code's timeline: by its load time when it
 * has one (and the changes have theirs), else by when it was read. */
static enum placed place(const struct jit_symbol *e, const struct life *l)
{
	if (e->load_ns && (!l->from || l->from_ns) && (l->until == UINT32_MAX || l->until_ns != UINT64_MAX))
		return e->load_ns < l->from_ns ? BEFORE : e->load_ns < l->until_ns ? DURING
		     : e->load_ns < l->gone_ns ? AFTER : GONE;
	return e->stamp < l->from ? BEFORE : e->stamp < l->until ? DURING
	     : e->stamp < l->gone ? AFTER : GONE;
}

static bool read_later(const struct jit_symbol *a, const struct jit_symbol *b)
{
	return a->stamp > b->stamp || (a->stamp == b->stamp && a->id > b->id);
}

const struct jit_symbol *jit_names_lookup(const struct jit_names *jn, uint32_t proc, uint64_t pc,
					  uint32_t gen)
{
	if (proc >= jn->nprocs || !jn->procs[proc].nsyms)
		return NULL;
	const struct proc_jit *pj = &jn->procs[proc];
	size_t lo = 0, hi = pj->nsyms;
	while (lo < hi) { /* past the last entry starting at or below pc */
		size_t mid = lo + (hi - lo) / 2;
		if (pj->syms[mid].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct life l = life_of(pj, pc, gen);
	const struct jit_symbol *during = NULL, *after = NULL;
	for (size_t i = lo; i-- > 0 && pj->max_end[i] > pc;) {
		const struct jit_symbol *e = &pj->syms[i];
		if (pc >= e->start + e->size)
			continue;
		switch (place(e, &l)) {
		case DURING:
			if (!during || read_later(e, during))
				during = e;
			break;
		case AFTER:
			if (!after || read_later(after, e))
				after = e;
			break;
		default:
			break;
		}
	}
	return during ? during : after;
}
