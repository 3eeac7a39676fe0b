/* The one schema module: creation, version checks, and small helpers. */
#include "prof/store.h"
#include "prof/classes.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

/* Schema 4: code that changes and the names of what ran. */

/* JIT code. When code in an address range changes (munmap, mprotect, mmap
 * over it, a rewrite), what runs there from then on is a new generation:
 * gen is the process's code clock at that moment, and insns and arcs keep
 * counts of different generations apart; replaced is 1 when the old code
 * is certainly gone (unmapped, mapped over), 0 when it may live on (its
 * protection changed, it was written to); born_ns when prof saw the change
 * (CLOCK_MONOTONIC, the clock of jitdump load times). jit_symbols holds what
 * the program's JIT said in /tmp/perf-PID.map and jit-PID.dump, each entry
 * stamped with the clock when prof read it; code_seen the bytes of
 * anonymous executable code prof decoded; code_blobs holds each distinct
 * byte string once (hash: FNV-1a of the bytes). */
#define JIT_SCHEMA_SQL \
	"CREATE TABLE code_gens(proc INTEGER, gen INTEGER, start INTEGER, end INTEGER," \
	"  replaced INTEGER NOT NULL DEFAULT 0, born_ns INTEGER," \
	"  PRIMARY KEY(proc, gen, start)) WITHOUT ROWID;" \
	"CREATE TABLE code_blobs(id INTEGER PRIMARY KEY, hash INTEGER, bytes BLOB);" \
	"CREATE INDEX code_blobs_hash ON code_blobs(hash);" \
	"CREATE TABLE code_seen(proc INTEGER, gen INTEGER, start INTEGER, blob INTEGER," \
	"  PRIMARY KEY(proc, gen, start)) WITHOUT ROWID;" \
	"CREATE TABLE jit_symbols(id INTEGER PRIMARY KEY, proc INTEGER, start INTEGER," \
	"  size INTEGER, name TEXT, source TEXT, stamp INTEGER, load_ns INTEGER," \
	"  code_index INTEGER, blob INTEGER);"

/* Names, written at the end of record while the binaries are the ones that
 * ran: every executed pc of a process and generation lies in one row of
 * code_ranges, naming its function (link-time address = pc - bias);
 * source_lines maps a function's link-time addresses to file and line;
 * direct_jumps keeps the targets of the executed direct jmps (report counts
 * jumps into functions as calls). The views are for users' own queries. */
#define NAMES_SCHEMA_SQL \
	"CREATE TABLE functions(id INTEGER PRIMARY KEY, name TEXT, demangled TEXT, dso TEXT," \
	"  start INTEGER, size INTEGER);" \
	"CREATE TABLE code_ranges(proc INTEGER, gen INTEGER, start INTEGER, end INTEGER," \
	"  function INTEGER, bias INTEGER, PRIMARY KEY(proc, gen, start)) WITHOUT ROWID;" \
	"CREATE TABLE source_files(id INTEGER PRIMARY KEY, path TEXT);" \
	"CREATE TABLE source_lines(function INTEGER, start INTEGER, end INTEGER, file INTEGER," \
	"  line INTEGER, PRIMARY KEY(function, start)) WITHOUT ROWID;" \
	"CREATE TABLE direct_jumps(proc INTEGER, gen INTEGER, pc INTEGER, target INTEGER," \
	"  PRIMARY KEY(proc, gen, pc)) WITHOUT ROWID;" \
	"CREATE TABLE syscall_names(nr INTEGER PRIMARY KEY, name TEXT);" \
	"CREATE TABLE class_names(id INTEGER PRIMARY KEY, name TEXT);" \
	/* Each executed (thread, pc, generation) with its function and link-time address. */ \
	"CREATE VIEW insn_names AS SELECT x.thread, t.proc, x.pc, x.gen, x.class, x.count," \
	"  r.function, x.pc - r.bias AS addr FROM insns x JOIN threads t ON t.id = x.thread" \
	"  LEFT JOIN code_ranges r ON r.proc = t.proc AND r.gen = x.gen AND x.pc < r.end" \
	"  AND r.start = (SELECT MAX(q.start) FROM code_ranges q" \
	"                 WHERE q.proc = t.proc AND q.gen = x.gen AND q.start <= x.pc);" \
	"CREATE VIEW function_instructions AS SELECT COALESCE(f.demangled, f.name, '[unknown]')" \
	"  AS function, f.name AS symbol, f.dso, SUM(n.count) AS instructions" \
	"  FROM insn_names n LEFT JOIN functions f ON f.id = n.function" \
	"  GROUP BY n.function ORDER BY instructions DESC;" \
	"CREATE VIEW line_instructions AS SELECT s.path AS file, l.line," \
	"  COALESCE(f.demangled, f.name, '[unknown]') AS function, f.dso," \
	"  SUM(n.count) AS instructions FROM insn_names n LEFT JOIN functions f ON f.id = n.function" \
	"  LEFT JOIN source_lines l ON l.function = n.function AND n.addr < l.end" \
	"  AND l.start = (SELECT MAX(q.start) FROM source_lines q" \
	"                 WHERE q.function = n.function AND q.start <= n.addr)" \
	"  LEFT JOIN source_files s ON s.id = l.file" \
	"  GROUP BY s.path, l.line, n.function ORDER BY instructions DESC;" \
	"CREATE VIEW class_instructions AS SELECT COALESCE(c.name, x.class) AS class," \
	"  SUM(x.count) AS instructions FROM insns x LEFT JOIN class_names c ON c.id = x.class" \
	"  GROUP BY x.class ORDER BY instructions DESC;" \
	"CREATE VIEW syscall_summary AS SELECT COALESCE(n.name, 'syscall_' || s.nr) AS syscall," \
	"  COUNT(*) AS calls, SUM(s.ret < 0 AND s.ret >= -4095) AS errors," \
	"  SUM(COALESCE(s.end_ns - s.start_ns, 0)) / 1e9 AS seconds" \
	"  FROM syscalls s LEFT JOIN syscall_names n ON n.nr = s.nr" \
	"  GROUP BY s.nr ORDER BY calls DESC;"

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
	/* One row per process image: a pid that execs gets a new row. */
	"CREATE TABLE processes(id INTEGER PRIMARY KEY, pid INTEGER, ppid INTEGER,"
	"  exe TEXT, argv TEXT, start_ns INTEGER, end_ns INTEGER, exit_status INTEGER);"
	"CREATE TABLE threads(id INTEGER PRIMARY KEY, tid INTEGER, proc INTEGER,"
	"  name TEXT, start_ns INTEGER, end_ns INTEGER);"
	/* size, mtime_ns and (without a build-id) text_hash identify the file
	 * mapped, so a report can tell when it was rebuilt (schema 2). A
	 * mapping is stored each time it appears: a library mapped again
	 * after another was at its place (dlclose, dlopen) has a row of each
	 * time, which tells a report whose code each generation ran. */
	"CREATE TABLE maps(proc INTEGER, start INTEGER, end INTEGER, pgoff INTEGER,"
	"  prot INTEGER, path TEXT, build_id TEXT, seen_ns INTEGER,"
	"  size INTEGER, mtime_ns INTEGER, text_hash TEXT,"
	"  UNIQUE(proc, start, end, pgoff, path, seen_ns));"
	/* Parts (schema 3): a dump requested by the program (valgrind's
	 * CALLGRIND_DUMP_STATS[_AT]) ends one, the recording's end the last;
	 * name NULL: known by its number (id). Counts, arcs and syscalls carry
	 * the part they belong to. */
	"CREATE TABLE parts(id INTEGER PRIMARY KEY, name TEXT, trigger TEXT, thread INTEGER,"
	"  end_ns INTEGER);"
	/* Key columns are declared in the key's order: SQLite 3.40's
	 * quick_check misreads a WITHOUT ROWID table whose key columns are
	 * declared in another. gen: the code generation of pc's address range
	 * when it ran (schema 4; 0 until code there was replaced: see code_gens). */
	"CREATE TABLE insns(part INTEGER NOT NULL DEFAULT 1, thread INTEGER, pc INTEGER,"
	"  gen INTEGER NOT NULL DEFAULT 0, class INTEGER, count INTEGER,"
	"  PRIMARY KEY(part, thread, pc, gen)) WITHOUT ROWID;"
	/* One row per call site and callee: inclusive counts every call (as
	 * callgrind's arcs do); outer_inclusive only calls that were the callee's
	 * outermost activation, so a function's inclusive total does not count
	 * recursion twice. caller_pc 0 is a thread's root. */
	"CREATE TABLE arcs(part INTEGER NOT NULL DEFAULT 1, thread INTEGER, caller_pc INTEGER,"
	"  caller_gen INTEGER NOT NULL DEFAULT 0, callee_pc INTEGER, callee_gen INTEGER NOT NULL DEFAULT 0,"
	"  calls INTEGER, inclusive INTEGER, outer_inclusive INTEGER,"
	"  PRIMARY KEY(part, thread, caller_pc, caller_gen, callee_pc, callee_gen)) WITHOUT ROWID;"
	/* Sample mode: stacks as a tree (each row one frame under its parent;
	 * parent 0 is the outermost), samples per (thread, leaf row). */
	"CREATE TABLE stacks(id INTEGER PRIMARY KEY, parent INTEGER, pc INTEGER);"
	"CREATE TABLE samples(thread INTEGER, stack INTEGER, count INTEGER, weight_ns INTEGER,"
	"  PRIMARY KEY(thread, stack)) WITHOUT ROWID;"
	"CREATE TABLE syscalls(thread INTEGER, nr INTEGER, arg0 INTEGER, arg1 INTEGER,"
	"  arg2 INTEGER, arg3 INTEGER, arg4 INTEGER, arg5 INTEGER, ret INTEGER,"
	"  start_ns INTEGER, end_ns INTEGER, part INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE signals(thread INTEGER, signo INTEGER, pc INTEGER, ns INTEGER);"
	JIT_SCHEMA_SQL NAMES_SCHEMA_SQL;

int store_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("database: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* A recording killed before it closed still has its pages in FILE-wal:
 * the WAL moves with the database so FILE.old stays readable. */
static int keep_as_old(const char *path, const char *old)
{
	char *wal = xasprintf("%s-wal", path), *old_wal = xasprintf("%s-wal", old);
	int rc = rename(path, old);
	if (rc == 0 && access(wal, F_OK) == 0)
		rc = rename(wal, old_wal);
	free(wal);
	free(old_wal);
	return rc;
}

/* SQLite's files beside a database, and the space a recorder holds for a
 * full disk (left behind only by a recorder that was killed). */
static void remove_sidecars(const char *path)
{
	static const char *const sidecars[] = { "-wal", "-shm", "-reserve" };
	for (size_t i = 0; i < sizeof sidecars / sizeof *sidecars; i++) {
		char *p = xasprintf("%s%s", path, sidecars[i]);
		unlink(p);
		free(p);
	}
}

static int pragma_int(sqlite3 *db, const char *pragma, int *value)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, pragma, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*value = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Only a prof recording may be replaced: a directory, a device, a FIFO or
 * the user's program named by a mistyped -o must survive. */
/* What is at an output path, as far as replacing it goes. */
enum output_kind { OUTPUT_OTHER, OUTPUT_RECORDING, OUTPUT_BEING_WRITTEN, OUTPUT_UNREADABLE };

static enum output_kind output_kind(const char *path, long *recorder)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return OUTPUT_OTHER;
	sqlite3 *db;
	int app_id = 0;
	enum output_kind kind = OUTPUT_OTHER;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    pragma_int(db, "PRAGMA application_id", &app_id) == SQLITE_OK &&
	    app_id == PROF_APPLICATION_ID)
		switch (store_state(db)) {
		case STATE_BEING_WRITTEN: {
			bool failed = false;
			char *pid = store_get_meta(db, "recorder_pid", &failed);
			*recorder = pid ? atol(pid) : 0;
			free(pid);
			kind = OUTPUT_BEING_WRITTEN;
			break;
		}
		case STATE_UNREADABLE:
			kind = OUTPUT_UNREADABLE; /* maybe a live recorder's: keep it */
			break;
		default:
			kind = OUTPUT_RECORDING;
		}
	sqlite3_close(db);
	return kind;
}

static int check_replaceable(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	long recorder = 0;
	enum output_kind kind = output_kind(path, &recorder);
	if (kind == OUTPUT_RECORDING)
		return 0;
	if (kind == OUTPUT_BEING_WRITTEN) {
		snprintf(err, errlen, "%s: being recorded by prof (pid %ld)", path, recorder);
		return -1;
	}
	const char *what = kind == OUTPUT_UNREADABLE ? "a prof database that cannot be read"
		: S_ISDIR(st.st_mode) ? "a directory"
		: S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) ? "not a prof database"
		: "not a regular file";
	snprintf(err, errlen, "%s exists and is %s: not replacing it (choose another -o)",
		 path, what);
	return -1;
}

int store_check_output(const char *path, char *err, size_t errlen)
{
	char *old = xasprintf("%s.old", path);
	int rc = check_replaceable(path, err, errlen);
	if (rc == 0 && access(path, F_OK) == 0)
		rc = check_replaceable(old, err, errlen);
	free(old);
	return rc;
}

sqlite3 *store_create(const char *path, char *err, size_t errlen)
{
	if (store_check_output(path, err, errlen) != 0)
		return NULL;
	struct stat st;
	if (stat(path, &st) == 0) {
		char *old = xasprintf("%s.old", path);
		remove_sidecars(old);
		if (keep_as_old(path, old) != 0) {
			snprintf(err, errlen, "cannot keep %s as %s: %s", path, old, strerror(errno));
			free(old);
			return NULL;
		}
		free(old);
	}
	remove_sidecars(path);
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot create %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	char *setup = xasprintf("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				"PRAGMA application_id=%d; PRAGMA user_version=%d;"
				"BEGIN; %s COMMIT;",
				PROF_APPLICATION_ID, PROF_SCHEMA_VERSION, schema_sql);
	char *msg = NULL;
	int rc = sqlite3_exec(db, setup, NULL, NULL, &msg);
	free(setup);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot create %s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* A damaged page must not read as a plausible recording: every page is
 * checked once, before any report is built from them. */
static int check_integrity(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	const char *verdict = NULL;
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		verdict = (const char *)sqlite3_column_text(st, 0);
	bool ok = verdict && strcmp(verdict, "ok") == 0;
	if (!ok)
		snprintf(err, errlen, "%s: %s", path,
			 verdict || rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB
			 ? "database disk image is malformed" : sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

/* Rows the recorder cannot have written: each query counts them. */
static const struct {
	const char *what, *sql;
} impossible[] = {
	{ "process ids", "SELECT COUNT(*) FROM processes WHERE typeof(id) != 'integer' OR id < 1"
	  " OR id > (SELECT COUNT(*) FROM processes)" },
	{ "threads", "SELECT COUNT(*) FROM threads WHERE id < 1 OR id > (SELECT COUNT(*) FROM threads)"
	  " OR proc NOT IN (SELECT id FROM processes)" },
	{ "mappings", "SELECT COUNT(*) FROM maps WHERE proc NOT IN (SELECT id FROM processes)"
	  " OR typeof(start) != 'integer' OR typeof(end) != 'integer' OR typeof(pgoff) != 'integer'" },
	{ "instruction counts", "SELECT COUNT(*) FROM insns WHERE typeof(count) != 'integer'"
	  " OR count < 1 OR typeof(pc) != 'integer' OR typeof(class) != 'integer'"
	  " OR typeof(part) != 'integer' OR part < 1"
	  " OR class < 0 OR class >= ?1 OR thread NOT IN (SELECT id FROM threads)" },
	{ "call arcs", "SELECT COUNT(*) FROM arcs WHERE typeof(calls) != 'integer' OR calls < 0"
	  " OR typeof(inclusive) != 'integer' OR inclusive < 0"
	  " OR typeof(outer_inclusive) != 'integer' OR outer_inclusive < 0"
	  " OR typeof(part) != 'integer' OR part < 1"
	  " OR thread NOT IN (SELECT id FROM threads)" },
	{ "stacks", "SELECT COUNT(*) FROM stacks WHERE id < 1 OR id > (SELECT COUNT(*) FROM stacks)"
	  " OR typeof(parent) != 'integer' OR (parent != 0 AND parent NOT IN (SELECT id FROM stacks))" },
	{ "samples", "SELECT COUNT(*) FROM samples WHERE typeof(count) != 'integer' OR count < 1"
	  " OR stack NOT IN (SELECT id FROM stacks) OR thread NOT IN (SELECT id FROM threads)" },
	{ "parts", "SELECT COUNT(*) FROM parts WHERE typeof(id) != 'integer' OR id < 1"
	  " OR (name IS NOT NULL AND typeof(name) != 'text')" },
	{ "system calls", "SELECT COUNT(*) FROM syscalls WHERE typeof(nr) != 'integer'"
	  " OR typeof(part) != 'integer' OR part < 1"
	  " OR thread NOT IN (SELECT id FROM threads)" },
	{ "signals", "SELECT COUNT(*) FROM signals WHERE thread NOT IN (SELECT id FROM threads)" },
	{ "code generations", "SELECT (SELECT COUNT(*) FROM insns WHERE typeof(gen) != 'integer' OR gen < 0)"
	  " + (SELECT COUNT(*) FROM arcs WHERE typeof(caller_gen) != 'integer'"
	  "    OR typeof(callee_gen) != 'integer')" },
};

/* Schema 4's own tables: only a recording that has them is checked. */
static const struct {
	const char *what, *sql;
} impossible_v3[] = {
	{ "code generations", "SELECT COUNT(*) FROM code_gens WHERE typeof(gen) != 'integer' OR gen < 1"
	  " OR typeof(start) != 'integer' OR typeof(end) != 'integer'" },
	{ "JIT symbols", "SELECT COUNT(*) FROM jit_symbols WHERE typeof(start) != 'integer'"
	  " OR typeof(size) != 'integer' OR size < 0 OR typeof(stamp) != 'integer' OR name IS NULL" },
	{ "code ranges", "SELECT COUNT(*) FROM code_ranges WHERE typeof(start) != 'integer'"
	  " OR typeof(end) != 'integer' OR typeof(bias) != 'integer' OR typeof(gen) != 'integer'"
	  " OR function NOT IN (SELECT id FROM functions)" },
	{ "functions", "SELECT COUNT(*) FROM functions WHERE typeof(name) != 'text' OR typeof(dso) != 'text'" },
	{ "source lines", "SELECT COUNT(*) FROM source_lines WHERE typeof(start) != 'integer'"
	  " OR typeof(end) != 'integer' OR typeof(line) != 'integer'"
	  " OR file NOT IN (SELECT id FROM source_files)" },
};

/* Runs one "how many impossible rows" query; 0 when none. */
static int check_query(sqlite3 *db, const char *path, const char *what, const char *sql,
		       char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	long long bad = -1;
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int(st, 1, CLASS_COUNT); /* class ids run 0 .. CLASS_COUNT-1 */
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		bad = sqlite3_column_int64(st, 0);
	if (bad < 0)
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
	else if (bad > 0)
		snprintf(err, errlen, "%s: corrupt recording: %lld impossible %s", path, bad, what);
	sqlite3_finalize(st);
	return bad != 0 ? -1 : 0;
}

static int check_values(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof impossible / sizeof impossible[0]; i++)
		if (check_query(db, path, impossible[i].what, impossible[i].sql, err, errlen) != 0)
			return -1;
	if (store_schema_version(db) < 4)
		return 0;
	for (size_t i = 0; i < sizeof impossible_v3 / sizeof impossible_v3[0]; i++)
		if (check_query(db, path, impossible_v3[i].what, impossible_v3[i].sql, err, errlen) != 0)
			return -1;
	return 0;
}

/* The totals a finished recording is checked against: rows, sums of the
 * counts and of their keys (terms kept small where a sum could overflow),
 * so that damage SQLite's quick_check cannot see (a page copied over
 * another) or an edited count is an error, not a plausible report. About a
 * sixth of a report's time on a 1.5M-row recording. */
static const char totals_sql[] =
	"SELECT (SELECT COUNT(*) || ' ' || IFNULL(SUM(count), 0) || ' ' ||"
	"  IFNULL(SUM(pc % 1000003 + thread * 8 + class), 0) FROM insns) || ' ' ||"
	" (SELECT COUNT(*) || ' ' || IFNULL(SUM(calls), 0) || ' ' || IFNULL(SUM(inclusive % 1000003"
	"  + outer_inclusive % 1000003 + caller_pc % 1000003 + callee_pc % 1000003 + thread), 0)"
	"  FROM arcs) || ' ' ||"
	" (SELECT COUNT(*) || ' ' || IFNULL(SUM(count), 0) || ' ' ||"
	"  IFNULL(SUM(stack % 1000003 + thread), 0) FROM samples)"
	" || ' ' || (SELECT COUNT(*) FROM stacks) || ' ' || (SELECT COUNT(*) FROM syscalls)"
	" || ' ' || (SELECT COUNT(*) FROM threads) || ' ' || (SELECT COUNT(*) FROM processes)";

/* The totals of db as text (caller frees), or NULL after a failed query. */
static char *totals(sqlite3 *db)
{
	sqlite3_stmt *st;
	char *text = NULL;
	if (sqlite3_prepare_v2(db, totals_sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		text = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return text;
}

/* A recording sealed with its totals must still have them. */
static int check_totals(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	bool failed = false;
	char *want = store_get_meta(db, "totals", &failed);
	char *got = want ? totals(db) : NULL;
	int rc = 0;
	if (failed || (want && !got)) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		rc = -1;
	} else if (want && strcmp(want, got) != 0) {
		snprintf(err, errlen, "%s: corrupt recording: its rows no longer add up to the totals "
			 "written when it was finished (a damaged or edited file)", path);
		rc = -1;
	}
	free(want);
	free(got);
	return rc;
}

/* Older recordings are read as the current schema: temporary views (SQLite
 * finds them before the file's own tables, and a read-only recording can
 * have them) give them the columns every reader asks for: part 1 before
 * schema 3, generation 0 before schema 4. */
static int read_as_current(sqlite3 *db, int version, const char *path, char *err, size_t errlen)
{
	static const char before_parts[] =
		"CREATE TEMP TABLE parts(id INTEGER PRIMARY KEY, name TEXT, trigger TEXT,"
		"  thread INTEGER, end_ns INTEGER);"
		"CREATE TEMP VIEW insns AS SELECT 1 AS part, thread, pc, 0 AS gen, class, count"
		"  FROM main.insns;"
		"CREATE TEMP VIEW arcs AS SELECT 1 AS part, thread, caller_pc, 0 AS caller_gen, callee_pc,"
		"  0 AS callee_gen, calls, inclusive, outer_inclusive FROM main.arcs;"
		"CREATE TEMP VIEW syscalls AS SELECT *, 1 AS part FROM main.syscalls;";
	static const char before_gens[] =
		"CREATE TEMP VIEW insns AS SELECT part, thread, pc, 0 AS gen, class, count FROM main.insns;"
		"CREATE TEMP VIEW arcs AS SELECT part, thread, caller_pc, 0 AS caller_gen, callee_pc,"
		"  0 AS callee_gen, calls, inclusive, outer_inclusive FROM main.arcs;";
	const char *views = version < 3 ? before_parts : version < 4 ? before_gens : NULL;
	char *msg = NULL;
	if (!views || sqlite3_exec(db, views, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

sqlite3 *store_open_read(const char *path, char *err, size_t errlen)
{
	if (access(path, F_OK) != 0) {
		snprintf(err, errlen, "%s: no such database (record one with 'prof record')", path);
		return NULL;
	}
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	int app_id = 0, version = 0;
	int rc = pragma_int(db, "PRAGMA application_id", &app_id);
	if (rc == SQLITE_OK)
		rc = pragma_int(db, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK || app_id != PROF_APPLICATION_ID) {
		snprintf(err, errlen, "%s: not a prof database", path);
		sqlite3_close(db);
		return NULL;
	}
	if (version > PROF_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "%s: schema version %d is newer than this prof understands (%d); "
			 "upgrade prof", path, version, PROF_SCHEMA_VERSION);
		sqlite3_close(db);
		return NULL;
	}
	if (version < 1) {
		snprintf(err, errlen, "%s: not a prof database (no schema version)", path);
		sqlite3_close(db);
		return NULL;
	}
	if (check_integrity(db, path, err, errlen) != 0 ||
	    read_as_current(db, version, path, err, errlen) != 0 ||
	    check_values(db, path, err, errlen) != 0 || check_totals(db, path, err, errlen) != 0) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

int store_set_meta(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		log_error("database: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_error("database: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

char *store_get_meta(sqlite3 *db, const char *key, bool *failed)
{
	sqlite3_stmt *st;
	char *value = NULL;
	if (*failed)
		return NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		*failed = true;
		store_read_error(db);
		sqlite3_finalize(st);
		return NULL;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
		value = xstrdup((const char *)sqlite3_column_text(st, 0));
	if (store_loop_end(st, rc == SQLITE_ROW ? SQLITE_DONE : rc) != 0) {
		*failed = true;
		free(value);
		value = NULL;
	}
	return value;
}

/* A pid is reused once its process is gone: the recorder is alive only if a
 * process with its pid and its start time runs here. */
static bool recorder_alive(sqlite3 *db, const char *pid, bool *failed)
{
	char *start = store_get_meta(db, "recorder_start", failed);
	char *host = store_get_meta(db, "host", failed);
	char here[256] = "";
	gethostname(here, sizeof here - 1);
	bool alive = pid && (!host || strcmp(host, here) == 0) &&
		     (start ? proc_start_time(atoi(pid)) == strtoull(start, NULL, 10)
			    : kill(atoi(pid), 0) == 0); /* recorded before start times */
	free(start);
	free(host);
	return alive;
}

enum store_state store_state(sqlite3 *db)
{
	bool failed = false;
	char *state = store_get_meta(db, "state", &failed);
	char *pid = store_get_meta(db, "recorder_pid", &failed);
	enum store_state st = STATE_INCOMPLETE;
	if (state && strcmp(state, "complete") == 0)
		st = STATE_COMPLETE;
	else if (state && strcmp(state, "recording") == 0)
		st = recorder_alive(db, pid, &failed) ? STATE_BEING_WRITTEN : STATE_ABANDONED;
	if (failed)
		st = STATE_UNREADABLE;
	free(state);
	free(pid);
	return st;
}

/* Why a recording is incomplete: a full disk ("KEPT TOTAL" in meta
 * disk_full: the counts that reached the file, of all counted), else an
 * interruption (Ctrl-C, --duration, the program's recorder stopped). */
static void warn_incomplete(sqlite3 *db, const char *path)
{
	bool failed = false;
	char *full = store_get_meta(db, "disk_full", &failed);
	char *mode = store_get_meta(db, "mode", &failed);
	unsigned long long kept, total;
	char k[32], t[32];
	if (full && sscanf(full, "%llu %llu", &kept, &total) == 2)
		log_warn("%s: the disk filled up while recording: the counts of %s of %s %s were "
			 "kept (%.1f%%); the rest is lost", path, fmt_count(kept, k, sizeof k),
			 fmt_count(total, t, sizeof t),
			 mode && strcmp(mode, "sample") == 0 ? "samples" : "instructions",
			 total ? 100.0 * (double)kept / (double)total : 100.0);
	else
		log_warn("%s: recording was interrupted; counts are incomplete", path);
	free(full);
	free(mode);
}

int store_check_state(sqlite3 *db, const char *path)
{
	switch (store_state(db)) {
	case STATE_BEING_WRITTEN: {
		bool failed = false;
		char *pid = store_get_meta(db, "recorder_pid", &failed);
		if (!failed)
			log_error("%s is still being written by prof record (pid %s)", path, pid);
		free(pid);
		return -1;
	}
	case STATE_UNREADABLE:
		return -1;
	case STATE_ABANDONED:
		log_warn("%s: the recorder stopped before finishing; counts are incomplete", path);
		break;
	case STATE_INCOMPLETE:
		warn_incomplete(db, path);
		break;
	case STATE_COMPLETE:
		break;
	}
	return 0;
}

/* The database's path as the user most likely typed it: relative to the
 * working directory when it lies below it. */
static const char *display_path(sqlite3 *db, char *buf, size_t len)
{
	const char *full = sqlite3_db_filename(db, "main");
	if (!full || !*full)
		return "database";
	size_t n = getcwd(buf, len) ? strlen(buf) : 0;
	if (n && strncmp(full, buf, n) == 0 && full[n] == '/')
		return full + n + 1;
	return full;
}

int store_read_error(sqlite3 *db)
{
	char cwd[4096];
	log_error("%s: %s", display_path(db, cwd, sizeof cwd), sqlite3_errmsg(db));
	return -1;
}

int store_loop_end(sqlite3_stmt *st, int rc)
{
	int bad = rc != SQLITE_DONE ? store_read_error(sqlite3_db_handle(st)) : 0;
	sqlite3_finalize(st);
	return bad;
}

int store_seal(sqlite3 *db)
{
	char *sums = totals(db);
	if (!sums || store_set_meta(db, "totals", sums) != 0)
		log_warn("the recording's totals could not be written: it will be read unchecked");
	free(sums);
	char *msg = NULL;
	if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;",
			 NULL, NULL, &msg) != SQLITE_OK) {
		log_warn("database left in WAL mode (readable only where its directory is "
			 "writable): %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int store_schema_version(sqlite3 *db)
{
	int version = 0;
	pragma_int(db, "PRAGMA user_version", &version);
	return version;
}

bool store_has_names(sqlite3 *db)
{
	if (store_schema_version(db) < 4)
		return false;
	sqlite3_stmt *st;
	bool has = false;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'names'", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		has = sqlite3_column_type(st, 0) != SQLITE_NULL &&
		      strcmp((const char *)sqlite3_column_text(st, 0), "complete") == 0;
	sqlite3_finalize(st);
	return has;
}
