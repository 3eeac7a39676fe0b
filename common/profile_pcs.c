/* Per-instruction counts and per-call-site arcs of a recording, each pc
 * resolved to its function, link-time address and source line. Processes
 * that ran the same DSO add up at the same address. */
#include "prof/profile.h"
#include "prof/log.h"
#include "prof/symbolize.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

static void resolve(struct symbolizer *s, uint32_t proc, uint64_t pc, uint32_t gen,
		    struct position *at)
{
	struct symbol_ref ref;
	symbolizer_resolve(s, proc, pc, gen, &ref);
	*at = (struct position){ ref.function, ref.dso, ref.dso_path, ref.vaddr, NULL, 0 };
	if (!symbolizer_ref_line(s, &ref, &at->file, &at->line)) {
		at->file = NULL;
		at->line = 0;
	}
}

static int cmp_position(const struct position *x, const struct position *y)
{
	int c = strcmp(x->dso_path, y->dso_path);
	if (c)
		return c;
	if ((c = strcmp(x->function, y->function)))
		return c;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_pc(const void *a, const void *b)
{
	return cmp_position(&((const struct pc_row *)a)->at, &((const struct pc_row *)b)->at);
}

static int cmp_site(const void *a, const void *b)
{
	const struct site_row *x = a, *y = b;
	int c = cmp_position(&x->site, &y->site);
	return c ? c : cmp_position(&x->callee, &y->callee);
}

/* Appends a zeroed row to *v (n rows, room for *cap). */
static void *push_row(void *v, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		v = xrealloc(v, *cap * size);
	}
	memset((char *)v + *n * size, 0, size);
	++*n;
	return v;
}

static int load_pc_rows(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	sqlite3_stmt *st = profile_query(db, "SELECT t.proc, x.pc, SUM(x.count), x.gen FROM insns x"
					 PROFILE_PART_FILTER_JOIN " GROUP BY t.proc, x.pc, x.gen", f);
	if (!st)
		return -1;
	size_t n = 0, cap = 0;
	struct pc_row *rows = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows = push_row(rows, &n, &cap, sizeof *rows);
		struct pc_row *r = &rows[n - 1];
		resolve(p->symbolizer, (uint32_t)sqlite3_column_int64(st, 0),
			(uint64_t)sqlite3_column_int64(st, 1), (uint32_t)sqlite3_column_int64(st, 3), &r->at);
		r->count = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	sort_array(rows, n, sizeof *rows, cmp_pc);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && cmp_pc(&rows[w - 1], &rows[i]) == 0)
			rows[w - 1].count += rows[i].count;
		else
			rows[w++] = rows[i];
	}
	p->pcs = rows;
	p->npcs = w;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int load_site_rows(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	sqlite3_stmt *st = profile_query(db, "SELECT t.proc, x.caller_pc, x.callee_pc, SUM(x.calls),"
					 " SUM(x.inclusive), x.caller_gen, x.callee_gen FROM arcs x"
					 PROFILE_PART_FILTER_JOIN " AND x.caller_pc != 0"
					 " GROUP BY t.proc, x.caller_pc, x.caller_gen, x.callee_pc, x.callee_gen", f);
	if (!st)
		return -1;
	size_t n = 0, cap = 0;
	struct site_row *rows = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t proc = (uint32_t)sqlite3_column_int64(st, 0);
		rows = push_row(rows, &n, &cap, sizeof *rows);
		struct site_row *r = &rows[n - 1];
		resolve(p->symbolizer, proc, (uint64_t)sqlite3_column_int64(st, 1),
			(uint32_t)sqlite3_column_int64(st, 5), &r->site);
		resolve(p->symbolizer, proc, (uint64_t)sqlite3_column_int64(st, 2),
			(uint32_t)sqlite3_column_int64(st, 6), &r->callee);
		r->calls = (uint64_t)sqlite3_column_int64(st, 3);
		r->inclusive = (uint64_t)sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	/* Jumps counted as calls: at the jump; the callee's entry is left to
	 * the exporter (address 0), the target of a PLT stub being known by name. */
	for (size_t i = 0; i < p->njumps; i++) {
		const struct jump_row *jr = &p->jumps[i];
		rows = push_row(rows, &n, &cap, sizeof *rows);
		struct site_row *r = &rows[n - 1];
		resolve(p->symbolizer, jr->proc, jr->site_pc, jr->site_gen, &r->site);
		r->callee = (struct position){ jr->callee, jr->callee_dso, jr->callee_path, 0, NULL, 0 };
		r->calls = jr->calls;
		r->inclusive = jr->inclusive;
	}
	sort_array(rows, n, sizeof *rows, cmp_site);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && cmp_site(&rows[w - 1], &rows[i]) == 0) {
			rows[w - 1].calls += rows[i].calls;
			rows[w - 1].inclusive += rows[i].inclusive;
		} else {
			rows[w++] = rows[i];
		}
	}
	p->sites = rows;
	p->nsites = w;
	return rc == SQLITE_DONE ? 0 : -1;
}

int profile_load_pcs(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	free(p->pcs);
	free(p->sites);
	p->pcs = NULL;
	p->sites = NULL;
	p->npcs = p->nsites = 0;
	if (load_pc_rows(db, f, p) != 0 || (!p->sampled && load_site_rows(db, f, p) != 0)) {
		log_error("database: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}
