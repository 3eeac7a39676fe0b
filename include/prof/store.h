/* The SQLite store: one schema, one way in for writers and one for readers. */
#ifndef PROF_STORE_H
#define PROF_STORE_H

#include <sqlite3.h>
#include <stddef.h>

#define PROF_SCHEMA_VERSION 1
#define PROF_APPLICATION_ID 0x50524f46 /* "PROF" */

/* Refuses (-1, message in err) an output path that holds anything but a
 * prof database, or whose path.old does: only recordings are replaced. */
int store_check_output(const char *path, char *err, size_t errlen);
/* Creates a fresh database at path (an existing recording is renamed to
 * path.old, after store_check_output). Returns NULL with a message in err. */
sqlite3 *store_create(const char *path, char *err, size_t errlen);
/* Opens a recording for reading, checking that it is a prof database of a
 * schema this build understands. Returns NULL with a message in err. */
sqlite3 *store_open_read(const char *path, char *err, size_t errlen);

/* Refuses (-1, one error line) a recording a live recorder is still writing;
 * warns when it is incomplete. Returns 0 when it may be read. */
int store_check_state(sqlite3 *db, const char *path);
/* Runs SQL that returns nothing; reports failures through log_error. */
int store_exec(sqlite3 *db, const char *sql);
int store_set_meta(sqlite3 *db, const char *key, const char *value);
/* Returns a malloc'd copy of the value, or NULL when absent. */
char *store_get_meta(sqlite3 *db, const char *key);

#endif
