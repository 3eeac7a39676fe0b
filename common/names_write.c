/* Every executed (process, pc, generation) of a recording, symbolized once
 * from the binaries and the JIT's names, grouped into ranges of adjacent
 * pcs of one function (code_ranges), and its source lines grouped likewise
 * per function (source_lines), so the tables stay small: rows per function
 * and per line, not per instruction. */
#include "prof/names.h"
#include "prof/branch.h"
#include "prof/classes.h"
#include "prof/elf_file.h"
#include "prof/log.h"
#include "prof/store.h"
#include "prof/symbolize.h"
#include "prof/syscall_names.h"
#include "prof/u64_table.h"
#include "prof/util.h"

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* One executed pc. cls: its class, or -1 when it is only a call site or
 * callee of an arc, or a sampled frame. */
struct executed {
	uint32_t proc, gen;
	uint64_t pc;
	int cls;
};

struct function {
	const char *name, *dso;
	char *demangled;
	bool has_extent;
	uint64_t start, size;
};

struct line_at {
	size_t func;
	uint64_t vaddr;
	size_t file;
	int line;
};

struct names {
	sqlite3 *db;
	struct symbolizer *sym;
	struct classifier *cls;
	struct executed *pcs;
	size_t npcs, pcs_cap;
	struct function *funcs;
	size_t nfuncs;
	struct u64_table func_index;   /* hash of the function's key -> candidates chain */
	struct line_at *lines;
	size_t nlines, lines_cap;
	const char **files;
	size_t nfiles;
	struct u64_table file_index;
	size_t jump_dso;               /* the DSO whose file jump_fd reads */
	int jump_fd;
	uint8_t window[4096];          /* bytes of jump_dso's file read last */
	uint64_t window_at;            /* their file offset */
	size_t window_len;
	struct symbol_ref last;        /* the function found last (pcs come in order) */
	size_t last_func;
	bool has_last;
};

/* Doubles *v at powers of two. */
static void *grow(void *v, size_t n, size_t size)
{
	return (n & (n - 1)) == 0 ? xrealloc(v, (n ? 2 * n : 1) * size) : v;
}

static void add_pc(struct names *nm, uint32_t proc, uint64_t pc, uint32_t gen, int cls)
{
	if (nm->npcs == nm->pcs_cap) {
		nm->pcs_cap = nm->pcs_cap ? 2 * nm->pcs_cap : 65536;
		nm->pcs = xrealloc(nm->pcs, nm->pcs_cap * sizeof *nm->pcs);
	}
	nm->pcs[nm->npcs++] = (struct executed){ proc, gen, pc, cls };
}

static int collect_query(struct names *nm, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(nm->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_read_error(nm->db);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		add_pc(nm, (uint32_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
		       (uint32_t)sqlite3_column_int64(st, 2),
		       sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3));
	return store_loop_end(st, rc);
}

/* Sample mode: every frame of every sampled stack. */
static int collect_stacks(struct names *nm)
{
	return collect_query(nm, "WITH RECURSIVE f(proc, id) AS ("
			     " SELECT DISTINCT t.proc, s.stack FROM samples s JOIN threads t ON t.id = s.thread"
			     " UNION SELECT f.proc, k.parent FROM f JOIN stacks k ON k.id = f.id"
			     "  WHERE k.parent != 0)"
			     " SELECT DISTINCT f.proc, k.pc, 0, NULL FROM f JOIN stacks k ON k.id = f.id");
}

static int cmp_executed(const void *a, const void *b)
{
	const struct executed *x = a, *y = b;
	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->gen != y->gen)
		return x->gen < y->gen ? -1 : 1;
	if (x->pc != y->pc)
		return x->pc < y->pc ? -1 : 1;
	return x->cls > y->cls ? -1 : x->cls < y->cls; /* a known class first */
}

static int collect(struct names *nm)
{
	/* Duplicates (threads of one process, arcs of one pc) go after sorting:
	 * cheaper than asking SQLite to group. */
	if (collect_query(nm, "SELECT t.proc, x.pc, x.gen, x.class FROM insns x"
			  " JOIN threads t ON t.id = x.thread") ||
	    collect_query(nm, "SELECT t.proc, a.caller_pc, a.caller_gen, NULL FROM arcs a"
			  " JOIN threads t ON t.id = a.thread WHERE a.caller_pc != 0") ||
	    collect_query(nm, "SELECT t.proc, a.callee_pc, a.callee_gen, NULL FROM arcs a"
			  " JOIN threads t ON t.id = a.thread") ||
	    collect_stacks(nm))
		return -1;
	sort_array(nm->pcs, nm->npcs, sizeof *nm->pcs, cmp_executed);
	size_t w = 0;
	for (size_t i = 0; i < nm->npcs; i++) {
		const struct executed *e = &nm->pcs[i];
		if (w && nm->pcs[w - 1].proc == e->proc && nm->pcs[w - 1].gen == e->gen &&
		    nm->pcs[w - 1].pc == e->pc)
			continue;
		nm->pcs[w++] = *e;
	}
	nm->npcs = w;
	return 0;
}

/* ---- functions ---- */

static uint64_t function_hash(const struct symbol_ref *r)
{
	uint64_t h = hash_two_strings(r->raw_name, r->dso_path);
	h ^= (r->has_extent ? r->sym_vaddr + 1 : 0) * 0x9e3779b97f4a7c15ull;
	return h;
}

struct function_find {
	const struct names *nm;
	const struct symbol_ref *r;
};

static bool same_function(uint64_t i, const void *ctx)
{
	const struct function_find *f = ctx;
	const struct function *fn = &f->nm->funcs[i];
	return fn->has_extent == f->r->has_extent && (!fn->has_extent || fn->start == f->r->sym_vaddr) &&
	       strcmp(fn->name, f->r->raw_name) == 0 && strcmp(fn->dso, f->r->dso_path) == 0;
}

/* The function's index, added the first time. */
static size_t function_of(struct names *nm, const struct symbol_ref *r)
{
	/* The symbolizer's strings stay put: the same pointers, the same function. */
	if (nm->has_last && nm->last.raw_name == r->raw_name && nm->last.dso_path == r->dso_path &&
	    nm->last.sym_vaddr == r->sym_vaddr && nm->last.has_extent == r->has_extent)
		return nm->last_func;
	nm->last = *r;
	nm->has_last = true;
	struct function_find f = { nm, r };
	uint64_t h = function_hash(r), i;
	if (u64_table_find_same(&nm->func_index, h, same_function, &f, &i))
		return nm->last_func = (size_t)i;
	nm->funcs = grow(nm->funcs, nm->nfuncs, sizeof *nm->funcs);
	nm->funcs[nm->nfuncs] = (struct function){ r->raw_name, r->dso_path,
						   symbolizer_demangle(r->raw_name), r->has_extent,
						   r->sym_vaddr, r->sym_size };
	u64_table_add(&nm->func_index, h, nm->nfuncs);
	return nm->last_func = nm->nfuncs++;
}

static size_t file_of(struct names *nm, const char *path)
{
	uint64_t h = hash_two_strings(path, ""), v;
	if (h == UINT64_MAX)
		h--;
	/* Paths with equal hashes are rare enough to keep apart by probing. */
	for (;; h = h * 31 + 7) {
		if (h == UINT64_MAX)
			h--;
		if (!u64_table_get(&nm->file_index, h, &v))
			break;
		if (strcmp(nm->files[v], path) == 0)
			return (size_t)v;
	}
	nm->files = grow(nm->files, nm->nfiles, sizeof *nm->files);
	nm->files[nm->nfiles] = path;
	u64_table_put(&nm->file_index, h, nm->nfiles);
	return nm->nfiles++;
}

/* ---- writing ---- */

static sqlite3_stmt *prepare(struct names *nm, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(nm->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("database: %s", sqlite3_errmsg(nm->db));
		return NULL;
	}
	return st;
}

static int step_reset(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return 0;
	log_error("database: %s", sqlite3_errmsg(db));
	return -1;
}

struct range {
	uint32_t proc, gen;
	uint64_t start, end;
	size_t func;
	int64_t bias;
	bool open;
};

static int write_range(struct names *nm, sqlite3_stmt *st, const struct range *r)
{
	if (!r->open)
		return 0;
	sqlite3_bind_int64(st, 1, r->proc);
	sqlite3_bind_int64(st, 2, r->gen);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->start);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->end);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)r->func + 1);
	sqlite3_bind_int64(st, 6, r->bias);
	return step_reset(nm->db, st);
}

/* The instruction at a link-time address of an ELF file (0 bytes when unreadable). */
static size_t read_insn(struct names *nm, size_t dso_id, uint64_t vaddr, uint8_t buf[16])
{
	struct elf_file *ef = symbolizer_dso_elf(nm->sym, dso_id);
	uint64_t off;
	if (!ef || !elf_file_vaddr_to_offset(ef, vaddr, &off))
		return 0;
	if (nm->jump_dso != dso_id) {
		if (nm->jump_fd >= 0)
			close(nm->jump_fd);
		nm->jump_fd = open(ef->path, O_RDONLY | O_CLOEXEC);
		nm->jump_dso = dso_id;
		nm->window_len = 0;
	}
	/* A page at a time: the jumps of a function are near each other. */
	if (off < nm->window_at || off + 16 > nm->window_at + nm->window_len) {
		ssize_t n = nm->jump_fd >= 0 ? pread(nm->jump_fd, nm->window, sizeof nm->window,
						     (off_t)off) : -1;
		nm->window_at = off;
		nm->window_len = n > 0 ? (size_t)n : 0;
	}
	size_t n = nm->window_len - (size_t)(off - nm->window_at);
	n = n > 16 ? 16 : n;
	memcpy(buf, nm->window + (off - nm->window_at), n);
	return n;
}

/* An executed branch of an ELF file that is a direct jmp: its target. */
static int write_jump(struct names *nm, sqlite3_stmt *st, const struct executed *e,
		      const struct symbol_ref *r)
{
	uint8_t code[16];
	size_t n = r->dso_id && !r->from_jit ? read_insn(nm, r->dso_id, r->vaddr, code) : 0;
	struct insn_info info;
	struct branch br;
	if (!n || !classifier_decode_branch(nm->cls, code, n, e->pc, &info, &br) ||
	    br.kind != BR_JMP || !br.to.direct)
		return 0;
	sqlite3_bind_int64(st, 1, e->proc);
	sqlite3_bind_int64(st, 2, e->gen);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)e->pc);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)br.to.target);
	return step_reset(nm->db, st);
}

static void note_line(struct names *nm, size_t func, const struct symbol_ref *r)
{
	const char *file;
	int line;
	if (!r->dso_id || r->from_jit || !symbolizer_line(nm->sym, r->dso_id, r->vaddr, &file, &line))
		return;
	nm->lines = grow(nm->lines, nm->nlines, sizeof *nm->lines);
	nm->lines[nm->nlines++] = (struct line_at){ func, r->vaddr, file_of(nm, file), line };
}

/* Each executed pc: its range, its line, its jump. */
static int write_ranges(struct names *nm)
{
	sqlite3_stmt *rs = prepare(nm, "INSERT OR REPLACE INTO code_ranges(proc, gen, start, end,"
				   " function, bias) VALUES(?, ?, ?, ?, ?, ?)");
	sqlite3_stmt *js = prepare(nm, "INSERT OR REPLACE INTO direct_jumps(proc, gen, pc, target)"
				   " VALUES(?, ?, ?, ?)");
	int rc = rs && js ? 0 : -1;
	struct range cur = { 0 };
	for (size_t i = 0; i < nm->npcs && rc == 0; i++) {
		const struct executed *e = &nm->pcs[i];
		struct symbol_ref r;
		symbolizer_resolve(nm->sym, e->proc, e->pc, e->gen, &r);
		size_t func = function_of(nm, &r);
		int64_t bias = (int64_t)(e->pc - r.vaddr);
		if (cur.open && cur.proc == e->proc && cur.gen == e->gen && cur.func == func &&
		    cur.bias == bias) {
			cur.end = e->pc + 1;
		} else {
			rc = write_range(nm, rs, &cur);
			cur = (struct range){ e->proc, e->gen, e->pc, e->pc + 1, func, bias, true };
		}
		note_line(nm, func, &r);
		if (rc == 0 && e->cls == CLASS_BRANCH)
			rc = write_jump(nm, js, e, &r);
	}
	if (rc == 0)
		rc = write_range(nm, rs, &cur);
	sqlite3_finalize(rs);
	sqlite3_finalize(js);
	return rc;
}

static int write_functions(struct names *nm)
{
	sqlite3_stmt *st = prepare(nm, "INSERT INTO functions(id, name, demangled, dso, start, size)"
				   " VALUES(?, ?, ?, ?, ?, ?)");
	int rc = st ? 0 : -1;
	for (size_t i = 0; i < nm->nfuncs && rc == 0; i++) {
		const struct function *f = &nm->funcs[i];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)i + 1);
		sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
		if (f->demangled)
			sqlite3_bind_text(st, 3, f->demangled, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, f->dso, -1, SQLITE_STATIC);
		if (f->has_extent) {
			sqlite3_bind_int64(st, 5, (sqlite3_int64)f->start);
			sqlite3_bind_int64(st, 6, (sqlite3_int64)f->size);
		}
		rc = step_reset(nm->db, st);
	}
	sqlite3_finalize(st);
	return rc;
}

static int cmp_line(const void *a, const void *b)
{
	const struct line_at *x = a, *y = b;
	if (x->func != y->func)
		return x->func < y->func ? -1 : 1;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Per function, runs of executed addresses of one source line. */
static int write_lines(struct names *nm)
{
	sqlite3_stmt *fs = prepare(nm, "INSERT INTO source_files(id, path) VALUES(?, ?)");
	sqlite3_stmt *ls = prepare(nm, "INSERT OR REPLACE INTO source_lines(function, start, end, file,"
				   " line) VALUES(?, ?, ?, ?, ?)");
	int rc = fs && ls ? 0 : -1;
	for (size_t i = 0; i < nm->nfiles && rc == 0; i++) {
		sqlite3_bind_int64(fs, 1, (sqlite3_int64)i + 1);
		sqlite3_bind_text(fs, 2, nm->files[i], -1, SQLITE_STATIC);
		rc = step_reset(nm->db, fs);
	}
	sort_array(nm->lines, nm->nlines, sizeof *nm->lines, cmp_line);
	for (size_t i = 0; i < nm->nlines && rc == 0;) {
		const struct line_at *a = &nm->lines[i];
		size_t k = i + 1;
		while (k < nm->nlines && nm->lines[k].func == a->func && nm->lines[k].file == a->file &&
		       nm->lines[k].line == a->line)
			k++;
		sqlite3_bind_int64(ls, 1, (sqlite3_int64)a->func + 1);
		sqlite3_bind_int64(ls, 2, (sqlite3_int64)a->vaddr);
		sqlite3_bind_int64(ls, 3, (sqlite3_int64)nm->lines[k - 1].vaddr + 1);
		sqlite3_bind_int64(ls, 4, (sqlite3_int64)a->file + 1);
		sqlite3_bind_int(ls, 5, a->line);
		rc = step_reset(nm->db, ls);
		i = k;
	}
	sqlite3_finalize(fs);
	sqlite3_finalize(ls);
	return rc;
}

/* The names of the syscalls made and of the classes, for SQL users. */
static int write_small_tables(struct names *nm)
{
	sqlite3_stmt *q = prepare(nm, "SELECT DISTINCT nr FROM syscalls");
	sqlite3_stmt *sn = prepare(nm, "INSERT OR REPLACE INTO syscall_names(nr, name) VALUES(?, ?)");
	sqlite3_stmt *cn = prepare(nm, "INSERT OR REPLACE INTO class_names(id, name) VALUES(?, ?)");
	int rc = q && sn && cn ? 0 : -1, step;
	while (rc == 0 && (step = sqlite3_step(q)) == SQLITE_ROW) {
		char buf[24];
		long nr = (long)sqlite3_column_int64(q, 0);
		sqlite3_bind_int64(sn, 1, nr);
		sqlite3_bind_text(sn, 2, syscall_name(nr, buf), -1, SQLITE_TRANSIENT);
		rc = step_reset(nm->db, sn);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = store_read_error(nm->db);
	for (unsigned c = 0; c < CLASS_COUNT && rc == 0; c++) {
		sqlite3_bind_int(cn, 1, (int)c);
		sqlite3_bind_text(cn, 2, class_name(c), -1, SQLITE_STATIC);
		rc = step_reset(nm->db, cn);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(sn);
	sqlite3_finalize(cn);
	return rc;
}

static void names_free(struct names *nm)
{
	for (size_t i = 0; i < nm->nfuncs; i++)
		free(nm->funcs[i].demangled);
	free(nm->funcs);
	free(nm->pcs);
	free(nm->lines);
	free(nm->files);
	u64_table_clear(&nm->func_index);
	u64_table_clear(&nm->file_index);
	if (nm->jump_fd >= 0)
		close(nm->jump_fd);
	classifier_free(nm->cls);
	symbolizer_free(nm->sym);
}

int names_write(sqlite3 *db, struct lines_prefetch *lp)
{
	struct names nm = { .db = db, .jump_fd = -1 };
	nm.sym = symbolizer_new_from_binaries(db);
	nm.cls = classifier_new();
	if (!nm.sym || !nm.cls) {
		names_free(&nm);
		return -1;
	}
	symbolizer_use_prefetch(nm.sym, lp);
	symbolizer_set_demangle(nm.sym, false); /* both names are kept */
	int rc = store_exec(db, "BEGIN");
	if (rc == 0)
		rc = collect(&nm);
	if (rc == 0)
		rc = write_ranges(&nm);
	if (rc == 0)
		rc = write_functions(&nm);
	if (rc == 0)
		rc = write_lines(&nm);
	if (rc == 0)
		rc = write_small_tables(&nm);
	if (rc == 0)
		rc = store_set_meta(db, "names", "complete");
	if (rc == 0)
		rc = store_exec(db, "COMMIT");
	else
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	symbolizer_print_warnings(nm.sym);
	names_free(&nm);
	return rc;
}
