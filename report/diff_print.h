/* prof diff's outputs beyond the plain tables: the CI gates' verdicts and
 * the Markdown report for pull-request comments. */
#ifndef PROF_REPORT_DIFF_PRINT_H
#define PROF_REPORT_DIFF_PRINT_H

#include "prof/diff.h"

#include <stdbool.h>
#include <stdio.h>

struct diff_gates {
	bool total, function;          /* which gates were asked for */
	double total_limit, function_limit;
	bool total_passed;
	size_t functions_failed;
	struct diff_row worst;         /* the function that grew most, when some failed */
};

/* The DSO options the functions were selected with, to say so. */
struct diff_selection {
	const char **only; size_t nonly;
	const char **exclude; size_t nexclude;
};

/* One line per gate asked for: "gate: passed: ..." or "gate: FAILED: ...". */
void diff_print_gates(FILE *out, const struct diff *d, const struct diff_gates *g);
/* The total, the top changed functions (top rows, 0 = all) and the classes
 * as GitHub-flavoured Markdown tables, and the gates' verdicts. */
void diff_print_markdown(FILE *out, const struct diff *d, const struct profile *base,
			 const struct profile *new, size_t top, const struct diff_gates *g,
			 const struct diff_selection *sel);

#endif
