/* Aggregation of one recording: SQL sums what it can, symbolization groups
 * PCs into functions and DSOs. */
#include "prof/profile.h"
#include "prof/log.h"
#include "prof/store.h"
#include "prof/symbolize.h"
#include "prof/syscall_names.h"
#include "prof/util.h"
#include "profile_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_func(const void *a, const void *b)
{
	const struct func_row *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->dso, y->dso);
}

sqlite3_stmt *profile_query(sqlite3 *db, const char *sql, const struct profile_filter *f)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_read_error(db);
		return NULL;
	}
	if (sqlite3_bind_parameter_count(st) >= 2) {
		sqlite3_bind_int(st, 1, f->pid);
		sqlite3_bind_int(st, 2, f->tid);
	}
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int(st, 3, f->part);
	return st;
}

static int load_insns(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	sqlite3_stmt *st = profile_query(db, "SELECT t.proc, x.pc, x.class, x.count, x.gen FROM insns x"
					 PROFILE_PART_FILTER_JOIN, f);
	if (!st)
		return -1;
	struct row_index funcs = { .rows = &p->funcs, .n = &p->nfuncs };
	struct row_index dsos = { .rows = &p->dsos, .n = &p->ndsos };
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t proc = (uint32_t)sqlite3_column_int64(st, 0);
		uint64_t pc = (uint64_t)sqlite3_column_int64(st, 1);
		unsigned cls = (unsigned)sqlite3_column_int(st, 2);
		uint64_t count = (uint64_t)sqlite3_column_int64(st, 3);
		if (cls >= CLASS_COUNT) /* store_open_read refuses these */
			cls = CLASS_OTHER;
		struct symbol_ref ref;
		symbolizer_resolve(p->symbolizer, proc, pc, (uint32_t)sqlite3_column_int64(st, 4), &ref);
		struct func_row *fr = profile_index_get(&funcs, ref.function, ref.dso);
		if (!fr->dso_path)
			fr->dso_path = ref.dso_path;
		fr->count += count;
		fr->classes[cls] += count;
		struct func_row *dr = profile_index_get(&dsos, ref.dso, "");
		dr->count += count;
		dr->classes[cls] += count;
		p->total += count;
		p->classes[cls] += count;
	}
	profile_index_free(&funcs);
	profile_index_free(&dsos);
	if (store_loop_end(st, rc) != 0)
		return -1;
	sort_array(p->funcs, p->nfuncs, sizeof *p->funcs, cmp_func);
	sort_array(p->dsos, p->ndsos, sizeof *p->dsos, cmp_func);
	return 0;
}

static int load_syscalls(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	sqlite3_stmt *st = profile_query(db,
		"SELECT x.nr, COUNT(*), SUM(x.ret < 0 AND x.ret >= -4095),"
		" SUM(COALESCE(x.end_ns - x.start_ns, 0)) FROM syscalls x" PROFILE_PART_FILTER_JOIN
		" GROUP BY x.nr ORDER BY 4 DESC, 2 DESC, 1", f);
	if (!st)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p->sys = xrealloc(p->sys, (p->nsys + 1) * sizeof *p->sys);
		struct syscall_row *r = &p->sys[p->nsys++];
		char buf[24];
		r->nr = sqlite3_column_int64(st, 0);
		r->name = syscall_name(r->nr, buf);
		if (r->name == buf) {
			p->pool = xrealloc(p->pool, (p->npool + 1) * sizeof *p->pool);
			r->name = p->pool[p->npool++] = xstrdup(buf);
		}
		r->calls = (uint64_t)sqlite3_column_int64(st, 1);
		r->errors = (uint64_t)sqlite3_column_int64(st, 2);
		r->seconds = (double)sqlite3_column_int64(st, 3) / 1e9;
	}
	return store_loop_end(st, rc);
}

static int load_threads(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	sqlite3_stmt *st = profile_query(db,
		"SELECT t.tid, p.pid, t.name, (SELECT COALESCE(SUM(count), 0) FROM insns i"
		" WHERE i.thread = t.id AND (?3 = 0 OR i.part = ?3)) FROM threads t"
		" JOIN processes p ON p.id = t.proc"
		" WHERE (?1 = 0 OR p.pid = ?1) AND (?2 = 0 OR t.tid = ?2) ORDER BY 4 DESC, t.id", f);
	if (!st)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p->threads = xrealloc(p->threads, (p->nthreads + 1) * sizeof *p->threads);
		struct thread_row *r = &p->threads[p->nthreads++];
		r->tid = sqlite3_column_int(st, 0);
		r->pid = sqlite3_column_int(st, 1);
		r->name = xstrdup((const char *)sqlite3_column_text(st, 2));
		r->count = (uint64_t)sqlite3_column_int64(st, 3);
	}
	return store_loop_end(st, rc);
}

struct edge_row *profile_edge(struct profile *p, const char *caller, const char *caller_dso,
			     const char *callee, const char *callee_dso)
{
	for (size_t i = 0; i < p->nedges; i++) {
		struct edge_row *e = &p->edges[i];
		if (strcmp(e->caller, caller) == 0 && strcmp(e->caller_dso, caller_dso) == 0 &&
		    strcmp(e->callee, callee) == 0 && strcmp(e->callee_dso, callee_dso) == 0)
			return e;
	}
	p->edges = xrealloc(p->edges, (p->nedges + 1) * sizeof *p->edges);
	struct edge_row *e = &p->edges[p->nedges++];
	*e = (struct edge_row){ caller, caller_dso, callee, callee_dso, 0, 0 };
	return e;
}

static struct edge_row *find_edge(struct profile *p, const struct symbol_ref *from,
				  const struct symbol_ref *to)
{
	return profile_edge(p, from->function, from->dso, to->function, to->dso);
}

/* The edge from "[root]" to a thread's first function (kept apart from edges). */
static struct edge_row *find_root(struct profile *p, const struct symbol_ref *to)
{
	for (size_t i = 0; i < p->nroots; i++)
		if (strcmp(p->roots[i].callee, to->function) == 0 &&
		    strcmp(p->roots[i].callee_dso, to->dso) == 0)
			return &p->roots[i];
	p->roots = xrealloc(p->roots, (p->nroots + 1) * sizeof *p->roots);
	struct edge_row *e = &p->roots[p->nroots++];
	*e = (struct edge_row){ "[root]", "", to->function, to->dso, 0, 0 };
	return e;
}

static int cmp_edge(const void *a, const void *b)
{
	const struct edge_row *x = a, *y = b;
	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return x->inclusive > y->inclusive ? -1 : x->inclusive < y->inclusive;
}

/* A function no frame was opened for (a program's _start, entered from
 * ld.so by an indirect jump): everything it called ran inside it. */
static void add_frameless(struct profile *p, struct row_index *funcs, const bool *entered)
{
	for (size_t i = 0; i < p->nfuncs; i++)
		if (!entered[i])
			p->funcs[i].inclusive = p->funcs[i].count;
	for (size_t i = 0; i < p->nedges; i++) {
		const struct edge_row *e = &p->edges[i];
		struct func_row *from = profile_index_find(funcs, e->caller, e->caller_dso);
		if (from && !entered[from - p->funcs] &&
		    (strcmp(e->callee, e->caller) != 0 || strcmp(e->callee_dso, e->caller_dso) != 0))
			from->inclusive += e->inclusive;
	}
}

/* Inclusive counts and function-to-function edges from the recorded arcs. */
static int load_arcs(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	sqlite3_stmt *st = profile_query(db,
		"SELECT t.proc, x.caller_pc, x.callee_pc, x.calls, x.inclusive, x.outer_inclusive,"
		" x.caller_gen, x.callee_gen FROM arcs x" PROFILE_PART_FILTER_JOIN, f);
	if (!st)
		return -1;
	static const struct symbol_ref root = { .function = "[root]", .dso = "", .dso_path = "" };
	struct row_index funcs = { .rows = &p->funcs, .n = &p->nfuncs };
	profile_index_build(&funcs);
	bool *entered = xcalloc(p->nfuncs + 1, sizeof *entered);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t proc = (uint32_t)sqlite3_column_int64(st, 0);
		struct symbol_ref from = root, to;
		uint64_t caller = (uint64_t)sqlite3_column_int64(st, 1);
		if (caller)
			symbolizer_resolve(p->symbolizer, proc, caller, (uint32_t)sqlite3_column_int64(st, 6),
					   &from);
		symbolizer_resolve(p->symbolizer, proc, (uint64_t)sqlite3_column_int64(st, 2),
				   (uint32_t)sqlite3_column_int64(st, 7), &to);
		struct func_row *fr = profile_index_find(&funcs, to.function, to.dso);
		if (fr) {
			fr->inclusive += (uint64_t)sqlite3_column_int64(st, 5);
			entered[fr - p->funcs] = true;
		}
		struct edge_row *e = caller ? find_edge(p, &from, &to) : find_root(p, &to);
		e->calls += (uint64_t)sqlite3_column_int64(st, 3);
		e->inclusive += (uint64_t)sqlite3_column_int64(st, 4);
		p->has_call_graph = true;
	}
	if (p->jump_frames)
		add_frameless(p, &funcs, entered);
	profile_index_free(&funcs);
	free(entered);
	if (store_loop_end(st, rc) != 0)
		return -1;
	/* Recordings made before jump frames existed: estimate what functions
	 * entered by a jump cost from the jumps executed. */
	if (p->has_call_graph && !p->jump_frames)
		profile_add_jumps(db, f, p);
	/* A function entered by a jump this could not follow runs inside its
	 * caller's frame: its own instructions are still part of its inclusive count. */
	for (size_t i = 0; i < p->nfuncs && p->has_call_graph; i++)
		if (p->funcs[i].inclusive < p->funcs[i].count)
			p->funcs[i].inclusive = p->funcs[i].count;
	sort_array(p->edges, p->nedges, sizeof *p->edges, cmp_edge);
	sort_array(p->roots, p->nroots, sizeof *p->roots, cmp_edge);
	return 0;
}

/* Returns 0, or -1 after one error line. */
static int load_meta(sqlite3 *db, struct profile *p)
{
	bool failed = false;
	p->mode = store_get_meta(db, "mode", &failed);
	p->command = store_get_meta(db, "command", &failed);
	p->state = store_get_meta(db, "state", &failed);
	if (!p->mode)
		p->mode = xstrdup("?");
	if (!p->command)
		p->command = xstrdup("?");
	if (!p->state)
		p->state = xstrdup("incomplete");
	p->complete = strcmp(p->state, "complete") == 0;
	char *wall = store_get_meta(db, "wall_ns", &failed);
	p->wall_seconds = wall ? (double)strtoull(wall, NULL, 10) / 1e9 : 0;
	free(wall);
	p->sampled = strcmp(p->mode, "sample") == 0;
	char *freq = store_get_meta(db, "sample_freq", &failed);
	p->sample_freq = freq ? (unsigned)atoi(freq) : 0;
	free(freq);
	p->sample_clock = store_get_meta(db, "sample_clock", &failed);
	p->collect = store_get_meta(db, "collect", &failed);
	p->killed_by = store_get_meta(db, "killed_by", &failed);
	char *jump_frames = store_get_meta(db, "jump_frames", &failed);
	p->jump_frames = jump_frames && strcmp(jump_frames, "1") == 0;
	free(jump_frames);
	p->lost = store_get_meta(db, "lost", &failed);
	for (const char *s = p->lost; s && *s;) { /* "KIND N, KIND N" */
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *num = s + len;
		while (num > s && num[-1] >= '0' && num[-1] <= '9')
			num--;
		p->nlost += strtoull(num, NULL, 10);
		s = end ? end + 2 : s + len;
	}
	struct profile_cpu *c = &p->cpu;
	c->model = store_get_meta(db, "cpu_model", &failed);
	c->host_vendor = store_get_meta(db, "cpu_host_vendor", &failed);
	c->host_name = store_get_meta(db, "cpu_host_name", &failed);
	c->host_level = store_get_meta(db, "cpu_host_level", &failed);
	c->host_features = store_get_meta(db, "cpu_host_features", &failed);
	c->interception = store_get_meta(db, "cpu_interception", &failed);
	c->aslr = store_get_meta(db, "aslr", &failed);
	c->environment = store_get_meta(db, "environment", &failed);
	return failed ? -1 : 0;
}

char *profile_cpu_seen(const struct profile_cpu *c)
{
	if (!c->model)
		return NULL;
	if (strcmp(c->model, "host") != 0)
		return xstrdup(c->model);
	return xasprintf("the host's %s (%s, %s)", c->host_name && *c->host_name ? c->host_name : "CPU",
			 c->host_vendor ? c->host_vendor : "?", c->host_level ? c->host_level : "?");
}

/* Sample mode: a function's inclusive samples are those whose stack holds it
 * (once, however deep the recursion); caller -> callee edges count the
 * samples taken below each adjacent pair of frames. */
struct stack_node {
	uint64_t parent, pc;
};

/* Returns 0, or -1 after one error line. */
static int load_stack_nodes(sqlite3 *db, struct stack_node **out, size_t *n)
{
	*n = 0;
	*out = NULL;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT id, parent, pc FROM stacks ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return store_read_error(db);
	struct stack_node *nodes = NULL;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t id = (size_t)sqlite3_column_int64(st, 0);
		if (id >= cap) {
			size_t ncap = cap ? cap : 1024;
			while (ncap <= id)
				ncap *= 2;
			nodes = xrealloc(nodes, ncap * sizeof *nodes);
			memset(nodes + cap, 0, (ncap - cap) * sizeof *nodes);
			cap = ncap;
		}
		nodes[id] = (struct stack_node){ (uint64_t)sqlite3_column_int64(st, 1),
						 (uint64_t)sqlite3_column_int64(st, 2) };
		if (id + 1 > *n)
			*n = id + 1;
	}
	*out = nodes;
	return store_loop_end(st, rc);
}

#define MAX_STACK_FUNCS 128

static void add_stack(struct profile *p, struct row_index *funcs, uint32_t proc,
		      const struct stack_node *nodes, size_t nn, uint64_t leaf, uint64_t count)
{
	struct symbol_ref refs[MAX_STACK_FUNCS];
	size_t depth = 0;
	for (uint64_t id = leaf; id && id < nn && depth < MAX_STACK_FUNCS; id = nodes[id].parent)
		symbolizer_resolve(p->symbolizer, proc, nodes[id].pc, 0, &refs[depth++]);
	if (depth) { /* kept whole for the folded stacks and flame graph exports */
		if ((p->nstacks & (p->nstacks - 1)) == 0) /* 0, 1, 2, 4...: double */
			p->stacks = xrealloc(p->stacks, (p->nstacks ? 2 * p->nstacks : 1) * sizeof *p->stacks);
		struct stack_row *sr = &p->stacks[p->nstacks++];
		*sr = (struct stack_row){ xmalloc(depth * sizeof *sr->names),
					  xmalloc(depth * sizeof *sr->dsos), depth, count };
		for (size_t i = 0; i < depth; i++) {
			sr->names[i] = refs[depth - 1 - i].function;
			sr->dsos[i] = refs[depth - 1 - i].dso;
		}
	}
	for (size_t i = 0; i < depth; i++) {
		bool seen = false; /* recursion: a function counts once per sample */
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(refs[k].function, refs[i].function) == 0 &&
			       strcmp(refs[k].dso, refs[i].dso) == 0;
		if (!seen) {
			/* A function only ever on stacks, never at the top, gets a row
			 * with no samples of its own. */
			struct func_row *fr = profile_index_get(funcs, refs[i].function, refs[i].dso);
			if (!fr->dso_path)
				fr->dso_path = refs[i].dso_path;
			fr->inclusive += count;
		}
		if (i + 1 < depth) {
			struct edge_row *e = find_edge(p, &refs[i + 1], &refs[i]);
			e->calls += count;
			e->inclusive += count;
		}
	}
}

static int load_samples(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	size_t nn;
	struct stack_node *nodes;
	if (load_stack_nodes(db, &nodes, &nn) != 0) {
		free(nodes);
		return -1;
	}
	sqlite3_stmt *st = profile_query(db, "SELECT t.proc, x.stack, x.count FROM samples x" PROFILE_FILTER_JOIN, f);
	if (!st) {
		free(nodes);
		return -1;
	}
	struct row_index funcs = { .rows = &p->funcs, .n = &p->nfuncs };
	profile_index_build(&funcs);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		add_stack(p, &funcs, (uint32_t)sqlite3_column_int64(st, 0), nodes, nn,
			  (uint64_t)sqlite3_column_int64(st, 1), (uint64_t)sqlite3_column_int64(st, 2));
		p->has_call_graph = true;
	}
	profile_index_free(&funcs);
	free(nodes);
	if (store_loop_end(st, rc) != 0)
		return -1;
	sort_array(p->funcs, p->nfuncs, sizeof *p->funcs, cmp_func);
	sort_array(p->edges, p->nedges, sizeof *p->edges, cmp_edge);
	return 0;
}

/* Every part (parts that hold counts but no row yet: an interrupted
 * recording's last), with its count under the pid and tid filters. */
int profile_load_parts(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	sqlite3_stmt *st = profile_query(db,
		"WITH n AS (SELECT id AS part FROM parts UNION SELECT DISTINCT part FROM insns),"
		" c AS (SELECT x.part, SUM(x.count) AS count FROM insns x" PROFILE_FILTER_JOIN
		" GROUP BY x.part)"
		" SELECT n.part, (SELECT name FROM parts WHERE id = n.part), COALESCE(c.count, 0)"
		" FROM n LEFT JOIN c ON c.part = n.part ORDER BY n.part", f);
	if (!st)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p->parts = xrealloc(p->parts, (p->nparts + 1) * sizeof *p->parts);
		struct part_row *r = &p->parts[p->nparts++];
		r->number = sqlite3_column_int(st, 0);
		r->name = NULL;
		if (sqlite3_column_text(st, 1)) {
			p->pool = xrealloc(p->pool, (p->npool + 1) * sizeof *p->pool);
			r->name = p->pool[p->npool++] = xstrdup((const char *)sqlite3_column_text(st, 1));
		}
		r->count = (uint64_t)sqlite3_column_int64(st, 2);
	}
	if (store_loop_end(st, rc) != 0)
		return -1;
	if (!p->nparts) { /* nothing counted, no part ended: the run is one part */
		p->parts = xcalloc(1, sizeof *p->parts);
		p->parts[0].number = p->nparts = 1;
	}
	return 0;
}

const char *profile_part_label(const struct part_row *r, char *buf, size_t len)
{
	if (r->name)
		return r->name;
	snprintf(buf, len, "%d", r->number);
	return buf;
}

int profile_find_part(sqlite3 *db, const char *arg, char *err, size_t errlen)
{
	struct profile p = { 0 };
	struct profile_filter all = { 0 };
	if (profile_load_parts(db, &all, &p) != 0) {
		profile_free(&p);
		return -1;
	}
	int found = 0;
	for (size_t i = 0; i < p.nparts && !found; i++) /* a name first, then a number */
		if (p.parts[i].name && strcmp(p.parts[i].name, arg) == 0)
			found = p.parts[i].number;
	char *end;
	long n = strtol(arg, &end, 10);
	for (size_t i = 0; i < p.nparts && !found && *arg && !*end; i++)
		if (p.parts[i].number == n)
			found = (int)n;
	if (!found) {
		size_t used = (size_t)snprintf(err, errlen, "no part '%s' (parts:", arg);
		for (size_t i = 0; i < p.nparts && used < errlen; i++) {
			char num[16];
			const char *label = profile_part_label(&p.parts[i], num, sizeof num);
			used += (size_t)snprintf(err + used, errlen - used, p.parts[i].name ? " %d %s" : " %d",
						 p.parts[i].number, label);
		}
		if (used < errlen)
			snprintf(err + used, errlen - used, ")");
	}
	profile_free(&p);
	return found;
}

int profile_load(sqlite3 *db, const struct profile_filter *filter, struct profile *p)
{
	memset(p, 0, sizeof *p);
	if (load_meta(db, p) != 0)
		return -1;
	p->part = filter->part;
	if (profile_load_parts(db, filter, p) != 0)
		return -1;
	p->symbolizer = symbolizer_new(db);
	if (!p->symbolizer)
		return -1;
	symbolizer_set_demangle(p->symbolizer, !filter->no_demangle);
	if (load_insns(db, filter, p) ||
	    (p->sampled ? load_samples(db, filter, p) : load_arcs(db, filter, p)) ||
	    load_syscalls(db, filter, p) ||
	    load_threads(db, filter, p))
		return -1;
	return 0;
}

void profile_free(struct profile *p)
{
	free(p->mode);
	free(p->sample_clock);
	free(p->collect);
	free(p->killed_by);
	free(p->lost);
	struct profile_cpu *c = &p->cpu;
	free(c->model);
	free(c->host_vendor);
	free(c->host_name);
	free(c->host_level);
	free(c->host_features);
	free(c->interception);
	free(c->aslr);
	free(c->environment);
	free(p->command);
	free(p->state);
	free(p->funcs);
	free(p->dsos);
	free(p->edges);
	free(p->lines);
	free(p->pcs);
	free(p->sites);
	free(p->jumps);
	free(p->roots);
	for (size_t i = 0; i < p->nstacks; i++) {
		free(p->stacks[i].names);
		free(p->stacks[i].dsos);
	}
	free(p->stacks);
	free(p->sys);
	for (size_t i = 0; i < p->nthreads; i++)
		free(p->threads[i].name);
	free(p->threads);
	free(p->parts);
	for (size_t i = 0; i < p->npool; i++)
		free(p->pool[i]);
	free(p->pool);
	symbolizer_free(p->symbolizer);
}

static int strcmp_null(const char *a, const char *b)
{
	return a == b ? 0 : !a ? 1 : !b ? -1 : strcmp(a, b);
}

static int cmp_line_key(const void *a, const void *b)
{
	const struct line_row *x = a, *y = b;
	int c = strcmp_null(x->file, y->file);
	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	c = strcmp(x->function, y->function);
	return c ? c : strcmp(x->dso, y->dso);
}

static int cmp_line_count(const void *a, const void *b)
{
	const struct line_row *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return cmp_line_key(a, b);
}

/* Every recorded pc: its function and its DWARF source line; rows are
 * (file, line, function, dso), code without line information one row per
 * function with file NULL. */
int profile_load_lines(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	sqlite3_stmt *st = profile_query(db, "SELECT t.proc, x.pc, SUM(x.count), x.gen FROM insns x"
					 PROFILE_PART_FILTER_JOIN " GROUP BY t.proc, x.pc, x.gen", f);
	if (!st)
		return -1;
	size_t n = 0, cap = 0;
	struct line_row *rows = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t proc = (uint32_t)sqlite3_column_int64(st, 0);
		uint64_t pc = (uint64_t)sqlite3_column_int64(st, 1);
		struct symbol_ref ref;
		symbolizer_resolve(p->symbolizer, proc, pc, (uint32_t)sqlite3_column_int64(st, 3), &ref);
		struct line_row r = { NULL, 0, ref.function, ref.dso,
				      (uint64_t)sqlite3_column_int64(st, 2) };
		if (!symbolizer_ref_line(p->symbolizer, &ref, &r.file, &r.line)) {
			r.file = NULL;
			r.line = 0;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			rows = xrealloc(rows, cap * sizeof *rows);
		}
		rows[n++] = r;
	}
	if (store_loop_end(st, rc) != 0) {
		free(rows);
		return -1;
	}
	sort_array(rows, n, sizeof *rows, cmp_line_key);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && cmp_line_key(&rows[w - 1], &rows[i]) == 0)
			rows[w - 1].count += rows[i].count;
		else
			rows[w++] = rows[i];
	}
	sort_array(rows, w, sizeof *rows, cmp_line_count);
	free(p->lines);
	p->lines = rows;
	p->nlines = w;
	return 0;
}
