#include "writer.h"
#include "prof/elf_file.h"
#include "prof/log.h"
#include "prof/util.h"

#include <signal.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#define RING_CAPACITY 65536
#define MAX_SLOTS (1u << 17)          /* bounded memory: flush when this full */
#define COMMIT_INTERVAL_NS 250000000ull

static const char *const statements_sql[] = {
	"INSERT INTO insns(thread, pc, class, count) VALUES(?, ?, ?, ?)"
	" ON CONFLICT(thread, pc) DO UPDATE SET count = count + excluded.count",
	"INSERT INTO syscalls(thread, nr, arg0, arg1, arg2, arg3, arg4, arg5, ret, start_ns, end_ns)"
	" VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	"INSERT INTO processes(id, pid, ppid, exe, argv, start_ns) VALUES(?, ?, ?, ?, ?, ?)",
	"UPDATE processes SET exit_status = ?, end_ns = ? WHERE id = ?",
	"INSERT INTO threads(id, tid, proc, name, start_ns) VALUES(?, ?, ?, ?, ?)",
	"UPDATE threads SET end_ns = ?, name = COALESCE(?, name) WHERE id = ?",
	"INSERT OR IGNORE INTO maps(proc, start, end, pgoff, prot, path, build_id, seen_ns,"
	" size, mtime_ns, text_hash) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	"INSERT INTO signals(thread, signo, pc, ns) VALUES(?, ?, ?, ?)",
	"INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
	"INSERT INTO arcs(thread, caller_pc, callee_pc, calls, inclusive, outer_inclusive)"
	" VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(thread, caller_pc, callee_pc) DO UPDATE SET"
	" calls = calls + excluded.calls, inclusive = inclusive + excluded.inclusive,"
	" outer_inclusive = outer_inclusive + excluded.outer_inclusive",
	"INSERT INTO stacks(id, parent, pc) VALUES(?, ?, ?)",
	"INSERT INTO samples(thread, stack, count, weight_ns) VALUES(?, ?, ?, ?)"
	" ON CONFLICT(thread, stack) DO UPDATE SET count = count + excluded.count,"
	" weight_ns = weight_ns + excluded.weight_ns",
};

#define MAX_SAMPLE_SLOTS (1u << 14)

#define MAX_ARCS (1u << 14)

static void db_fail(struct writer *w)
{
	if (!w->failed)
		log_error("database write failed: %s", sqlite3_errmsg(w->db));
	w->failed = 1;
}

static void run(struct writer *w, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		db_fail(w);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void begin(struct writer *w)
{
	if (w->in_txn)
		return;
	if (sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		db_fail(w);
	w->in_txn = true;
}

static void flush_insns(struct writer *w)
{
	if (!w->slots_used)
		return;
	begin(w);
	for (size_t i = 0; i < w->slots_cap; i++) {
		struct insn_slot *s = &w->slots[i];
		if (!s->key_pc)
			continue;
		sqlite3_bind_int64(w->st_insn, 1, s->thread);
		sqlite3_bind_int64(w->st_insn, 2, (sqlite3_int64)(s->key_pc - 1));
		sqlite3_bind_int(w->st_insn, 3, s->cls);
		sqlite3_bind_int64(w->st_insn, 4, (sqlite3_int64)s->count);
		run(w, w->st_insn);
	}
	memset(w->slots, 0, w->slots_cap * sizeof *w->slots);
	w->slots_used = 0;
}

static void flush_arcs(struct writer *w)
{
	if (!w->arcs_used)
		return;
	begin(w);
	for (size_t i = 0; i < w->arcs_cap; i++) {
		struct arc_slot *a = &w->arcs[i];
		if (!a->thread)
			continue;
		sqlite3_bind_int64(w->st_arc, 1, a->thread);
		sqlite3_bind_int64(w->st_arc, 2, (sqlite3_int64)a->caller_pc);
		sqlite3_bind_int64(w->st_arc, 3, (sqlite3_int64)a->callee_pc);
		sqlite3_bind_int64(w->st_arc, 4, (sqlite3_int64)a->calls);
		sqlite3_bind_int64(w->st_arc, 5, (sqlite3_int64)a->inclusive);
		sqlite3_bind_int64(w->st_arc, 6, (sqlite3_int64)a->outer_inclusive);
		run(w, w->st_arc);
	}
	memset(w->arcs, 0, w->arcs_cap * sizeof *w->arcs);
	w->arcs_used = 0;
}

static void add_arc(struct writer *w, const struct prof_event *ev)
{
	uint64_t h0 = (ev->arc.caller_pc * 31 + ev->arc.callee_pc) ^ ((uint64_t)ev->thread << 40);
	size_t h = (size_t)((h0 * 0x9e3779b97f4a7c15ull) >> 24) & (w->arcs_cap - 1);
	for (;; h = (h + 1) & (w->arcs_cap - 1)) {
		struct arc_slot *a = &w->arcs[h];
		if (a->thread == ev->thread && a->caller_pc == ev->arc.caller_pc &&
		    a->callee_pc == ev->arc.callee_pc) {
			a->calls++;
			a->inclusive += ev->arc.inclusive;
			a->outer_inclusive += ev->arc.outer_inclusive;
			return;
		}
		if (!a->thread) {
			*a = (struct arc_slot){ ev->arc.caller_pc, ev->arc.callee_pc, ev->thread, 1,
						ev->arc.inclusive, ev->arc.outer_inclusive };
			if (++w->arcs_used * 2 >= w->arcs_cap)
				flush_arcs(w);
			return;
		}
	}
}

static size_t hash3(uint64_t a, uint64_t b, size_t cap)
{
	return (size_t)(((a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full)) >> 20) & (cap - 1);
}

static void frames_grow(struct writer *w)
{
	struct frame_slot *old = w->frames;
	size_t old_cap = w->frames_cap;
	w->frames_cap = old_cap ? 2 * old_cap : 4096;
	w->frames = xcalloc(w->frames_cap, sizeof *w->frames);
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].id)
			continue;
		size_t h = hash3(old[i].parent, old[i].pc, w->frames_cap);
		while (w->frames[h].id)
			h = (h + 1) & (w->frames_cap - 1);
		w->frames[h] = old[i];
	}
	free(old);
}

/* The row of frame pc under parent, inserted the first time it is seen. */
static uint64_t intern_frame(struct writer *w, uint64_t parent, uint64_t pc)
{
	if ((w->frames_used + 1) * 2 > w->frames_cap)
		frames_grow(w);
	size_t h = hash3(parent, pc, w->frames_cap);
	for (; w->frames[h].id; h = (h + 1) & (w->frames_cap - 1))
		if (w->frames[h].parent == parent && w->frames[h].pc == pc)
			return w->frames[h].id;
	uint64_t id = ++w->next_frame_id;
	w->frames[h] = (struct frame_slot){ parent, pc, id };
	w->frames_used++;
	sqlite3_bind_int64(w->st_stack, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(w->st_stack, 2, (sqlite3_int64)parent);
	sqlite3_bind_int64(w->st_stack, 3, (sqlite3_int64)pc);
	run(w, w->st_stack);
	return id;
}

static void flush_samples(struct writer *w)
{
	if (!w->samples_used)
		return;
	begin(w);
	for (size_t i = 0; i < w->samples_cap; i++) {
		struct sample_slot *s = &w->samples[i];
		if (!s->thread)
			continue;
		sqlite3_bind_int64(w->st_sample, 1, s->thread);
		sqlite3_bind_int64(w->st_sample, 2, (sqlite3_int64)s->stack);
		sqlite3_bind_int64(w->st_sample, 3, (sqlite3_int64)s->count);
		sqlite3_bind_int64(w->st_sample, 4, (sqlite3_int64)s->weight_ns);
		run(w, w->st_sample);
	}
	memset(w->samples, 0, w->samples_cap * sizeof *w->samples);
	w->samples_used = 0;
}

static void add_sample(struct writer *w, const struct prof_event *ev)
{
	uint64_t stack = 0;
	for (uint32_t i = ev->sample.depth; i-- > 0;) /* outermost frame first */
		stack = intern_frame(w, stack, ev->sample.pcs[i]);
	free(ev->sample.pcs);
	size_t h = hash3(stack, ev->thread, w->samples_cap);
	for (;; h = (h + 1) & (w->samples_cap - 1)) {
		struct sample_slot *s = &w->samples[h];
		if (s->thread == ev->thread && s->stack == stack) {
			s->count++;
			s->weight_ns += ev->sample.weight_ns;
			return;
		}
		if (!s->thread) {
			*s = (struct sample_slot){ stack, ev->thread, 1, ev->sample.weight_ns };
			if (++w->samples_used * 2 >= w->samples_cap)
				flush_samples(w);
			return;
		}
	}
}

static void commit(struct writer *w)
{
	flush_insns(w);
	flush_arcs(w);
	flush_samples(w);
	if (w->in_txn && sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		db_fail(w);
	w->in_txn = false;
	w->last_commit_ns = now_ns();
}

static void add_insn(struct writer *w, const struct prof_event *ev)
{
	uint64_t key = ev->insn.pc + 1;
	size_t h = (size_t)(((key ^ ((uint64_t)ev->thread << 40)) * 0x9e3779b97f4a7c15ull) >> 24) &
		   (w->slots_cap - 1);
	for (;; h = (h + 1) & (w->slots_cap - 1)) {
		struct insn_slot *s = &w->slots[h];
		if (s->key_pc == key && s->thread == ev->thread) {
			s->count += ev->insn.count;
			return;
		}
		if (!s->key_pc) {
			*s = (struct insn_slot){ key, ev->thread, ev->insn.cls, ev->insn.count };
			/* Keep the table at most half full so probes stay short. */
			if (++w->slots_used * 2 >= w->slots_cap)
				flush_insns(w);
			return;
		}
	}
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
	run(w, st);
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

static void write_event(struct writer *w, const struct prof_event *ev)
{
	sqlite3_stmt *st;
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
	case EV_META:
		st = w->st_meta;
		sqlite3_bind_text(st, 1, ev->meta.key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, ev->meta.value, -1, SQLITE_TRANSIENT);
		run(w, st);
		free(ev->meta.key);
		free(ev->meta.value);
		break;
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct prof_event ev;
	for (;;) {
		if (!ring_try_pop(&w->ring, &ev)) {
			/* Idle: make what we have durable before sleeping. */
			if (w->in_txn && now_ns() - w->last_commit_ns > COMMIT_INTERVAL_NS)
				commit(w);
			if (!ring_pop(&w->ring, &ev))
				break;
		}
		write_event(w, &ev);
	}
	commit(w);
	return NULL;
}

int writer_start(struct writer *w, sqlite3 *db)
{
	memset(w, 0, sizeof *w);
	w->db = db;
	sqlite3_stmt **stmts[] = { &w->st_insn, &w->st_syscall, &w->st_process,
				   &w->st_process_exit, &w->st_thread, &w->st_thread_exit,
				   &w->st_map, &w->st_signal, &w->st_meta, &w->st_arc,
				   &w->st_stack, &w->st_sample };
	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
		if (sqlite3_prepare_v3(db, statements_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       stmts[i], NULL) != SQLITE_OK) {
			log_error("database: %s", sqlite3_errmsg(db));
			return -1;
		}
	}
	w->slots_cap = MAX_SLOTS;
	w->slots = xcalloc(w->slots_cap, sizeof *w->slots);
	w->arcs_cap = MAX_ARCS;
	w->arcs = xcalloc(w->arcs_cap, sizeof *w->arcs);
	w->samples_cap = MAX_SAMPLE_SLOTS;
	w->samples = xcalloc(w->samples_cap, sizeof *w->samples);
	w->last_commit_ns = now_ns();
	if (ring_init(&w->ring, RING_CAPACITY, sizeof(struct prof_event)) != 0)
		return -1;
	/* Signals (Ctrl-C, timers) must interrupt the tracer's waitpid, never
	 * land in this thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_error("cannot start the writer thread");
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
				  w->st_meta, w->st_arc, w->st_stack, w->st_sample };
	for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
		sqlite3_finalize(stmts[i]);
	ring_destroy(&w->ring);
	free(w->slots);
	free(w->arcs);
	free(w->samples);
	free(w->frames);
	return w->failed ? -1 : 0;
}
