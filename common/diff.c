/* prof diff's comparison: both profiles' functions merged by (name, DSO),
 * one row per function of either side. */
#include "prof/diff.h"
#include "prof/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One function of one side, keyed for the merge. */
struct side_row {
	const char *name, *key;   /* key: the DSO, "" for the main executable */
	const struct func_row *row;
	int side;                 /* 0 base, 1 new */
};

static int cmp_side_row(const void *a, const void *b)
{
	const struct side_row *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (!c)
		c = strcmp(x->key, y->key);
	return c ? c : x->side - y->side;
}

static size_t add_side(struct side_row *v, size_t n, const struct profile *p, const char *exe,
		       int side)
{
	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct func_row *r = &p->funcs[i];
		v[n++] = (struct side_row){ r->name, exe && strcmp(r->dso, exe) == 0 ? "" : r->dso, r,
					    side };
	}
	return n;
}

static int64_t delta_of(uint64_t base, uint64_t new)
{
	return (int64_t)(new - base);
}

static uint64_t magnitude(int64_t v)
{
	return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

static double percent_of(int64_t delta, uint64_t base)
{
	return base ? 100.0 * (double)delta / (double)base : 0.0;
}

void diff_compute(const struct profile *base, const struct profile *new, const char *base_exe,
		  const char *new_exe, struct diff *d)
{
	memset(d, 0, sizeof *d);
	size_t n = 0, cap = base->nfuncs + new->nfuncs;
	struct side_row *v = xmalloc((cap ? cap : 1) * sizeof *v);
	n = add_side(v, n, base, base_exe, 0);
	n = add_side(v, n, new, new_exe, 1);
	sort_array(v, n, sizeof *v, cmp_side_row);
	d->rows = xmalloc((n ? n : 1) * sizeof *d->rows);
	for (size_t i = 0; i < n; i++) {
		const struct func_row *b = v[i].side == 0 ? v[i].row : NULL, *w = NULL;
		if (b && i + 1 < n && v[i + 1].side == 1 && strcmp(v[i].name, v[i + 1].name) == 0 &&
		    strcmp(v[i].key, v[i + 1].key) == 0)
			w = v[++i].row;
		else if (!b)
			w = v[i].row;
		struct diff_row *r = &d->rows[d->nrows++];
		r->name = (w ? w : b)->name;
		r->dso = (w ? w : b)->dso;
		r->base = b ? b->count : 0;
		r->new = w ? w->count : 0;
		r->delta = delta_of(r->base, r->new);
		r->percent = percent_of(r->delta, r->base);
		r->status = b && w ? DIFF_BOTH : b ? DIFF_GONE : DIFF_NEW;
	}
	free(v);
	for (int c = 0; c < CLASS_COUNT; c++) {
		d->classes[c].base = base->classes[c];
		d->classes[c].new = new->classes[c];
		d->classes[c].delta = delta_of(base->classes[c], new->classes[c]);
	}
	d->base_total = base->total;
	d->new_total = new->total;
	d->delta = delta_of(base->total, new->total);
	d->percent = percent_of(d->delta, base->total);
	diff_sort(d, DIFF_SORT_DELTA);
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a == b ? 0 : a > b ? -1 : 1;
}

static int cmp_tail(const struct diff_row *x, const struct diff_row *y)
{
	int c = cmp_u64_desc(x->base > x->new ? x->base : x->new, y->base > y->new ? y->base : y->new);
	if (!c)
		c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->dso, y->dso);
}

static int cmp_by_delta(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	int c = cmp_u64_desc(magnitude(x->delta), magnitude(y->delta));
	return c ? c : cmp_tail(x, y);
}

static int cmp_by_base(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	int c = cmp_u64_desc(x->base, y->base);
	if (!c)
		c = cmp_u64_desc(magnitude(x->delta), magnitude(y->delta));
	return c ? c : cmp_tail(x, y);
}

static int cmp_by_new(const void *a, const void *b)
{
	const struct diff_row *x = a, *y = b;
	int c = cmp_u64_desc(x->new, y->new);
	if (!c)
		c = cmp_u64_desc(magnitude(x->delta), magnitude(y->delta));
	return c ? c : cmp_tail(x, y);
}

void diff_sort(struct diff *d, enum diff_sort by)
{
	sort_array(d->rows, d->nrows, sizeof *d->rows,
	      by == DIFF_SORT_BASE ? cmp_by_base : by == DIFF_SORT_NEW ? cmp_by_new : cmp_by_delta);
}

void diff_free(struct diff *d)
{
	free(d->rows);
	d->rows = NULL;
	d->nrows = 0;
}

bool diff_mode_exact(const char *mode)
{
	return mode && (strcmp(mode, "step") == 0 || strcmp(mode, "block") == 0 ||
			strcmp(mode, "cache") == 0);
}

bool diff_gate_passed(const struct diff *d, double fail_above)
{
	if (!d->base_total) /* growth from nothing is infinite */
		return d->delta <= 0 && fail_above >= 0;
	return 100.0 * (double)d->delta <= fail_above * (double)d->base_total;
}

const char *diff_fmt_delta(int64_t v, char *buf, size_t len)
{
	char digits[32];
	fmt_count(magnitude(v), digits, sizeof digits);
	snprintf(buf, len, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", digits);
	return buf;
}

static bool in_list(const char *name, const char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

/* Whether a DSO is named in a list, the main executable by any of its names. */
static bool dso_listed(const char *dso, const char *exe, const char **v, size_t n,
		       const struct dso_filter *f)
{
	if (in_list(dso, v, n))
		return true;
	if (!exe || strcmp(dso, exe) != 0)
		return false;
	for (size_t i = 0; i < f->nmain; i++)
		if (in_list(f->main_names[i], v, n))
			return true;
	return false;
}

void diff_filter_dsos(struct profile *p, const char *exe, const struct dso_filter *f)
{
	size_t w = 0;
	p->total = 0;
	memset(p->classes, 0, sizeof p->classes);
	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct func_row *r = &p->funcs[i];
		if ((f->nonly && !dso_listed(r->dso, exe, f->only, f->nonly, f)) ||
		    dso_listed(r->dso, exe, f->exclude, f->nexclude, f))
			continue;
		p->total += r->count;
		for (int c = 0; c < CLASS_COUNT; c++)
			p->classes[c] += r->classes[c];
		p->funcs[w++] = *r;
	}
	p->nfuncs = w;
}

size_t diff_functions_above(const struct diff *d, double fail_above, const struct diff_row **worst)
{
	size_t n = 0;
	*worst = NULL;
	for (size_t i = 0; i < d->nrows; i++) {
		const struct diff_row *r = &d->rows[i];
		if (r->status != DIFF_BOTH || 100.0 * (double)r->delta <= fail_above * (double)r->base)
			continue;
		n++;
		if (!*worst || r->percent > (*worst)->percent)
			*worst = r;
	}
	return n;
}

const char *diff_fmt_total_percent(const struct diff *d, char *buf, size_t len)
{
	if (!d->delta)
		snprintf(buf, len, "0.00%%");
	else if (!d->base_total)
		snprintf(buf, len, "new");
	else
		snprintf(buf, len, "%+.2f%%", d->percent);
	return buf;
}
