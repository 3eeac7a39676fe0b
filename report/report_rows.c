/* Which function and DSO rows a report shows, and in which order. Totals are
 * never filtered: percentages stay shares of the whole recording. */
#include "report.h"
#include "prof/symmatch.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

static int by_inclusive(const void *a, const void *b)
{
	const struct func_row *x = a, *y = b;
	if (x->inclusive != y->inclusive)
		return x->inclusive > y->inclusive ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int by_name(const void *a, const void *b)
{
	const struct func_row *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->dso, y->dso);
}

static bool keep(const struct func_row *r, const struct profile *p, const struct report_options *o,
		 bool is_dso_row)
{
	if (o->percent_limit > 0 && p->total &&
	    100.0 * (double)r->count / (double)p->total < o->percent_limit)
		return false;
	const char *dso = is_dso_row ? r->name : r->dso;
	if (o->dso && strcmp(dso, o->dso) != 0)
		return false;
	if (is_dso_row)
		return true;
	if (o->sym && regexec(&o->sym_re, r->name, 0, NULL, 0) != 0)
		return false;
	return !o->sym_exact || symbol_name_matches(o->sym_exact, r->name);
}

static void filter(struct func_row *rows, size_t *n, const struct profile *p,
		   const struct report_options *o, bool is_dso_row)
{
	size_t w = 0;
	for (size_t i = 0; i < *n; i++)
		if (keep(&rows[i], p, o, is_dso_row))
			rows[w++] = rows[i];
	*n = w;
}

void report_select_rows(struct profile *p, const struct report_options *o)
{
	/* Exporters (callgrind, folded, svg) need every function. */
	if (o->svg || o->format == FORMAT_CALLGRIND || o->format == FORMAT_FOLDED)
		return;
	filter(p->funcs, &p->nfuncs, p, o, false);
	filter(p->dsos, &p->ndsos, p, o, true);
	if (o->sort && strcmp(o->sort, "inclusive") == 0)
		sort_array(p->funcs, p->nfuncs, sizeof *p->funcs, by_inclusive);
	else if (o->sort && strcmp(o->sort, "name") == 0)
		sort_array(p->funcs, p->nfuncs, sizeof *p->funcs, by_name);
}
