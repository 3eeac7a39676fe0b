/* The SQLite store: one schema, one way in for writers and one for readers. */
#ifndef PROF_STORE_H
#define PROF_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* 2: maps has size, mtime_ns, text_hash.
 * 3: parts, and a part column in insns, arcs and syscalls.
 * 4: code generations (insns.gen, arcs.caller_gen/callee_gen, code_gens),
 *    JIT symbols and code bytes, and the names of what ran (functions,
 *    code_ranges, source_lines, ...; see store.c).
 * Readers read every version from 1 (as 4): an older recording is given
 * part 1 and gen 0 everywhere and has no names, so report symbolizes it
 * from the binaries. */
#define PROF_SCHEMA_VERSION 4
#define PROF_APPLICATION_ID 0x50524f46 /* "PROF" */

/* Makes this process the only recorder of path: an flock on path-lock,
 * held until store_unlock_output. Returns its descriptor, or -1 with
 * "PATH: being recorded by prof (pid N)" (or another reason) in err. */
int store_lock_output(const char *path, char *err, size_t errlen);
void store_unlock_output(int fd, const char *path);
/* Refuses (-1, message in err) an output path that holds anything but a
 * prof database, or whose path.old does: only recordings are replaced. */
int store_check_output(const char *path, char *err, size_t errlen);
/* Creates a fresh database at path (an existing recording is renamed to
 * path.old, after store_check_output). Returns NULL with a message in err. */
sqlite3 *store_create(const char *path, char *err, size_t errlen);
/* Opens a recording for reading, checking that it is a prof database of a
 * schema this build understands. Returns NULL with a message in err. */
sqlite3 *store_open_read(const char *path, char *err, size_t errlen);

enum store_state {
	STATE_COMPLETE,
	STATE_INCOMPLETE,      /* interrupted (Ctrl-C, --duration, a crash of the program) */
	STATE_ABANDONED,       /* its recorder died before finishing */
	STATE_BEING_WRITTEN,   /* its recorder (same pid and start time) still runs */
	STATE_UNREADABLE,      /* meta could not be read; one error line given */
};
enum store_state store_state(sqlite3 *db);
/* Refuses (-1, one error line) a recording a live recorder is still writing;
 * warns when it is incomplete. Returns 0 when it may be read. */
int store_check_state(sqlite3 *db, const char *path);
/* Ends a recording's writing: folds the WAL into the file and leaves WAL
 * mode, so the file alone is the recording and reads anywhere, read-only
 * media included. Returns 0, or -1 after a warning (the WAL stays valid). */
int store_seal(sqlite3 *db);
/* PRAGMA user_version: the schema the recording was written with. */
int store_schema_version(sqlite3 *db);
/* Whether the recording holds the names written at the end of record
 * (schema 4, and a recorder that got that far). */
bool store_has_names(sqlite3 *db);
/* Runs SQL that returns nothing; reports failures through log_error. */
int store_exec(sqlite3 *db, const char *sql);
int store_set_meta(sqlite3 *db, const char *key, const char *value);
/* Returns a malloc'd copy of the value, or NULL when absent or unreadable.
 * A read error sets *failed after one error line; once *failed is set,
 * nothing more is read, so a run of calls gives at most one line. */
char *store_get_meta(sqlite3 *db, const char *key, bool *failed);

/* One error line naming the database and SQLite's reason; returns -1. */
int store_read_error(sqlite3 *db);
/* Ends a read loop over st, which sqlite3_step left with rc: finalizes st and
 * returns 0 when the rows ran out (SQLITE_DONE), else -1 after one error line
 * (a damaged page, an I/O error): a partial result must never be printed. */
int store_loop_end(sqlite3_stmt *st, int rc);

#endif
