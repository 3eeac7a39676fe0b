#include "recorded_names.h"
#include "prof/store.h"
#include "prof/u64_table.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

struct range {
	uint64_t start, end;
	int64_t bias;
	uint32_t gen;
	size_t func;              /* index into funcs */
};

struct line_row {
	size_t func;
	uint64_t start, end;
	const char *file;
	int line;
};

struct jump_row {
	uint32_t gen;
	uint64_t pc, target;
};

struct proc_names {
	struct range *ranges;     /* by (gen, start) */
	size_t nranges;
	struct jump_row *jumps;   /* by (gen, pc) */
	size_t njumps;
};

struct recorded_names {
	struct recorded_function *funcs;
	size_t nfuncs;
	struct u64_table func_index;   /* function id -> index */
	struct proc_names *procs;
	size_t nprocs;
	struct line_row *lines;   /* by (func, start) */
	size_t nlines;
	char **strings;
	size_t nstrings;
};

static const char *keep(struct recorded_names *rn, const unsigned char *s)
{
	if (!s)
		return NULL;
	if ((rn->nstrings & (rn->nstrings - 1)) == 0)
		rn->strings = xrealloc(rn->strings, (rn->nstrings ? 2 * rn->nstrings : 1) * sizeof *rn->strings);
	return rn->strings[rn->nstrings++] = xstrdup((const char *)s);
}

/* Doubles *v (n elements of size) at powers of two. */
static void *grow(void *v, size_t n, size_t size)
{
	return (n & (n - 1)) == 0 ? xrealloc(v, (n ? 2 * n : 1) * size) : v;
}

static struct proc_names *proc_of(struct recorded_names *rn, uint64_t proc)
{
	if (proc > 1u << 24)
		return NULL;
	if (proc >= rn->nprocs) {
		rn->procs = xrealloc(rn->procs, (proc + 1) * sizeof *rn->procs);
		memset(rn->procs + rn->nprocs, 0, (proc + 1 - rn->nprocs) * sizeof *rn->procs);
		rn->nprocs = proc + 1;
	}
	return &rn->procs[proc];
}

static bool func_index(const struct recorded_names *rn, int64_t id, size_t *i)
{
	uint64_t v;
	if (!u64_table_get(&rn->func_index, (uint64_t)id, &v))
		return false;
	*i = (size_t)v;
	return true;
}

static int load_functions(sqlite3 *db, struct recorded_names *rn)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT id, name, demangled, dso, start, size FROM functions",
			       -1, &st, NULL) != SQLITE_OK)
		return store_read_error(db);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if ((uint64_t)id == UINT64_MAX)
			continue;
		rn->funcs = grow(rn->funcs, rn->nfuncs, sizeof *rn->funcs);
		struct recorded_function *f = &rn->funcs[rn->nfuncs];
		*f = (struct recorded_function){
			.id = id, .name = keep(rn, sqlite3_column_text(st, 1)),
			.demangled = keep(rn, sqlite3_column_text(st, 2)),
			.dso = keep(rn, sqlite3_column_text(st, 3)),
			.has_extent = sqlite3_column_type(st, 4) == SQLITE_INTEGER,
			.start = (uint64_t)sqlite3_column_int64(st, 4),
			.size = (uint64_t)sqlite3_column_int64(st, 5) };
		if (!f->name || !f->dso)
			continue; /* store_open_read refuses these */
		u64_table_put(&rn->func_index, (uint64_t)id, rn->nfuncs++);
	}
	return store_loop_end(st, rc);
}

static int load_ranges(sqlite3 *db, struct recorded_names *rn)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT proc, gen, start, end, function, bias FROM code_ranges"
			       " ORDER BY proc, gen, start", -1, &st, NULL) != SQLITE_OK)
		return store_read_error(db);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proc_names *pn = proc_of(rn, (uint64_t)sqlite3_column_int64(st, 0));
		size_t f;
		if (!pn || !func_index(rn, sqlite3_column_int64(st, 4), &f))
			continue;
		pn->ranges = grow(pn->ranges, pn->nranges, sizeof *pn->ranges);
		pn->ranges[pn->nranges++] = (struct range){
			(uint64_t)sqlite3_column_int64(st, 2), (uint64_t)sqlite3_column_int64(st, 3),
			sqlite3_column_int64(st, 5), (uint32_t)sqlite3_column_int64(st, 1), f };
	}
	return store_loop_end(st, rc);
}

static int load_lines(sqlite3 *db, struct recorded_names *rn)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT l.function, l.start, l.end, s.path, l.line FROM source_lines l"
			       " JOIN source_files s ON s.id = l.file ORDER BY l.function, l.start",
			       -1, &st, NULL) != SQLITE_OK)
		return store_read_error(db);
	/* Each file's path is kept once. */
	struct u64_table files = { 0 };
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t f;
		const unsigned char *path = sqlite3_column_text(st, 3);
		if (!path || !func_index(rn, sqlite3_column_int64(st, 0), &f))
			continue;
		uint64_t h = hash_two_strings((const char *)path, ""), kept;
		if (h == UINT64_MAX)
			h--;
		if (!u64_table_get(&files, h, &kept) || strcmp(rn->strings[kept], (const char *)path)) {
			keep(rn, path);
			kept = rn->nstrings - 1;
			u64_table_put(&files, h, kept);
		}
		rn->lines = grow(rn->lines, rn->nlines, sizeof *rn->lines);
		rn->lines[rn->nlines++] = (struct line_row){ f, (uint64_t)sqlite3_column_int64(st, 1),
							     (uint64_t)sqlite3_column_int64(st, 2),
							     rn->strings[kept], sqlite3_column_int(st, 4) };
	}
	u64_table_clear(&files);
	return store_loop_end(st, rc);
}

static int load_jumps(sqlite3 *db, struct recorded_names *rn)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT proc, gen, pc, target FROM direct_jumps ORDER BY proc, gen, pc",
			       -1, &st, NULL) != SQLITE_OK)
		return store_read_error(db);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct proc_names *pn = proc_of(rn, (uint64_t)sqlite3_column_int64(st, 0));
		if (!pn)
			continue;
		pn->jumps = grow(pn->jumps, pn->njumps, sizeof *pn->jumps);
		pn->jumps[pn->njumps++] = (struct jump_row){ (uint32_t)sqlite3_column_int64(st, 1),
							     (uint64_t)sqlite3_column_int64(st, 2),
							     (uint64_t)sqlite3_column_int64(st, 3) };
	}
	return store_loop_end(st, rc);
}

/* Each function's rows of lines (they are sorted by function). */
static void index_lines(struct recorded_names *rn)
{
	for (size_t i = 0; i < rn->nlines;) {
		size_t f = rn->lines[i].func, k = i;
		while (k < rn->nlines && rn->lines[k].func == f)
			k++;
		if (!rn->funcs[f].nlines) { /* a hostile file may repeat ids: the first rows count */
			rn->funcs[f].first_line = i;
			rn->funcs[f].nlines = k - i;
		}
		i = k;
	}
}

struct recorded_names *recorded_names_load(sqlite3 *db)
{
	struct recorded_names *rn = xcalloc(1, sizeof *rn);
	if (load_functions(db, rn) || load_ranges(db, rn) || load_lines(db, rn) || load_jumps(db, rn)) {
		recorded_names_free(rn);
		return NULL;
	}
	index_lines(rn);
	return rn;
}

void recorded_names_free(struct recorded_names *rn)
{
	if (!rn)
		return;
	for (size_t i = 0; i < rn->nprocs; i++) {
		free(rn->procs[i].ranges);
		free(rn->procs[i].jumps);
	}
	for (size_t i = 0; i < rn->nstrings; i++)
		free(rn->strings[i]);
	free(rn->strings);
	free(rn->procs);
	free(rn->lines);
	free(rn->funcs);
	u64_table_clear(&rn->func_index);
	free(rn);
}

static bool range_before(const struct range *r, uint32_t gen, uint64_t pc)
{
	return r->gen < gen || (r->gen == gen && r->start <= pc);
}

struct recorded_function *recorded_names_lookup(const struct recorded_names *rn, uint32_t proc,
						uint64_t pc, uint32_t gen, int64_t *bias)
{
	if (proc >= rn->nprocs)
		return NULL;
	const struct proc_names *pn = &rn->procs[proc];
	size_t lo = 0, hi = pn->nranges;
	while (lo < hi) { /* past the last range at or before (gen, pc) */
		size_t mid = lo + (hi - lo) / 2;
		if (range_before(&pn->ranges[mid], gen, pc))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct range *r = &pn->ranges[lo - 1];
	if (r->gen != gen || pc >= r->end)
		return NULL;
	*bias = r->bias;
	return &rn->funcs[r->func];
}

size_t recorded_names_count(const struct recorded_names *rn)
{
	return rn->nfuncs;
}

struct recorded_function *recorded_names_at(const struct recorded_names *rn, size_t i)
{
	return &rn->funcs[i];
}

bool recorded_names_line(const struct recorded_names *rn, const struct recorded_function *f,
			 uint64_t vaddr, const char **file, int *line)
{
	const struct line_row *v = rn->lines + f->first_line;
	size_t lo = 0, hi = f->nlines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || vaddr >= v[lo - 1].end)
		return false;
	*file = v[lo - 1].file;
	*line = v[lo - 1].line;
	return true;
}

bool recorded_names_jump(const struct recorded_names *rn, uint32_t proc, uint64_t pc, uint32_t gen,
			 uint64_t *target)
{
	if (proc >= rn->nprocs)
		return false;
	const struct proc_names *pn = &rn->procs[proc];
	size_t lo = 0, hi = pn->njumps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct jump_row *j = &pn->jumps[mid];
		if (j->gen < gen || (j->gen == gen && j->pc < pc))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == pn->njumps || pn->jumps[lo].gen != gen || pn->jumps[lo].pc != pc)
		return false;
	*target = pn->jumps[lo].target;
	return true;
}

bool recorded_names_where(const struct recorded_names *rn, const struct recorded_function *f,
			  uint32_t *proc, uint32_t *gen, uint64_t *runtime_start)
{
	size_t fi = (size_t)(f - rn->funcs);
	for (size_t p = 0; p < rn->nprocs; p++)
		for (size_t i = 0; i < rn->procs[p].nranges; i++) {
			const struct range *r = &rn->procs[p].ranges[i];
			if (r->func != fi)
				continue;
			*proc = (uint32_t)p;
			*gen = r->gen;
			*runtime_start = (f->has_extent ? f->start : r->start) + (uint64_t)r->bias;
			return true;
		}
	return false;
}
