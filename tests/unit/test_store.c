/* The store: creation, the checks store_open_read makes, meta, and a round
 * trip of hand-written rows through profile_load. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "prof/elf_file.h"
#include "prof/profile.h"
#include "prof/store.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CALLS_PATH
#error "CALLS_PATH must name the built tests/programs/calls"
#endif

struct tmp {
	char dir[64];
	char path[128]; /* dir/prof.db */
};

/* A meta value that must read without error. */
static char *meta(sqlite3 *db, const char *key)
{
	bool failed = false;
	char *v = store_get_meta(db, key, &failed);
	assert_false(failed);
	return v;
}

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);
	strcpy(t->dir, "/tmp/prof-test-store-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof t->path, "%s/prof.db", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", t->dir);
	free(t);
	return 0;
}

static int pragma(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void test_create_and_open(void **state)
{
	struct tmp *t = *state;
	char err[512] = "";
	sqlite3 *db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	assert_int_equal(pragma(db, "PRAGMA application_id"), PROF_APPLICATION_ID);
	assert_int_equal(pragma(db, "PRAGMA user_version"), PROF_SCHEMA_VERSION);
	/* The schema is there: every table the recorder writes. */
	assert_int_equal(store_exec(db, "SELECT pid, ppid, exe FROM processes;"
				       "SELECT tid, proc, name FROM threads;"
				       "SELECT proc, start, end, pgoff, path, build_id FROM maps;"
				       "SELECT part, thread, pc, class, count FROM insns;"
				       "SELECT part, thread, caller_pc, callee_pc FROM arcs;"
				       "SELECT part, thread, nr, ret FROM syscalls;"
				       "SELECT id, name, trigger, thread, end_ns FROM parts;"
				       "SELECT thread, signo FROM signals;"), 0);
	sqlite3_close(db);
	assert_true(exists(t->path));

	db = store_open_read(t->path, err, sizeof err);
	if (!db)
		fail_msg("store_open_read: %s", err);
	/* Read-only: a reader cannot change the recording. */
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO meta VALUES('k', 'v')", NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(db);
}

static void test_create_keeps_old(void **state)
{
	struct tmp *t = *state;
	char err[512], old[160];
	snprintf(old, sizeof old, "%s.old", t->path);

	sqlite3 *db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	assert_int_equal(store_set_meta(db, "run", "first"), 0);
	sqlite3_close(db);
	assert_false(exists(old));

	db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	assert_null(meta(db, "run")); /* a fresh database */
	assert_int_equal(store_set_meta(db, "run", "second"), 0);
	sqlite3_close(db);

	assert_true(exists(old));
	db = store_open_read(old, err, sizeof err);
	if (!db)
		fail_msg("%s: %s", old, err);
	char *v = meta(db, "run");
	assert_non_null(v);
	assert_string_equal(v, "first");
	free(v);
	sqlite3_close(db);

	/* A third recording replaces the .old with the second. */
	db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	sqlite3_close(db);
	db = store_open_read(old, err, sizeof err);
	assert_non_null(db);
	v = meta(db, "run");
	assert_non_null(v);
	assert_string_equal(v, "second");
	free(v);
	sqlite3_close(db);
}

/* A recorder killed before closing its database leaves its committed data
 * in FILE-wal. The next store_create must keep that recording as FILE.old
 * with its data, not only the main file. */
static void test_create_keeps_crashed_old(void **state)
{
	struct tmp *t = *state;
	char err[512], old[160];
	snprintf(old, sizeof old, "%s.old", t->path);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db = store_create(t->path, err, sizeof err);
		_exit(db && store_set_meta(db, "run", "crashed") == 0 ? 0 : 1); /* no close */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The crashed recording is readable where it is. */
	sqlite3 *db = store_open_read(t->path, err, sizeof err);
	if (!db)
		fail_msg("%s", err);
	char *v = meta(db, "run");
	assert_non_null(v);
	assert_string_equal(v, "crashed");
	free(v);
	sqlite3_close(db);

	db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	sqlite3_close(db);
	db = store_open_read(old, err, sizeof err);
	v = db ? meta(db, "run") : NULL;
	if (db)
		sqlite3_close(db);
	if (!v)
		fail_msg("the crashed recording was lost: %s", db ? "meta missing" : err);
	assert_string_equal(v, "crashed");
	free(v);
}

static void test_meta(void **state)
{
	struct tmp *t = *state;
	char err[512];
	sqlite3 *db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	assert_null(meta(db, "mode"));
	assert_int_equal(store_set_meta(db, "mode", "step"), 0);
	assert_int_equal(store_set_meta(db, "command", "./app 'a b' \"c\""), 0);
	char *v = meta(db, "mode");
	assert_non_null(v);
	assert_string_equal(v, "step");
	free(v);
	assert_int_equal(store_set_meta(db, "mode", "block"), 0); /* overwrite */
	v = meta(db, "mode");
	assert_string_equal(v, "block");
	free(v);
	v = meta(db, "command");
	assert_string_equal(v, "./app 'a b' \"c\"");
	free(v);
	assert_int_equal(store_set_meta(db, "empty", ""), 0);
	v = meta(db, "empty");
	assert_non_null(v);
	assert_string_equal(v, "");
	free(v);
	sqlite3_close(db);
}

static void expect_rejected(const char *path, const char *needle)
{
	char err[512] = "";
	sqlite3 *db = store_open_read(path, err, sizeof err);
	if (db) {
		sqlite3_close(db);
		fail_msg("%s was accepted", path);
	}
	if (!strstr(err, path))
		fail_msg("message does not name the file: %s", err);
	if (!strstr(err, needle))
		fail_msg("message lacks \"%s\": %s", needle, err);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_open_rejects(void **state)
{
	struct tmp *t = *state;
	char path[160], err[512];

	snprintf(path, sizeof path, "%s/missing.db", t->dir);
	expect_rejected(path, "no such database");

	snprintf(path, sizeof path, "%s/text.db", t->dir);
	write_file(path, "this is not a database, just some text that is long enough\n");
	expect_rejected(path, "not a prof database");

	snprintf(path, sizeof path, "%s/empty.db", t->dir);
	write_file(path, "");
	expect_rejected(path, "not a prof database");

	/* A valid SQLite file of some other application. */
	snprintf(path, sizeof path, "%s/other.db", t->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(store_exec(db, "CREATE TABLE t(x); PRAGMA user_version=1;"), 0);
	sqlite3_close(db);
	expect_rejected(path, "not a prof database");

	/* Ours, but written by a newer prof. */
	db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", PROF_SCHEMA_VERSION + 1);
	assert_int_equal(store_exec(db, sql), 0);
	sqlite3_close(db);
	expect_rejected(t->path, "newer");

	/* Ours by application_id, but no schema version at all. */
	db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	assert_int_equal(store_exec(db, "PRAGMA user_version=0"), 0);
	sqlite3_close(db);
	expect_rejected(t->path, "not a prof database");
}

/* ---- rows in, profile out ---- */

static void exec_fmt(sqlite3 *db, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	if (store_exec(db, sql) != 0)
		fail_msg("SQL failed: %s", sql);
}

static const struct func_row *find_func(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->nfuncs; i++)
		if (strcmp(p->funcs[i].name, name) == 0)
			return &p->funcs[i];
	return NULL;
}

static uint64_t class_sum(const uint64_t *classes)
{
	uint64_t s = 0;
	for (unsigned k = 0; k < CLASS_COUNT; k++)
		s += classes[k];
	return s;
}

struct calls_syms {
	uint64_t start, outer, inner, addimm;
};

/* A recording of `calls`, written by hand: two threads of one process. */
static void write_recording(const char *path, struct calls_syms *s)
{
	struct elf_file *ef = elf_file_open(CALLS_PATH);
	assert_non_null(ef);
	for (size_t i = 0; i < ef->nsyms; i++) {
		const struct elf_symbol *sym = &ef->syms[i];
		if (!strcmp(sym->name, "_start")) s->start = sym->addr;
		if (!strcmp(sym->name, "outer")) s->outer = sym->addr;
		if (!strcmp(sym->name, "inner")) s->inner = sym->addr;
		if (!strcmp(sym->name, "addimm")) s->addimm = sym->addr;
	}
	assert_true(s->start && s->outer && s->inner && s->addimm);
	/* Static non-PIE: mapped at its link address, file offset 0 at the first
	 * PT_LOAD page, so file offset = address - first page. */
	uint64_t first = ef->loads[0].vaddr & ~0xfffull;
	uint64_t last = ef->loads[ef->nloads - 1].vaddr + ef->loads[ef->nloads - 1].memsz;
	uint64_t end = (last + 0xfff) & ~0xfffull;

	char err[512];
	sqlite3 *db = store_create(path, err, sizeof err);
	assert_non_null(db);
	assert_int_equal(store_set_meta(db, "mode", "step"), 0);
	assert_int_equal(store_set_meta(db, "command", CALLS_PATH), 0);
	assert_int_equal(store_set_meta(db, "state", "complete"), 0);
	assert_int_equal(store_set_meta(db, "wall_ns", "1500000000"), 0);
	exec_fmt(db, "INSERT INTO processes(id, pid, ppid, exe, argv) VALUES(1, 4242, 1, '%s', '%s')",
		 CALLS_PATH, CALLS_PATH);
	exec_fmt(db, "INSERT INTO threads(id, tid, proc, name) VALUES(1, 4242, 1, 'calls'),"
		 " (2, 4243, 1, 'worker')");
	exec_fmt(db, "INSERT INTO maps(proc, start, end, pgoff, prot, path, build_id, seen_ns)"
		 " VALUES(1, %llu, %llu, 0, 5, '%s', '%s', 0)", (unsigned long long)first,
		 (unsigned long long)end, CALLS_PATH, ef->build_id);
	elf_file_close(ef);

	/* thread 1: inner 300 (push 50, alu 200, ret 50), outer 240, addimm 30,
	 * _start 35; thread 2: inner 60; plus 7 at an address nothing maps. */
	const struct { int thread; uint64_t pc; int cls; uint64_t count; } rows[] = {
		{ 1, s->inner + 0, CLASS_STORE, 50 },
		{ 1, s->inner + 1, CLASS_ALU, 200 },
		{ 1, s->inner + 13, CLASS_RET, 50 },
		{ 1, s->outer + 0, CLASS_STORE, 100 },
		{ 1, s->outer + 4, CLASS_CALL, 140 },
		{ 1, s->addimm + 0, CLASS_LOAD, 10 },
		{ 1, s->addimm + 5, CLASS_ALU, 10 },
		{ 1, s->addimm + 8, CLASS_RET, 10 },
		{ 1, s->start + 0, CLASS_ALU, 32 },
		{ 1, s->start + 20, CLASS_SYSCALL, 3 },
		{ 2, s->inner + 0, CLASS_STORE, 20 },
		{ 2, s->inner + 1, CLASS_ALU, 40 },
		{ 2, 0x10, CLASS_OTHER, 7 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		exec_fmt(db, "INSERT INTO insns(thread, pc, class, count) VALUES(%d, %llu, %d, %llu)",
			 rows[i].thread, (unsigned long long)rows[i].pc, rows[i].cls,
			 (unsigned long long)rows[i].count);
	exec_fmt(db, "INSERT INTO syscalls(thread, nr, ret, start_ns, end_ns) VALUES"
		 " (1, 1, 5, 0, 1000), (1, 1, -9, 0, 1000), (1, 1, 3, 0, 1000), (1, 1, -5000, 0, 1000),"
		 " (1, 60, 0, 0, 0)");
	sqlite3_close(db);
}

static void test_profile_round_trip(void **state)
{
	struct tmp *t = *state;
	struct calls_syms s = { 0 };
	write_recording(t->path, &s);

	char err[512];
	sqlite3 *db = store_open_read(t->path, err, sizeof err);
	if (!db)
		fail_msg("%s", err);
	struct profile p;
	struct profile_filter all = { .pid = 0, .tid = 0 };
	assert_int_equal(profile_load(db, &all, &p), 0);

	assert_string_equal(p.mode, "step");
	assert_string_equal(p.command, CALLS_PATH);
	assert_true(p.complete);
	assert_true(p.wall_seconds > 1.49 && p.wall_seconds < 1.51);

	assert_int_equal(p.total, 605 + 60 + 7);
	assert_int_equal(class_sum(p.classes), p.total);
	assert_int_equal(p.classes[CLASS_STORE], 50 + 100 + 20);
	assert_int_equal(p.classes[CLASS_ALU], 200 + 10 + 32 + 40);
	assert_int_equal(p.classes[CLASS_RET], 60);
	assert_int_equal(p.classes[CLASS_CALL], 140);
	assert_int_equal(p.classes[CLASS_LOAD], 10);
	assert_int_equal(p.classes[CLASS_SYSCALL], 3);
	assert_int_equal(p.classes[CLASS_OTHER], 7);

	assert_int_equal(p.nfuncs, 5);
	for (size_t i = 1; i < p.nfuncs; i++)
		assert_true(p.funcs[i - 1].count >= p.funcs[i].count); /* sorted */
	assert_string_equal(p.funcs[0].name, "inner");
	const struct func_row *inner = find_func(&p, "inner");
	const struct func_row *outer = find_func(&p, "outer");
	const struct func_row *addimm = find_func(&p, "addimm");
	const struct func_row *start = find_func(&p, "_start");
	const struct func_row *unknown = find_func(&p, "[unknown]");
	assert_non_null(inner);
	assert_non_null(outer);
	assert_non_null(addimm);
	assert_non_null(start);
	assert_non_null(unknown);
	assert_string_equal(inner->dso, "calls");
	assert_int_equal(inner->count, 360);
	assert_int_equal(inner->classes[CLASS_STORE], 70);
	assert_int_equal(inner->classes[CLASS_ALU], 240);
	assert_int_equal(inner->classes[CLASS_RET], 50);
	assert_int_equal(class_sum(inner->classes), inner->count);
	assert_int_equal(outer->count, 240);
	assert_int_equal(outer->classes[CLASS_CALL], 140);
	assert_int_equal(addimm->count, 30);
	assert_int_equal(addimm->classes[CLASS_LOAD], 10);
	assert_int_equal(start->count, 35);
	assert_int_equal(start->classes[CLASS_SYSCALL], 3);
	assert_int_equal(unknown->count, 7);

	assert_int_equal(p.ndsos, 2);
	assert_string_equal(p.dsos[0].name, "calls");
	assert_int_equal(p.dsos[0].count, 665);
	assert_int_equal(p.dsos[1].count, 7);

	assert_int_equal(p.nthreads, 2);
	assert_int_equal(p.threads[0].tid, 4242);
	assert_int_equal(p.threads[0].pid, 4242);
	assert_string_equal(p.threads[0].name, "calls");
	assert_int_equal(p.threads[0].count, 605);
	assert_int_equal(p.threads[1].tid, 4243);
	assert_int_equal(p.threads[1].count, 67);

	assert_int_equal(p.nsys, 2);
	assert_string_equal(p.sys[0].name, "write");
	assert_int_equal(p.sys[0].calls, 4);
	assert_int_equal(p.sys[0].errors, 1); /* -9 is -EBADF; -5000 is no errno */
	assert_true(p.sys[0].seconds > 3.9e-6 && p.sys[0].seconds < 4.1e-6);
	assert_string_equal(p.sys[1].name, "exit");
	assert_int_equal(p.sys[1].calls, 1);
	assert_int_equal(p.sys[1].errors, 0);
	profile_free(&p);

	/* Only the second thread. */
	struct profile_filter worker = { .pid = 0, .tid = 4243 };
	assert_int_equal(profile_load(db, &worker, &p), 0);
	assert_int_equal(p.total, 67);
	assert_int_equal(p.nthreads, 1);
	inner = find_func(&p, "inner");
	assert_non_null(inner);
	assert_int_equal(inner->count, 60);
	assert_null(find_func(&p, "outer"));
	assert_int_equal(p.nsys, 0);
	profile_free(&p);

	/* A pid that is not in the recording: nothing. */
	struct profile_filter nobody = { .pid = 1, .tid = 0 };
	assert_int_equal(profile_load(db, &nobody, &p), 0);
	assert_int_equal(p.total, 0);
	assert_int_equal(p.nfuncs, 0);
	profile_free(&p);
	sqlite3_close(db);
}

static void test_profile_incomplete(void **state)
{
	/* No state in meta (the recorder died before writing it): incomplete. */
	struct tmp *t = *state;
	char err[512];
	sqlite3 *db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	sqlite3_close(db);
	db = store_open_read(t->path, err, sizeof err);
	assert_non_null(db);
	struct profile p;
	struct profile_filter all = { .pid = 0, .tid = 0 };
	assert_int_equal(profile_load(db, &all, &p), 0);
	assert_false(p.complete);
	assert_string_equal(p.state, "incomplete");
	assert_int_equal(p.total, 0);
	profile_free(&p);
	sqlite3_close(db);
}

/* Another connection's exclusive lock: every read of the recording fails
 * with SQLITE_BUSY. A meta read that fails is an error, never a missing key. */
static void test_meta_read_error(void **state)
{
	struct tmp *t = *state;
	char err[512];
	sqlite3 *db = store_create(t->path, err, sizeof err);
	assert_non_null(db);
	assert_int_equal(store_set_meta(db, "state", "complete"), 0);
	assert_int_equal(store_set_meta(db, "mode", "block"), 0);
	assert_int_equal(store_seal(db), 0); /* rollback journal: a writer locks readers out */
	sqlite3_close(db);
	db = store_open_read(t->path, err, sizeof err);
	assert_non_null(db);
	sqlite3_busy_timeout(db, 0);
	sqlite3 *locker;
	assert_int_equal(sqlite3_open(t->path, &locker), SQLITE_OK);
	assert_int_equal(sqlite3_exec(locker, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);

	bool failed = false;
	assert_null(store_get_meta(db, "state", &failed));
	assert_true(failed);
	assert_null(store_get_meta(db, "mode", &failed)); /* reads nothing more */
	assert_int_equal(store_state(db), STATE_UNREADABLE);
	assert_int_equal(store_check_state(db, t->path), -1);
	struct profile p;
	struct profile_filter all = { .pid = 0, .tid = 0 };
	assert_int_equal(profile_load(db, &all, &p), -1);
	profile_free(&p);

	sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(locker);
	failed = false;
	char *v = store_get_meta(db, "state", &failed);
	assert_false(failed);
	assert_string_equal(v, "complete");
	free(v);
	sqlite3_close(db);
}

/* One thread, three pcs of 2^62 instructions each: every per-pc count fits,
 * their sum does not (SQLite's SUM fails with "integer overflow"). */
static void write_overflowing(const char *path)
{
	char err[512];
	sqlite3 *db = store_create(path, err, sizeof err);
	if (!db)
		fail_msg("%s", err);
	exec_fmt(db, "INSERT INTO processes(id, pid, ppid, exe, argv) VALUES(1, 4242, 1, 'a', 'a')");
	exec_fmt(db, "INSERT INTO threads(id, tid, proc, name) VALUES(1, 4242, 1, 'a')");
	for (int pc = 1; pc <= 3; pc++)
		exec_fmt(db, "INSERT INTO insns(thread, pc, class, count) VALUES(1, %d, 0, %lld)",
			 pc, 1ll << 62);
	store_seal(db);
	sqlite3_close(db);
}

/* --verify's totals are read errors too, not "block and step agree". */
static void test_verify_read_error(void **state)
{
	struct tmp *t = *state;
	char step[160];
	snprintf(step, sizeof step, "%s/step.db", t->dir);
	write_overflowing(t->path);
	write_overflowing(step);
	assert_int_equal(verify_compare(t->path, step, "block", true), -1);
	unlink(step);
}

/* A recording from before parts (schema 2) reads as one part. */
static void test_reads_schema_2(void **state)
{
	struct tmp *t = *state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
	exec_fmt(db, "PRAGMA application_id=%d; PRAGMA user_version=2;"
		 "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
		 "CREATE TABLE processes(id INTEGER PRIMARY KEY, pid INTEGER, ppid INTEGER,"
		 "  exe TEXT, argv TEXT, start_ns INTEGER, end_ns INTEGER, exit_status INTEGER);"
		 "CREATE TABLE threads(id INTEGER PRIMARY KEY, tid INTEGER, proc INTEGER,"
		 "  name TEXT, start_ns INTEGER, end_ns INTEGER);"
		 "CREATE TABLE maps(proc INTEGER, start INTEGER, end INTEGER, pgoff INTEGER,"
		 "  prot INTEGER, path TEXT, build_id TEXT, seen_ns INTEGER,"
		 "  size INTEGER, mtime_ns INTEGER, text_hash TEXT, UNIQUE(proc, start, end, pgoff, path));"
		 "CREATE TABLE insns(thread INTEGER, pc INTEGER, class INTEGER, count INTEGER,"
		 "  PRIMARY KEY(thread, pc)) WITHOUT ROWID;"
		 "CREATE TABLE arcs(thread INTEGER, caller_pc INTEGER, callee_pc INTEGER,"
		 "  calls INTEGER, inclusive INTEGER, outer_inclusive INTEGER,"
		 "  PRIMARY KEY(thread, caller_pc, callee_pc)) WITHOUT ROWID;"
		 "CREATE TABLE stacks(id INTEGER PRIMARY KEY, parent INTEGER, pc INTEGER);"
		 "CREATE TABLE samples(thread INTEGER, stack INTEGER, count INTEGER, weight_ns INTEGER,"
		 "  PRIMARY KEY(thread, stack)) WITHOUT ROWID;"
		 "CREATE TABLE syscalls(thread INTEGER, nr INTEGER, arg0 INTEGER, arg1 INTEGER,"
		 "  arg2 INTEGER, arg3 INTEGER, arg4 INTEGER, arg5 INTEGER, ret INTEGER,"
		 "  start_ns INTEGER, end_ns INTEGER);"
		 "CREATE TABLE signals(thread INTEGER, signo INTEGER, pc INTEGER, ns INTEGER);"
		 "INSERT INTO meta VALUES('state', 'complete'), ('mode', 'block');"
		 "INSERT INTO processes(id, pid, ppid, exe, argv) VALUES(1, 4242, 1, 'a', 'a');"
		 "INSERT INTO threads(id, tid, proc, name) VALUES(1, 4242, 1, 'a');"
		 "INSERT INTO insns VALUES(1, 16, 0, 5), (1, 32, 9, 7);"
		 "INSERT INTO arcs VALUES(1, 0, 16, 1, 12, 12);"
		 "INSERT INTO syscalls(thread, nr, ret) VALUES(1, 60, 0);", PROF_APPLICATION_ID);
	sqlite3_close(db);
	char err[512];
	db = store_open_read(t->path, err, sizeof err);
	if (!db)
		fail_msg("%s", err);
	assert_int_equal(store_schema_version(db), 2);
	assert_int_equal(pragma(db, "SELECT COUNT(*) FROM parts"), 0);
	assert_int_equal(pragma(db, "SELECT SUM(count) FROM insns WHERE part = 1"), 12);
	assert_int_equal(pragma(db, "SELECT SUM(inclusive) FROM arcs WHERE part = 1"), 12);
	assert_int_equal(pragma(db, "SELECT COUNT(*) FROM syscalls WHERE part = 1"), 1);
	struct profile p;
	struct profile_filter all = { .pid = 0, .tid = 0 };
	assert_int_equal(profile_load(db, &all, &p), 0);
	assert_int_equal(p.total, 12);
	assert_int_equal(p.nsys, 1);
	profile_free(&p);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_open, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_create_keeps_old, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_create_keeps_crashed_old, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_meta, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_open_rejects, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_profile_round_trip, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_profile_incomplete, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_meta_read_error, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_verify_read_error, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_reads_schema_2, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
