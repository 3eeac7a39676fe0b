/* Folded stacks ("a;b;c count") derived from the call graph; the flame graph
 * is drawn from the same lines. */
#ifndef PROF_REPORT_FOLDED_H
#define PROF_REPORT_FOLDED_H

#include "callgraph.h"

struct folded_line {
	size_t *frames;      /* node indices, outermost first */
	size_t depth;
	uint64_t count;      /* > 0 */
	char *text;          /* "a;b;c" */
};

struct folded {
	struct cg_graph g;
	char **label;        /* per node: its name as a frame (dso`name when ambiguous) */
	struct folded_line *lines;   /* sorted by text */
	size_t nlines;
	uint64_t total;      /* sum of the counts = the profile's total */
};

void folded_build(const struct profile *p, struct folded *f);
void folded_free(struct folded *f);

#endif
