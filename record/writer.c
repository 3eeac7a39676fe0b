#include "writer.h"
#include "prof/elf_file.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING_CAPACITY 65536
/* Bounded memory: each kind of count is flushed when it has this many rows. */
#define MAX_INSNS (1u << 16)
#define MAX_ARCS (1u << 13)
#define MAX_SAMPLES (1u << 13)
#define COMMIT_INTERVAL_NS 250000000ull
/* A busy stream of events looks at the clock once per this many events. */
#define COMMIT_CHECK_EVENTS 4096
/* Space held next to the database until the disk is full, for the meta rows
 * that end the recording (a few pages, and a WAL frame each); a quarter of
 * the free space where there is less. */
#define RESERVE_BYTES (256u << 10)
#define RESERVE_MIN_BYTES (16u << 10)

static const char *const statements_sql[] = {
	"INSERT INTO insns(thread, pc, class, count, part, gen) VALUES(?, ?, ?, ?, ?, ?)"
	" ON CONFLICT(part, thread, pc, gen) DO UPDATE SET count = count + excluded.count",
	"INSERT INTO syscalls(thread, nr, arg0, arg1, arg2, arg3, arg4, arg5, ret, start_ns, end_ns,"
	" part) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	"INSERT INTO processes(id, pid, ppid, exe, argv, start_ns) VALUES(?, ?, ?, ?, ?, ?)",
	"UPDATE processes SET exit_status = ?, end_ns = ? WHERE id = ?",
	"INSERT INTO threads(id, tid, proc, name, start_ns) VALUES(?, ?, ?, ?, ?)",
	"UPDATE threads SET end_ns = ?, name = COALESCE(?, name) WHERE id = ?",
	"INSERT OR IGNORE INTO maps(proc, start, end, pgoff, prot, path, build_id, seen_ns,"
	" size, mtime_ns, text_hash) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	"INSERT INTO signals(thread, signo, pc, ns) VALUES(?, ?, ?, ?)",
	"INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
	"INSERT INTO arcs(thread, caller_pc, callee_pc, calls, inclusive, outer_inclusive, part,"
	" caller_gen, callee_gen) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"
	" ON CONFLICT(part, thread, caller_pc, caller_gen, callee_pc, callee_gen) DO UPDATE SET"
	" calls = calls + excluded.calls, inclusive = inclusive + excluded.inclusive,"
	" outer_inclusive = outer_inclusive + excluded.outer_inclusive",
	"INSERT INTO stacks(id, parent, pc) VALUES(?, ?, ?)",
	"INSERT INTO samples(thread, stack, count, weight_ns) VALUES(?, ?, ?, ?)"
	" ON CONFLICT(thread, stack) DO UPDATE SET count = count + excluded.count,"
	" weight_ns = weight_ns + excluded.weight_ns",
	"INSERT INTO parts(id, name, trigger, thread, end_ns) VALUES(?, ?, ?, ?, ?)",
	"INSERT OR REPLACE INTO code_gens(proc, gen, start, end, replaced, born_ns)"
	" VALUES(?, ?, ?, ?, ?, ?)",
	"INSERT INTO jit_symbols(proc, start, size, name, source, stamp, load_ns, code_index, blob)"
	" VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
	"INSERT OR REPLACE INTO code_seen(proc, gen, start, blob) VALUES(?, ?, ?, ?)",
	"SELECT id FROM code_blobs WHERE hash = ? AND bytes = ?",
	"INSERT INTO code_blobs(hash, bytes) VALUES(?, ?)",
};

static void reserve_take(struct writer *w, const char *db_path)
{
	w->reserve_fd = -1;
	if (!db_path || !*db_path)
		return;
	struct statvfs fs;
	uint64_t want = RESERVE_BYTES;
	if (statvfs(db_path, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize / 4 < want)
		want = (uint64_t)fs.f_bavail * fs.f_frsize / 4;
	if (want < RESERVE_MIN_BYTES)
		return; /* the disk is all but full already: nothing to hold back */
	w->reserve_path = xasprintf("%s-reserve", db_path);
	w->reserve_fd = open(w->reserve_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->reserve_fd >= 0 && posix_fallocate(w->reserve_fd, 0, (off_t)want) == 0)
		return;
	if (w->reserve_fd >= 0)
		close(w->reserve_fd);
	w->reserve_fd = -1;
	unlink(w->reserve_path);
}

static void reserve_give_back(struct writer *w)
{
	if (w->reserve_fd >= 0) {
		close(w->reserve_fd);
		w->reserve_fd = -1;
	}
	if (w->reserve_path)
		unlink(w->reserve_path);
	free(w->reserve_path);
	w->reserve_path = NULL;
}

static void forget_pending_rows(struct writer *w);

/* A statement or commit failed with rc. On a full disk (SQLite rolls a
 * transaction back when its COMMIT cannot write), the transaction is rolled
 * back whole (a partial one would keep counts no total could say), its
 * counts and all later ones are dropped, and the reserve is given back for
 * the meta rows, which are still written. */
static void db_fail(struct writer *w, int rc)
{
	if (rc == SQLITE_FULL || w->disk_full) {
		w->disk_full = true;
		reserve_give_back(w);
		if (!sqlite3_get_autocommit(w->db))
			sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		w->in_txn = false;
		w->dropped += w->pending;
		w->pending = 0;
		forget_pending_rows(w);
		return;
	}
	if (!w->failed)
		log_error("database write failed: %s", sqlite3_errmsg(w->db));
	w->failed = 1;
}

static void run(struct writer *w, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		db_fail(w, rc);
}

static void begin(struct writer *w)
{
	if (w->in_txn)
		return;
	int rc = sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		db_fail(w, rc);
	else
		w->in_txn = true;
}

/* What the same_* callbacks get: the row looked for and the rows that have
 * the same hash as it. */
struct row_find {
	const void *rows, *want;
};

static bool same_insn(uint64_t i, const void *ctx)
{
	const struct row_find *f = ctx;
	const struct insn_count *r = (const struct insn_count *)f->rows + i, *x = f->want;
	return r->pc == x->pc && r->thread == x->thread && r->part == x->part && r->gen == x->gen;
}

static bool same_arc(uint64_t i, const void *ctx)
{
	const struct row_find *f = ctx;
	const struct arc_count *r = (const struct arc_count *)f->rows + i, *x = f->want;
	return r->caller_pc == x->caller_pc && r->callee_pc == x->callee_pc &&
	       r->thread == x->thread && r->part == x->part && r->caller_gen == x->caller_gen &&
	       r->callee_gen == x->callee_gen;
}

static bool same_frame(uint64_t i, const void *ctx)
{
	const struct row_find *f = ctx;
	const struct stack_frame *r = (const struct stack_frame *)f->rows + i, *x = f->want;
	return r->parent == x->parent && r->pc == x->pc;
}

static bool same_sample(uint64_t i, const void *ctx)
{
	const struct row_find *f = ctx;
	const struct sample_count *r = (const struct sample_count *)f->rows + i, *x = f->want;
	return r->stack == x->stack && r->thread == x->thread;
}

static void flush_insns(struct writer *w)
{
	if (!w->ninsns)
		return;
	begin(w);
	for (size_t i = 0; i < w->ninsns && !w->disk_full; i++) {
		const struct insn_count *c = &w->insns[i];
		sqlite3_bind_int64(w->st_insn, 1, c->thread);
		sqlite3_bind_int64(w->st_insn, 2, (sqlite3_int64)c->pc);
		sqlite3_bind_int(w->st_insn, 3, c->cls);
		sqlite3_bind_int64(w->st_insn, 4, (sqlite3_int64)c->count);
		sqlite3_bind_int64(w->st_insn, 5, c->part);
		sqlite3_bind_int64(w->st_insn, 6, c->gen);
		run(w, w->st_insn);
	}
	w->ninsns = 0;
	u64_table_reset(&w->insn_index);
}

static void flush_arcs(struct writer *w)
{
	if (!w->narcs)
		return;
	begin(w);
	for (size_t i = 0; i < w->narcs && !w->disk_full; i++) {
		const struct arc_count *a = &w->arcs[i];
		sqlite3_bind_int64(w->st_arc, 1, a->thread);
		sqlite3_bind_int64(w->st_arc, 2, (sqlite3_int64)a->caller_pc);
		sqlite3_bind_int64(w->st_arc, 3, (sqlite3_int64)a->callee_pc);
		sqlite3_bind_int64(w->st_arc, 4, (sqlite3_int64)a->calls);
		sqlite3_bind_int64(w->st_arc, 5, (sqlite3_int64)a->inclusive);
		sqlite3_bind_int64(w->st_arc, 6, (sqlite3_int64)a->outer_inclusive);
		sqlite3_bind_int64(w->st_arc, 7, a->part);
		sqlite3_bind_int64(w->st_arc, 8, a->caller_gen);
		sqlite3_bind_int64(w->st_arc, 9, a->callee_gen);
		run(w, w->st_arc);
	}
	w->narcs = 0;
	u64_table_reset(&w->arc_index);
}

static void add_arc(struct writer *w, const struct prof_event *ev)
{
	struct arc_count want = { ev->arc.caller_pc, ev->arc.callee_pc, ev->thread, w->part,
				  ev->arc.caller_gen, ev->arc.callee_gen, ev->arc.calls,
				  ev->arc.inclusive, ev->arc.outer_inclusive };
	struct row_find f = { w->arcs, &want };
	uint64_t gens = (uint64_t)want.caller_gen << 32 | want.callee_gen;
	uint64_t hash = hash_pair(hash_pair(want.caller_pc, want.callee_pc),
				  hash_pair(want.thread, want.part) ^ gens), i;
	if (u64_table_find_same(&w->arc_index, hash, same_arc, &f, &i)) {
		w->arcs[i].calls += want.calls;
		w->arcs[i].inclusive += want.inclusive;
		w->arcs[i].outer_inclusive += want.outer_inclusive;
		return;
	}
	w->arcs[w->narcs] = want;
	u64_table_add(&w->arc_index, hash, w->narcs);
	if (++w->narcs == MAX_ARCS)
		flush_arcs(w);
}

/* The row of frame pc under parent, inserted the first time it is seen. */
static uint64_t intern_frame(struct writer *w, uint64_t parent, uint64_t pc)
{
	struct stack_frame want = { parent, pc };
	struct row_find f = { w->frames, &want };
	uint64_t hash = hash_pair(parent, pc), i;
	if (u64_table_find_same(&w->frame_index, hash, same_frame, &f, &i))
		return i + 1;
	if (w->nframes == w->frames_cap) {
		w->frames_cap = w->frames_cap ? 2 * w->frames_cap : 4096;
		w->frames = xrealloc(w->frames, w->frames_cap * sizeof *w->frames);
	}
	w->frames[w->nframes] = want;
	u64_table_add(&w->frame_index, hash, w->nframes);
	uint64_t id = ++w->nframes;
	sqlite3_bind_int64(w->st_stack, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(w->st_stack, 2, (sqlite3_int64)parent);
	sqlite3_bind_int64(w->st_stack, 3, (sqlite3_int64)pc);
	run(w, w->st_stack);
	return id;
}

static void flush_samples(struct writer *w)
{
	if (!w->nsamples)
		return;
	begin(w);
	for (size_t i = 0; i < w->nsamples && !w->disk_full; i++) {
		const struct sample_count *s = &w->samples[i];
		sqlite3_bind_int64(w->st_sample, 1, s->thread);
		sqlite3_bind_int64(w->st_sample, 2, (sqlite3_int64)s->stack);
		sqlite3_bind_int64(w->st_sample, 3, (sqlite3_int64)s->count);
		sqlite3_bind_int64(w->st_sample, 4, (sqlite3_int64)s->weight_ns);
		run(w, w->st_sample);
	}
	w->nsamples = 0;
	u64_table_reset(&w->sample_index);
}

static void add_sample(struct writer *w, const struct prof_event *ev)
{
	uint64_t stack = 0;
	for (uint32_t i = ev->sample.depth; i-- > 0;) /* outermost frame first */
		stack = intern_frame(w, stack, ev->sample.pcs[i]);
	free(ev->sample.pcs);
	w->pending++;
	struct sample_count want = { stack, ev->thread, 1, ev->sample.weight_ns };
	struct row_find f = { w->samples, &want };
	uint64_t hash = hash_pair(stack, ev->thread), i;
	if (u64_table_find_same(&w->sample_index, hash, same_sample, &f, &i)) {
		w->samples[i].count++;
		w->samples[i].weight_ns += want.weight_ns;
		return;
	}
	w->samples[w->nsamples] = want;
	u64_table_add(&w->sample_index, hash, w->nsamples);
	if (++w->nsamples == MAX_SAMPLES)
		flush_samples(w);
}

static void commit(struct writer *w)
{
	flush_insns(w);
	flush_arcs(w);
	flush_samples(w);
	if (w->in_txn) {
		int rc = sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			db_fail(w, rc);
		w->in_txn = false;
	}
	if (!w->in_txn && sqlite3_get_autocommit(w->db)) {
		w->kept += w->pending;
		w->pending = 0;
	}
	w->last_commit_ns = now_ns();
}

static void add_insn(struct writer *w, const struct prof_event *ev)
{
	w->pending += ev->insn.count;
	struct insn_count want = { ev->insn.pc, ev->thread, w->part, ev->insn.gen, ev->insn.cls,
				   ev->insn.count };
	struct row_find f = { w->insns, &want };
	uint64_t hash = hash_pair(want.pc, ((uint64_t)want.thread << 32 | want.part) ^
					   (uint64_t)want.gen << 48), i;
	if (u64_table_find_same(&w->insn_index, hash, same_insn, &f, &i)) {
		w->insns[i].count += want.count;
		return;
	}
	w->insns[w->ninsns] = want;
	u64_table_add(&w->insn_index, hash, w->ninsns);
	if (++w->ninsns == MAX_INSNS)
		flush_insns(w);
}

static void write_syscall(struct writer *w, const struct prof_event *ev)
{
	sqlite3_stmt *st = w->st_syscall;
	sqlite3_bind_int64(st, 1, ev->thread);
	sqlite3_bind_int64(st, 2, ev->sys.nr);
	for (int i = 0; i < 6; i++)
		sqlite3_bind_int64(st, 3 + i, (sqlite3_int64)ev->sys.args[i]);
	if (ev->sys.returned) {
		sqlite3_bind_int64(st, 9, ev->sys.ret);
		sqlite3_bind_int64(st, 11, (sqlite3_int64)ev->sys.end_ns);
	}
	sqlite3_bind_int64(st, 10, (sqlite3_int64)ev->sys.start_ns);
	sqlite3_bind_int64(st, 12, w->part);
	run(w, st);
}

/* The current part ends: its row, named by the program or by its number. */
static void end_part(struct writer *w, uint32_t thread, const char *name, const char *trigger,
		     uint64_t ns)
{
	sqlite3_stmt *st = w->st_part;
	sqlite3_bind_int64(st, 1, w->part);
	if (name)
		sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, trigger, -1, SQLITE_STATIC);
	if (thread)
		sqlite3_bind_int64(st, 4, thread);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)ns);
	run(w, st);
	w->part++;
}

/* The program asked to start the current part afresh (CALLGRIND_ZERO_STATS). */
static void zero_part(struct writer *w)
{
	flush_insns(w);
	flush_arcs(w);
	char *sql = sqlite3_mprintf("DELETE FROM insns WHERE part = %u; DELETE FROM arcs WHERE part = %u;"
				    " DELETE FROM syscalls WHERE part = %u;", w->part, w->part, w->part);
	int rc = sql ? sqlite3_exec(w->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
	if (rc != SQLITE_OK)
		db_fail(w, rc);
	sqlite3_free(sql);
}

static void write_map(struct writer *w, const struct prof_event *ev)
{
	char build_id[41] = "", text_hash[17] = "";
	struct stat fst;
	bool is_file = ev->map.path[0] == '/' && stat(ev->map.path, &fst) == 0 &&
		       S_ISREG(fst.st_mode);
	if (is_file)
		elf_read_build_id(ev->map.path, build_id);
	if (is_file && !build_id[0])
		elf_text_hash(ev->map.path, text_hash);
	sqlite3_stmt *st = w->st_map;
	if (is_file) {
		sqlite3_bind_int64(st, 9, (sqlite3_int64)fst.st_size);
		sqlite3_bind_int64(st, 10, (sqlite3_int64)fst.st_mtim.tv_sec * 1000000000 +
					   fst.st_mtim.tv_nsec);
	}
	if (text_hash[0])
		sqlite3_bind_text(st, 11, text_hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 1, ev->map.proc);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)ev->map.start);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)ev->map.end);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)ev->map.pgoff);
	sqlite3_bind_int(st, 5, (int)ev->map.prot);
	sqlite3_bind_text(st, 6, ev->map.path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, build_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)ev->map.ns);
	run(w, st);
	free(ev->map.path);
}

static void put_meta(struct writer *w, const char *key, const char *value)
{
	sqlite3_bind_text(w->st_meta, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(w->st_meta, 2, value, -1, SQLITE_TRANSIENT);
	run(w, w->st_meta);
}

/* Meta rows are few: each is kept (the last value of each key) in case a
 * full disk rolls back the transaction that wrote it. Takes key and value. */
static void keep_meta(struct writer *w, char *key, char *value)
{
	for (size_t i = 0; i < w->nmetas; i++) {
		if (strcmp(w->metas[i].key, key) == 0) {
			free(key);
			free(w->metas[i].value);
			w->metas[i].value = value;
			return;
		}
	}
	w->metas = xrealloc(w->metas, (w->nmetas + 1) * sizeof *w->metas);
	w->metas[w->nmetas++] = (struct meta_row){ key, value };
}

static void forget_pending_rows(struct writer *w)
{
	w->ninsns = w->narcs = w->nsamples = 0;
	u64_table_reset(&w->insn_index);
	u64_table_reset(&w->arc_index);
	u64_table_reset(&w->sample_index);
}

/* After a full disk only meta rows are written; the rest is dropped (its
 * counts counted as lost) and freed. */
static bool drop_on_full_disk(struct writer *w, const struct prof_event *ev)
{
	if (!w->disk_full || ev->kind == EV_META)
		return false;
	if (ev->kind == EV_INSN)
		w->dropped += ev->insn.count;
	else if (ev->kind == EV_SAMPLE)
		w->dropped++;
	switch (ev->kind) {
	case EV_SAMPLE: free(ev->sample.pcs); break;
	case EV_PROCESS: free(ev->process.exe); free(ev->process.argv); break;
	case EV_THREAD: free(ev->thread_start.name); break;
	case EV_THREAD_EXIT: free(ev->thread_exit.name); break;
	case EV_MAP: free(ev->map.path); break;
	case EV_PART: free(ev->part.name); break;
	case EV_JIT_SYMBOL: free(ev->jit.name); free(ev->jit.code); break;
	case EV_CODE_SEEN: free(ev->code_seen.bytes); break;
	default: break;
	}
	return true;
}

/* The row of these bytes in code_blobs, added the first time: the same
 * code (a forked child's, a moved function's) is kept once. 0 on failure. */
static sqlite3_int64 store_blob(struct writer *w, const uint8_t *bytes, size_t len)
{
	sqlite3_int64 hash = (sqlite3_int64)hash_fnv1a(bytes, len), id = 0;
	sqlite3_stmt *st = w->st_blob_find;
	sqlite3_bind_int64(st, 1, hash);
	sqlite3_bind_blob(st, 2, bytes, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		db_fail(w, rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (id || rc != SQLITE_DONE)
		return id;
	st = w->st_blob_add;
	sqlite3_bind_int64(st, 1, hash);
	sqlite3_bind_blob(st, 2, bytes, (int)len, SQLITE_STATIC);
	run(w, st);
	return sqlite3_last_insert_rowid(w->db);
}

static void write_code_gen(struct writer *w, const struct prof_event *ev)
{
	sqlite3_stmt *st = w->st_code_gen;
	sqlite3_bind_int64(st, 1, ev->code_gen.proc);
	sqlite3_bind_int64(st, 2, ev->code_gen.gen);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)ev->code_gen.start);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)ev->code_gen.end);
	sqlite3_bind_int(st, 5, ev->code_gen.replaced);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)ev->code_gen.ns);
	run(w, st);
}

static void write_jit_symbol(struct writer *w, const struct prof_event *ev)
{
	sqlite3_int64 blob = ev->jit.code ? store_blob(w, ev->jit.code, ev->jit.size) : 0;
	sqlite3_stmt *st = w->st_jit;
	sqlite3_bind_int64(st, 1, ev->jit.proc);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)ev->jit.start);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)ev->jit.size);
	sqlite3_bind_text(st, 4, ev->jit.name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, ev->jit.source == JIT_DUMP ? "jitdump" : "perf-map", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, ev->jit.stamp);
	if (ev->jit.has_load_ns)
		sqlite3_bind_int64(st, 7, (sqlite3_int64)ev->jit.load_ns);
	if (ev->jit.source == JIT_DUMP)
		sqlite3_bind_int64(st, 8, (sqlite3_int64)ev->jit.code_index);
	if (blob)
		sqlite3_bind_int64(st, 9, blob);
	run(w, st);
	free(ev->jit.name);
	free(ev->jit.code);
}

static void write_code_seen(struct writer *w, const struct prof_event *ev)
{
	sqlite3_int64 blob = store_blob(w, ev->code_seen.bytes, ev->code_seen.len);
	sqlite3_stmt *st = w->st_code_seen;
	sqlite3_bind_int64(st, 1, ev->code_seen.proc);
	sqlite3_bind_int64(st, 2, ev->code_seen.gen);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)ev->code_seen.start);
	sqlite3_bind_int64(st, 4, blob);
	if (blob)
		run(w, st);
	else
		sqlite3_clear_bindings(st);
	free(ev->code_seen.bytes);
}

static void write_event(struct writer *w, const struct prof_event *ev)
{
	sqlite3_stmt *st;
	if (drop_on_full_disk(w, ev))
		return;
	begin(w);
	switch (ev->kind) {
	case EV_INSN:
		add_insn(w, ev);
		break;
	case EV_ARC:
		add_arc(w, ev);
		break;
	case EV_SAMPLE:
		add_sample(w, ev);
		break;
	case EV_SYSCALL:
		write_syscall(w, ev);
		break;
	case EV_PROCESS:
		st = w->st_process;
		sqlite3_bind_int64(st, 1, ev->process.id);
		sqlite3_bind_int(st, 2, ev->process.pid);
		sqlite3_bind_int(st, 3, ev->process.ppid);
		sqlite3_bind_text(st, 4, ev->process.exe, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, ev->process.argv, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)ev->process.ns);
		run(w, st);
		free(ev->process.exe);
		free(ev->process.argv);
		break;
	case EV_PROCESS_EXIT:
		st = w->st_process_exit;
		sqlite3_bind_int(st, 1, ev->process_exit.status);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)ev->process_exit.ns);
		sqlite3_bind_int64(st, 3, ev->process_exit.id);
		run(w, st);
		break;
	case EV_THREAD:
		st = w->st_thread;
		sqlite3_bind_int64(st, 1, ev->thread);
		sqlite3_bind_int(st, 2, ev->thread_start.tid);
		sqlite3_bind_int64(st, 3, ev->thread_start.proc);
		sqlite3_bind_text(st, 4, ev->thread_start.name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)ev->thread_start.ns);
		run(w, st);
		free(ev->thread_start.name);
		break;
	case EV_THREAD_EXIT:
		st = w->st_thread_exit;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)ev->thread_exit.ns);
		if (ev->thread_exit.name)
			sqlite3_bind_text(st, 2, ev->thread_exit.name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, ev->thread);
		run(w, st);
		free(ev->thread_exit.name);
		break;
	case EV_MAP:
		write_map(w, ev);
		break;
	case EV_SIGNAL:
		st = w->st_signal;
		sqlite3_bind_int64(st, 1, ev->thread);
		sqlite3_bind_int(st, 2, ev->signal.signo);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)ev->signal.pc);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)ev->signal.ns);
		run(w, st);
		break;
	case EV_PART:
		end_part(w, ev->thread, ev->part.name, "dump", ev->part.ns);
		free(ev->part.name);
		break;
	case EV_ZERO:
		zero_part(w);
		break;
	case EV_CODE_GEN:
		write_code_gen(w, ev);
		break;
	case EV_JIT_SYMBOL:
		write_jit_symbol(w, ev);
		break;
	case EV_CODE_SEEN:
		write_code_seen(w, ev);
		break;
	case EV_META:
		put_meta(w, ev->meta.key, ev->meta.value);
		keep_meta(w, ev->meta.key, ev->meta.value);
		break;
	}
}

/* The recording lost counts to a full disk: say so in its meta (the state
 * is incomplete whatever the recorder concluded), and write again the meta
 * rows a rolled back transaction took with it. */
static void write_disk_full_meta(struct writer *w)
{
	char kept[64];
	snprintf(kept, sizeof kept, "%llu %llu", (unsigned long long)w->kept,
		 (unsigned long long)(w->kept + w->dropped));
	begin(w);
	for (size_t i = 0; i < w->nmetas; i++)
		if (strcmp(w->metas[i].key, "state") != 0)
			put_meta(w, w->metas[i].key, w->metas[i].value);
	put_meta(w, "disk_full", kept);
	put_meta(w, "state", "incomplete");
	commit(w);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct prof_event ev;
	for (;;) {
		if (!ring_try_pop(&w->ring, &ev)) {
			/* Idle: make what we have durable, then wait a little (a
			 * program can run long without events: the recording's
			 * state must reach the file meanwhile). */
			if (w->in_txn && now_ns() - w->last_commit_ns > COMMIT_INTERVAL_NS)
				commit(w);
			int got = ring_pop_wait(&w->ring, &ev);
			if (got < 0)
				break;
			if (got == 0)
				continue;
		}
		write_event(w, &ev);
		/* Busy: commit as often, so a full disk or a killed recorder
		 * costs at most that much. */
		if (++w->events_since_check == COMMIT_CHECK_EVENTS) {
			w->events_since_check = 0;
			if (w->in_txn && now_ns() - w->last_commit_ns > COMMIT_INTERVAL_NS)
				commit(w);
		}
	}
	begin(w);
	end_part(w, 0, NULL, "end", now_ns()); /* the last part ends with the recording */
	commit(w);
	if (w->disk_full)
		write_disk_full_meta(w);
	return NULL;
}

int writer_start(struct writer *w, sqlite3 *db)
{
	memset(w, 0, sizeof *w);
	w->db = db;
	w->reserve_fd = -1;
	sqlite3_stmt **stmts[] = { &w->st_insn, &w->st_syscall, &w->st_process,
				   &w->st_process_exit, &w->st_thread, &w->st_thread_exit,
				   &w->st_map, &w->st_signal, &w->st_meta, &w->st_arc,
				   &w->st_stack, &w->st_sample, &w->st_part, &w->st_code_gen, &w->st_jit,
				   &w->st_code_seen, &w->st_blob_find, &w->st_blob_add };
	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
		if (sqlite3_prepare_v3(db, statements_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       stmts[i], NULL) != SQLITE_OK) {
			log_error("database: %s", sqlite3_errmsg(db));
			return -1;
		}
	}
	/* Full size from the start: the hot path never reallocates. */
	w->insns = xmalloc(MAX_INSNS * sizeof *w->insns);
	u64_table_reserve(&w->insn_index, MAX_INSNS);
	w->arcs = xmalloc(MAX_ARCS * sizeof *w->arcs);
	u64_table_reserve(&w->arc_index, MAX_ARCS);
	w->samples = xmalloc(MAX_SAMPLES * sizeof *w->samples);
	u64_table_reserve(&w->sample_index, MAX_SAMPLES);
	w->last_commit_ns = now_ns();
	w->part = 1;
	if (ring_init(&w->ring, RING_CAPACITY, sizeof(struct prof_event)) != 0)
		return -1;
	reserve_take(w, sqlite3_db_filename(db, "main"));
	if (start_helper_thread(&w->thread, writer_main, w) != 0) {
		log_error("cannot start the writer thread");
		reserve_give_back(w);
		return -1;
	}
	return 0;
}

void writer_send(struct writer *w, const struct prof_event *ev)
{
	ring_push(&w->ring, ev);
}

int writer_finish(struct writer *w)
{
	ring_close(&w->ring);
	pthread_join(w->thread, NULL);
	sqlite3_stmt *stmts[] = { w->st_insn, w->st_syscall, w->st_process, w->st_process_exit,
				  w->st_thread, w->st_thread_exit, w->st_map, w->st_signal,
				  w->st_meta, w->st_arc, w->st_stack, w->st_sample, w->st_part,
				  w->st_code_gen, w->st_jit, w->st_code_seen, w->st_blob_find,
				  w->st_blob_add };
	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
		sqlite3_finalize(stmts[i]);
	ring_destroy(&w->ring);
	free(w->insns);
	u64_table_clear(&w->insn_index);
	free(w->arcs);
	u64_table_clear(&w->arc_index);
	free(w->samples);
	u64_table_clear(&w->sample_index);
	free(w->frames);
	u64_table_clear(&w->frame_index);
	reserve_give_back(w);
	for (size_t i = 0; i < w->nmetas; i++) {
		free(w->metas[i].key);
		free(w->metas[i].value);
	}
	free(w->metas);
	return w->failed || w->disk_full ? -1 : 0;
}
