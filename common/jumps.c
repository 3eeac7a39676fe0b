/* Functions entered by a jump. A tail call (`jmp other`) or a PLT stub
 * (`jmp *GOT`) enters a function without a call: the shadow call stack
 * keeps the jumping function's frame open, so the arcs charge what the
 * jumped-to function does to the jumper's caller correctly, but the
 * jumped-to function itself has no incoming arc: its inclusive count would
 * be its own instructions only, and the folded stacks would show it as a
 * root of its own. As callgrind does, such a function is counted as called
 * from the function that jumped:
 *
 * - the jumps are found in the executed code: every executed unconditional
 *   direct `jmp` to the first instruction of another function; a
 *   `name@plt` stub's indirect jump goes to the function `name` (see
 *   stub_target), and its lazy-binding path (the direct jump to the PLT's
 *   first entry, `.plt`) on to ld.so's resolver, _dl_runtime_resolve*,
 *   that jumps on to `name`;
 * - a function entered only by jumps has as inclusive count its own
 *   instructions, its calls' inclusive counts and what it jumps to in turn;
 *   one that is also called gets, per jump, the average inclusive count of
 *   its calls;
 * - that inclusive count is shared among the functions that jumped to it in
 *   proportion to their jumps, and becomes the edge from each of them;
 * - the resolver's part of a called PLT stub is what the stub's calls
 *   executed beyond the stub itself and its other targets (exact per stub,
 *   where those targets are known).
 *
 * Conditional jumps and indirect jumps other than PLT stubs' are not
 * followed (their targets are unknown here): a function entered only that
 * way (a program's _start, entered from ld.so) stays a root of the call
 * graph, with the inclusive count of a function entered only by jumps. */
#include "profile_index.h"
#include "prof/classes.h"
#include "prof/branch.h"
#include "prof/elf_file.h"
#include "prof/symbolize.h"
#include "prof/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESOLVER_PREFIX "_dl_runtime_resolve"

struct jump {
	size_t from, to;      /* function rows */
	uint64_t count;
	bool rest;            /* to the lazy-binding resolver: the jumper's remainder */
	uint64_t inclusive;   /* what the jumps carried (weigh_jumps) */
	uint32_t proc, gen;   /* one of the jump instructions */
	uint64_t site;
};

struct jnode {
	uint64_t calls_in;    /* calls into the function (roots included), not from itself */
	bool entered;         /* ... or a call under way when the part ended (no call counted) */
	uint64_t calls_out;   /* inclusive count of its calls to other functions */
	uint64_t jumps_in;
	uint64_t jumped;      /* inclusive count of its activations entered by a jump */
	uint8_t state;        /* 0 not computed, 1 in progress (a cycle), 2 done */
};

struct jumps {
	struct profile *p;
	struct row_index ix;
	struct jump *v;
	size_t n, cap;
	struct jnode *nodes;  /* one per p->funcs */
	struct classifier *cls;
	uint32_t at_proc, at_gen;   /* the jump instruction being looked at */
	uint64_t at_pc;
	size_t fd_dso;        /* the DSO whose file fd is open (0: none) */
	int fd;
};

static void add_jump(struct jumps *j, const struct func_row *from, const struct func_row *to,
		     uint64_t count, bool rest)
{
	if (!from || !to || from == to || !count)
		return;
	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 64;
		j->v = xrealloc(j->v, j->cap * sizeof *j->v);
	}
	j->v[j->n++] = (struct jump){ (size_t)(from - j->p->funcs), (size_t)(to - j->p->funcs),
				      count, rest, 0, j->at_proc, j->at_gen, j->at_pc };
}

/* Reads the instruction bytes at a link-time address of a DSO. */
static size_t read_code(struct jumps *j, size_t dso_id, uint64_t vaddr, uint8_t *buf, size_t len)
{
	struct elf_file *ef = symbolizer_dso_elf(j->p->symbolizer, dso_id);
	uint64_t off;
	if (!ef || !elf_file_vaddr_to_offset(ef, vaddr, &off))
		return 0;
	if (j->fd_dso != dso_id) {
		if (j->fd >= 0)
			close(j->fd);
		j->fd = open(ef->path, O_RDONLY | O_CLOEXEC);
		j->fd_dso = dso_id;
	}
	ssize_t n = j->fd >= 0 ? pread(j->fd, buf, len, (off_t)off) : -1;
	return n > 0 ? (size_t)n : 0;
}

static bool is_plt_stub(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcmp(name + n - 4, "@plt") == 0;
}

static bool is_called(const struct jumps *j, size_t k)
{
	return j->nodes[k].calls_in != 0 || j->nodes[k].entered;
}

/* The ld.so resolver functions that ran (lazy binding). */
static void add_resolver_jumps(struct jumps *j, const struct func_row *from, uint64_t count)
{
	for (size_t i = 0; i < j->p->nfuncs; i++)
		if (strncmp(j->p->funcs[i].name, RESOLVER_PREFIX, strlen(RESOLVER_PREFIX)) == 0)
			add_jump(j, from, &j->p->funcs[i], count, true);
}

/* name without its leading underscores. */
static const char *bare(const char *name, size_t *len)
{
	while (*name == '_' && *len) {
		name++;
		--*len;
	}
	return name;
}

/* The function a stub `name@plt` of DSO dso jumps to: `name` (or the alias
 * `__name` the symbolizer chose), else the one executed IFUNC variant
 * `__name_*` (glibc's __memcpy_avx_unaligned for memcpy). A function that is
 * also called must be `name` itself in another DSO: an IFUNC's stub bears
 * the name of its resolver, called when its own library was relocated.
 * NULL when there is no single one. */
static const struct func_row *stub_target(const struct jumps *j, const char *stub, const char *dso)
{
	size_t len = strlen(stub) - 4, blen = len;
	const char *b = bare(stub, &blen);
	const struct func_row *exact = NULL, *variant = NULL;
	size_t nvariants = 0;
	for (size_t i = 0; i < j->p->nfuncs; i++) {
		const struct func_row *f = &j->p->funcs[i];
		size_t nlen = strlen(f->name);
		const char *nb = bare(f->name, &nlen);
		bool called = is_called(j, i);
		if (is_plt_stub(f->name))
			continue;
		if (called) { /* only name itself, in another DSO */
			if (strcmp(f->dso, dso) != 0 && strncmp(f->name, stub, len) == 0 && !f->name[len])
				exact = f;
		} else if (nlen == blen && strncmp(nb, b, blen) == 0) { /* name, __name */
			exact = f;
		}
		else if (!called && nb != f->name && strncmp(nb, b, blen) == 0 && nb[blen] == '_')
			variant = f, nvariants++;
	}
	return exact ? exact : nvariants == 1 ? variant : NULL;
}

/* What the executed branch at pc is: a jmp (direct to *target or not), or
 * false for anything else. The recording says (schema 4); older ones are
 * decoded from the binary. */
static bool jmp_at(struct jumps *j, const struct symbol_ref *at, uint32_t proc, uint64_t pc,
		   uint32_t gen, bool *direct, uint64_t *target)
{
	int recorded = symbolizer_direct_jump(j->p->symbolizer, proc, pc, gen, target);
	if (recorded >= 0) {
		/* Not a direct jmp: in a PLT stub, its indirect jmp through the GOT. */
		*direct = recorded == 1;
		return *direct || is_plt_stub(at->function);
	}
	uint8_t code[16];
	size_t len = at->dso_id ? read_code(j, at->dso_id, at->vaddr, code, sizeof code) : 0;
	struct insn_info info;
	struct branch br;
	if (!len || !classifier_decode_branch(j->cls, code, len, pc, &info, &br) || br.kind != BR_JMP)
		return false;
	*direct = br.to.direct;
	*target = br.to.target;
	return true;
}

/* One executed branch instruction at pc, executed count times. */
static void branch_at(struct jumps *j, uint32_t proc, uint64_t pc, uint32_t gen, uint64_t count)
{
	struct symbolizer *s = j->p->symbolizer;
	struct symbol_ref at, to;
	symbolizer_resolve(s, proc, pc, gen, &at);
	bool direct;
	uint64_t target;
	if (!jmp_at(j, &at, proc, pc, gen, &direct, &target))
		return;
	const struct func_row *from = profile_index_find(&j->ix, at.function, at.dso);
	j->at_proc = proc;
	j->at_gen = gen;
	j->at_pc = pc;
	if (direct) {
		symbolizer_resolve(s, proc, target, gen, &to);
		if (to.sym_start == target)
			add_jump(j, from, profile_index_find(&j->ix, to.function, to.dso), count, false);
		if (is_plt_stub(at.function)) /* lazy binding: the PLT's first entry, then ld.so */
			add_resolver_jumps(j, from, count);
	} else if (is_plt_stub(at.function)) {
		add_jump(j, from, stub_target(j, at.function, at.dso), count, false);
	}
}

static int find_jumps(sqlite3 *db, const struct profile_filter *f, struct jumps *j)
{
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT t.proc, x.pc, SUM(x.count), x.gen FROM insns x" PROFILE_PART_FILTER_JOIN
		 " AND x.class = %d GROUP BY t.proc, x.pc, x.gen", CLASS_BRANCH);
	sqlite3_stmt *st = profile_query(db, sql, f);
	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		branch_at(j, (uint32_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
			  (uint32_t)sqlite3_column_int64(st, 3), (uint64_t)sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	return 0;
}

static int cmp_jump(const void *a, const void *b)
{
	const struct jump *x = a, *y = b;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

/* Jumps sorted by (from, to), one entry per pair. */
static void merge_jumps(struct jumps *j)
{
	sort_array(j->v, j->n, sizeof *j->v, cmp_jump);
	size_t w = 0;
	for (size_t i = 0; i < j->n; i++) {
		if (w && j->v[w - 1].from == j->v[i].from && j->v[w - 1].to == j->v[i].to &&
		    j->v[w - 1].rest == j->v[i].rest)
			j->v[w - 1].count += j->v[i].count;
		else
			j->v[w++] = j->v[i];
	}
	j->n = w;
}

static void count_calls(struct jumps *j)
{
	struct profile *p = j->p;
	for (size_t i = 0; i < p->nedges; i++) {
		const struct edge_row *e = &p->edges[i];
		struct func_row *from = profile_index_find(&j->ix, e->caller, e->caller_dso);
		struct func_row *to = profile_index_find(&j->ix, e->callee, e->callee_dso);
		if (from == to)
			continue;
		if (to) {
			j->nodes[to - p->funcs].calls_in += e->calls;
			j->nodes[to - p->funcs].entered |= e->inclusive != 0;
		}
		if (from)
			j->nodes[from - p->funcs].calls_out += e->inclusive;
	}
	for (size_t i = 0; i < p->nroots; i++) {
		struct func_row *to = profile_index_find(&j->ix, p->roots[i].callee, p->roots[i].callee_dso);
		if (to) {
			j->nodes[to - p->funcs].calls_in += p->roots[i].calls;
			j->nodes[to - p->funcs].entered |= p->roots[i].inclusive != 0;
		}
	}
}

static uint64_t share(uint64_t total, uint64_t part, uint64_t whole)
{
	return whole ? (uint64_t)((unsigned __int128)total * part / whole) : 0;
}

static uint64_t jumped_inclusive(struct jumps *j, size_t k);
static const struct jump *first_jump_from(const struct jumps *j, size_t from);

/* What a called function's calls executed in the functions it jumped to. */
static uint64_t jumped_beyond(const struct jumps *j, size_t k)
{
	const struct func_row *f = &j->p->funcs[k];
	uint64_t own = f->count + j->nodes[k].calls_out;
	return f->inclusive > own ? f->inclusive - own : 0;
}

/* The inclusive counts the jumps from function k carry. Each target's
 * inclusive count of its jumped activations is shared by jump counts; a
 * called function's jumps together carry exactly what its calls executed
 * beyond itself (scaled to it), the resolver's jumps the remainder. */
static void weigh_jumps(struct jumps *j, size_t k)
{
	struct jump *first = (struct jump *)first_jump_from(j, k), *end = first;
	uint64_t known = 0, rest = 0;
	for (; end < j->v + j->n && end->from == k; end++) {
		end->inclusive = end->rest ? 0 :
			share(jumped_inclusive(j, end->to), end->count, j->nodes[end->to].jumps_in);
		known += end->inclusive;
		rest += end->rest ? end->count : 0;
	}
	if (!is_called(j, k))
		return;
	uint64_t beyond = jumped_beyond(j, k);
	uint64_t target = rest && beyond > known ? known : beyond;
	for (struct jump *jp = first; jp < end; jp++)
		jp->inclusive = jp->rest ? share(beyond - target, jp->count, rest) :
					   share(jp->inclusive, target, known);
}

static const struct jump *first_jump_from(const struct jumps *j, size_t from)
{
	size_t lo = 0, hi = j->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (j->v[mid].from < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return j->v + lo;
}

static uint64_t jumped_inclusive(struct jumps *j, size_t k)
{
	struct jnode *nd = &j->nodes[k];
	if (nd->state)
		return nd->state == 2 ? nd->jumped : 0; /* jumps in a cycle: counted once */
	nd->state = 1;
	const struct func_row *f = &j->p->funcs[k];
	uint64_t t;
	if (nd->calls_in) {
		t = share(f->inclusive, nd->jumps_in, nd->calls_in);
	} else {
		t = f->count + nd->calls_out;
		weigh_jumps(j, k);
		for (const struct jump *jp = first_jump_from(j, k); jp < j->v + j->n && jp->from == k; jp++)
			t += jp->inclusive;
	}
	nd->jumped = t;
	nd->state = 2;
	return t;
}

/* The jumps as call graph edges, and as call sites for the exporters. */
static void add_jump_edges(struct jumps *j)
{
	struct profile *p = j->p;
	p->jumps = xcalloc(j->n + 1, sizeof *p->jumps);
	for (size_t i = 0; i < j->n; i++) {
		const struct jump *jp = &j->v[i];
		const struct func_row *from = &p->funcs[jp->from], *to = &p->funcs[jp->to];
		struct edge_row *e = profile_edge(p, from->name, from->dso, to->name, to->dso);
		e->calls += jp->count;
		e->inclusive += jp->inclusive;
		p->jumps[p->njumps++] = (struct jump_row){ jp->proc, jp->gen, jp->site, to->name, to->dso,
							   to->dso_path ? to->dso_path : to->dso,
							   jp->count, jp->inclusive };
	}
}

void profile_add_jumps(sqlite3 *db, const struct profile_filter *f, struct profile *p)
{
	struct jumps j = { .p = p, .ix = { .rows = &p->funcs, .n = &p->nfuncs }, .fd = -1 };
	/* Never NULL: the lookups take pointers into it even when it is empty. */
	j.cap = 16;
	j.v = xmalloc(j.cap * sizeof *j.v);
	profile_index_build(&j.ix);
	j.nodes = xcalloc(p->nfuncs + 1, sizeof *j.nodes);
	count_calls(&j);
	j.cls = classifier_new();
	if (j.cls && find_jumps(db, f, &j) == 0) {
		merge_jumps(&j);
		for (size_t i = 0; i < j.n; i++)
			j.nodes[j.v[i].to].jumps_in += j.v[i].count;
		for (size_t i = 0; i < j.n; i++)
			if (i == 0 || j.v[i].from != j.v[i - 1].from)
				weigh_jumps(&j, j.v[i].from);
	}
	for (size_t k = 0; k < p->nfuncs; k++)
		if (j.nodes[k].jumps_in || !is_called(&j, k))
			p->funcs[k].inclusive += jumped_inclusive(&j, k);
	add_jump_edges(&j);
	free(j.nodes);
	if (j.fd >= 0)
		close(j.fd);
	classifier_free(j.cls);
	free(j.v);
	profile_index_free(&j.ix);
}
