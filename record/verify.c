#include "verify.h"
#include "prof/log.h"
#include "prof/store.h"
#include "prof/util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

/* Counts per pc, summed over threads and processes: thread ids and
 * interleavings differ between two runs; addresses do not (ASLR is off). */
static const char compare_sql[] =
	"WITH b AS (SELECT pc, SUM(count) AS n FROM main.insns GROUP BY pc),"
	"     s AS (SELECT pc, SUM(count) AS n FROM step.insns GROUP BY pc)"
	" SELECT COALESCE(b.pc, s.pc), COALESCE(b.n, 0), COALESCE(s.n, 0)"
	" FROM b FULL OUTER JOIN s ON b.pc = s.pc"
	" WHERE COALESCE(b.n, 0) != COALESCE(s.n, 0) ORDER BY 1";

/* The first column of sql's one row in *v; -1 after one error line. */
static int scalar(sqlite3 *db, const char *sql, long long *v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_read_error(db);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	return store_loop_end(st, rc == SQLITE_ROW ? SQLITE_DONE : rc);
}

int verify_compare(const char *block_db, const char *step_db, const char *mode, bool quiet)
{
	char err[512];
	sqlite3 *db = store_open_read(block_db, err, sizeof err);
	if (!db) {
		log_error("verify: %s", err);
		return -1;
	}
	char *attach = sqlite3_mprintf("ATTACH %Q AS step", step_db);
	int rc = store_exec(db, attach);
	sqlite3_free(attach);
	sqlite3_stmt *st;
	if (rc != 0 || sqlite3_prepare_v2(db, compare_sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("verify: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	long long diffs = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (diffs++ < 10)
			fprintf(stderr, "prof: verify: pc %llx: %s %lld, step %lld\n",
				(unsigned long long)sqlite3_column_int64(st, 0), mode,
				sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
	}
	if (store_loop_end(st, rc) != 0) {
		sqlite3_close(db);
		return -1;
	}
	long long b = 0, s = 0, pcs = 0, threads = 0;
	if (scalar(db, "SELECT COALESCE(SUM(count), 0) FROM main.insns", &b) != 0 ||
	    scalar(db, "SELECT COALESCE(SUM(count), 0) FROM step.insns", &s) != 0 ||
	    scalar(db, "SELECT COUNT(DISTINCT pc) FROM main.insns", &pcs) != 0 ||
	    scalar(db, "SELECT COALESCE(MAX(n), 1) FROM (SELECT COUNT(*) AS n FROM main.threads"
		   " GROUP BY proc)", &threads) != 0) {
		sqlite3_close(db);
		return -1;
	}
	sqlite3_close(db);
	char nb[32], ns[32];
	if (diffs) {
		log_error("verify: MISMATCH: %s counted %s, step %s; %lld instructions differ (%s)", mode,
			  fmt_count((uint64_t)b, nb, sizeof nb), fmt_count((uint64_t)s, ns, sizeof ns), diffs,
			  threads > 1 ? "a multi-threaded program may legitimately take other paths"
			  : "one thread per process: the program took another path, from what it read "
			    "(the time, or what prof cannot hide: smaps_rollup, maps files read through "
			    "sendfile or splice; see README)");
		return -1;
	}
	if (!quiet)
		fprintf(stderr, "prof: verify: %s and step agree exactly: %s instructions at %lld addresses\n",
			mode, fmt_count((uint64_t)b, nb, sizeof nb), pcs);
	return 0;
}
