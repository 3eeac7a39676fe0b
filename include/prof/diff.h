/* Comparison of two aggregated recordings (prof diff): functions matched by
 * (DSO base name, symbol name), per-class and total deltas, and the CI gate.
 * Pure logic on struct profile, so it can be tested without a database. */
#ifndef PROF_DIFF_H
#define PROF_DIFF_H

#include "prof/profile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum diff_status { DIFF_BOTH, DIFF_NEW, DIFF_GONE };   /* NEW: only in new; GONE: only in base */
enum diff_sort { DIFF_SORT_DELTA, DIFF_SORT_BASE, DIFF_SORT_NEW };

struct diff_row {
	const char *name, *dso;   /* borrowed from the profiles; dso of new when present */
	uint64_t base, new;
	int64_t delta;            /* new - base */
	double percent;           /* 100 * delta / base; 0 when base is 0 (status NEW) */
	enum diff_status status;
};

struct diff_class {
	uint64_t base, new;
	int64_t delta;
};

struct diff {
	struct diff_row *rows; size_t nrows;   /* every function of either side */
	struct diff_class classes[CLASS_COUNT];
	uint64_t base_total, new_total;
	int64_t delta;
	double percent;                        /* of base_total; 0 when it is 0 */
};

/* The main executable's base name on each side (NULL: none): builds of one
 * program may be named differently (app_O0, app_O2), so functions of
 * base_exe are matched with functions of new_exe. Rows come out sorted by
 * DIFF_SORT_DELTA. */
void diff_compute(const struct profile *base, const struct profile *new, const char *base_exe,
		  const char *new_exe, struct diff *d);
void diff_sort(struct diff *d, enum diff_sort by);
void diff_free(struct diff *d);

/* Keeps only the functions of DSOs (base names) in `only` (all when
 * nonly is 0) and not in `exclude`; the total and the class counts become
 * those of the functions kept. exe is the recording's main executable:
 * any of main_names names it too (builds of one program may be named
 * differently). */
struct dso_filter {
	const char **only; size_t nonly;
	const char **exclude; size_t nexclude;
	const char **main_names; size_t nmain;
};
void diff_filter_dsos(struct profile *p, const char *exe, const struct dso_filter *f);

/* The per-function gate: how many functions of both recordings grew by more
 * than fail_above per cent of their base count; *worst is the one that grew
 * most (relatively), NULL when none. */
size_t diff_functions_above(const struct diff *d, double fail_above, const struct diff_row **worst);

/* step and block count every instruction; anything else (sample) is statistical. */
bool diff_mode_exact(const char *mode);
/* The CI gate: false when the total grew by more than fail_above per cent
 * (a total growing from 0 fails any gate). */
bool diff_gate_passed(const struct diff *d, double fail_above);
/* A signed count with thousands separators: "+1,234", "-56", "0". */
const char *diff_fmt_delta(int64_t v, char *buf, size_t len);
/* The total's change: "+1.25%", "0.00%", or "new" when the base is 0. */
const char *diff_fmt_total_percent(const struct diff *d, char *buf, size_t len);

#endif
