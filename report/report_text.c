/* The human report: a header, then aligned rows with thousands separators. */
#include "report.h"
#include "prof/util.h"

#include <string.h>
#include <unistd.h>

static const char *unit_of(const struct profile *p)
{
	return p->sampled ? "samples" : "instructions";
}

/* What the program saw: the CPU shown, its address layout, its environment. */
static void print_cpu(FILE *out, const struct profile_cpu *c)
{
	char *seen = profile_cpu_seen(c);
	if (!seen)
		return; /* an older recording */
	if (strcmp(c->model, "host") == 0)
		fprintf(out, "# cpu:      %s", seen);
	else
		fprintf(out, "# cpu:      %s shown to the program (host: %s, %s, %s)", seen,
			c->host_name ? c->host_name : "?", c->host_vendor ? c->host_vendor : "?",
			c->host_level ? c->host_level : "?");
	fprintf(out, "; ASLR %s%s\n", c->aslr ? c->aslr : "?",
		c->environment && strcmp(c->environment, "fixed") == 0 ? "; fixed environment" : "");
	free(seen);
}

/* The parts the program dumped (client requests), or the one chosen. */
static void print_parts(FILE *out, const struct profile *p)
{
	char n[32], num[16];
	if (p->nparts < 2)
		return;
	for (size_t i = 0; i < p->nparts && p->part; i++) {
		if (p->parts[i].number != p->part)
			continue;
		fprintf(out, "# part:     %d of %zu", p->part, p->nparts);
		if (p->parts[i].name) {
			fputs(", ", out);
			print_escaped(out, p->parts[i].name);
		}
		fputc('\n', out);
	}
	fprintf(out, "# parts:    ");
	for (size_t i = 0; i < p->nparts; i++) {
		const struct part_row *r = &p->parts[i];
		fprintf(out, "%s%d", i ? ", " : "", r->number);
		if (r->name) {
			fputc(' ', out);
			print_escaped(out, profile_part_label(r, num, sizeof num));
		}
		fprintf(out, " (%s)", fmt_count(r->count, n, sizeof n));
	}
	fputs(p->part ? "\n" : "; the whole run here, --part NAME|N for one\n", out);
}

static void print_header(FILE *out, const struct profile *p)
{
	char n[32];
	fputs("# command:  ", out);
	print_escaped(out, p->command); /* argv may hold newlines: keep the header one line */
	fputc('\n', out);
	if (p->sampled)
		fprintf(out, "# mode:     sample (statistical: %u Hz, %s clock)\n", p->sample_freq,
			p->sample_clock ? p->sample_clock : "cpu");
	else
		fprintf(out, "# mode:     %s (exact instruction counts)\n", p->mode);
	print_cpu(out, &p->cpu);
	if (p->killed_by)
		fprintf(out, "# program:  killed by %s\n", p->killed_by);
	if (p->collect)
		fprintf(out, "# collect:  only while %s is on the call stack (record --collect)\n",
			p->collect);
	if (p->lost)
		fprintf(out, "# lost:     %llu event%s cost exactness while recording: %s\n",
			(unsigned long long)p->nlost, p->nlost == 1 ? "" : "s", p->lost);
	print_parts(out, p);
	fprintf(out, "# total:    %s %s in %zu thread%s, %.2f s wall%s\n",
		fmt_count(p->total, n, sizeof n), unit_of(p), p->nthreads, p->nthreads == 1 ? "" : "s",
		p->wall_seconds, p->complete ? "" : "  [INCOMPLETE]");
	fputc('\n', out);
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Columns a UTF-8 string takes (one per code point: names are not wide). */
static size_t text_width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Bytes of s that make its first `chars` code points. */
static size_t prefix_bytes(const char *s, size_t chars)
{
	size_t i = 0;
	for (; s[i] && chars; chars--)
		for (i++; ((unsigned char)s[i] & 0xc0) == 0x80; i++)
			;
	return i;
}

/* s in w columns, left-aligned; when longer, shortened with "…" in the
 * middle (function names: both the start, namespace and class, and the end,
 * method and parameters, stay visible) or at the end (DSO names). */
enum shorten { SHORTEN_MIDDLE, SHORTEN_END, OVERFLOW };

static void put_cell(FILE *out, const char *s, size_t w, enum shorten how)
{
	size_t n = text_width(s);
	if (n <= w || how == OVERFLOW) {
		fprintf(out, "%s%*s", s, (int)(n < w ? w - n : 0), "");
		return;
	}
	if (w == 0)
		return;
	size_t tail = how == SHORTEN_MIDDLE ? (w - 1) / 3 : 0, head = w - 1 - tail;
	fwrite(s, 1, prefix_bytes(s, head), out);
	fputs("\u2026", out);
	if (tail)
		fputs(s + prefix_bytes(s, n - tail), out);
}

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* How print_rows lays a table out: column widths, and which class columns
 * are shown (in class order). */
struct row_layout {
	size_t count_w, incl_w, name_w, dso_w;
	int cols[CLASS_COUNT], ncols;
	int hidden;              /* class columns dropped to fit the terminal */
};

static size_t class_col_width(int cls)
{
	return max_size(strlen(class_name(cls)), 3);
}

/* The class column the profile uses least, among those shown. */
static int least_used_column(const struct profile *p, const struct row_layout *l)
{
	int least = 0;
	for (int k = 1; k < l->ncols; k++)
		if (p->classes[l->cols[k]] < p->classes[l->cols[least]])
			least = k;
	return least;
}

/* On a pipe (or --wide) names and DSOs are whole, their columns as wide as
 * the longest up to PIPE_NAME_W and PIPE_DSO_W: a longer one pushes the rest
 * of its own line to the right, not every line (C++ names run to thousands
 * of columns). On a terminal the table fits its width: names shrink to
 * NAME_MIN and DSOs to DSO_MIN, then the least used class columns go, then
 * names share what is left. */
#define NAME_MIN 20
#define DSO_MIN 10
#define PIPE_NAME_W 48
#define PIPE_DSO_W 24

/* How a cell wider than its column is written. */
static enum shorten fit(const struct report_options *o, enum shorten on_terminal)
{
	return o->width ? on_terminal : OVERFLOW;
}

static void layout_rows(const struct profile *p, const struct report_options *o,
			const struct func_row *rows, size_t n, bool with_dso, bool incl,
			const char *what, struct row_layout *l)
{
	char cnt[32];
	size_t name_nat = strlen(what), dso_nat = 3;
	*l = (struct row_layout){ .count_w = strlen(p->sampled ? "samples" : "instructions"),
				  .incl_w = incl ? strlen("inclusive") : 0 };
	for (size_t i = 0; i < n; i++) {
		l->count_w = max_size(l->count_w, strlen(fmt_count(rows[i].count, cnt, sizeof cnt)));
		if (incl)
			l->incl_w = max_size(l->incl_w,
					     strlen(fmt_count(rows[i].inclusive, cnt, sizeof cnt)));
		name_nat = max_size(name_nat, text_width(rows[i].name));
		dso_nat = max_size(dso_nat, with_dso ? text_width(rows[i].dso) : 0);
	}
	for (int c = 0; c < CLASS_COUNT; c++)
		if (p->classes[c])
			l->cols[l->ncols++] = c;
	l->name_w = min_size(name_nat, PIPE_NAME_W);
	l->dso_w = with_dso ? min_size(dso_nat, PIPE_DSO_W) : 0;
	if (!o->width)
		return;
	/* "%" column, counts, the two spaces before each name column, " |" */
	size_t fixed = 7 + 1 + l->count_w + (incl ? 1 + l->incl_w : 0) + 2 +
		       (with_dso ? 2 : 0) + 3;
	size_t cols_w = 0;
	for (int k = 0; k < l->ncols; k++)
		cols_w += 1 + class_col_width(l->cols[k]);
	size_t name_min = min_size(name_nat, NAME_MIN), dso_min = with_dso ? min_size(dso_nat, DSO_MIN) : 0;
	while (l->ncols && fixed + name_min + dso_min + cols_w > o->width) {
		int k = least_used_column(p, l);
		cols_w -= 1 + class_col_width(l->cols[k]);
		memmove(&l->cols[k], &l->cols[k + 1], (size_t)(l->ncols - k - 1) * sizeof *l->cols);
		l->ncols--;
		l->hidden++;
	}
	size_t avail = o->width > fixed + cols_w ? o->width - fixed - cols_w : 0;
	if (with_dso)
		l->dso_w = min_size(dso_nat, max_size(dso_min, avail > name_nat ? avail - name_nat : 0));
	l->name_w = min_size(name_nat, max_size(name_min, avail > l->dso_w ? avail - l->dso_w : 0));
}

static void print_rows(FILE *out, const struct profile *p, const struct report_options *o,
		       const struct func_row *rows, size_t n, bool with_dso, const char *what)
{
	bool incl = with_dso && p->has_call_graph;
	struct row_layout l;
	layout_rows(p, o, rows, n, with_dso, incl, what, &l);
	fprintf(out, "%7s %*s", "%", (int)l.count_w, unit_of(p));
	if (incl)
		fprintf(out, " %*s", (int)l.incl_w, "inclusive");
	fputs("  ", out);
	put_cell(out, what, l.name_w, fit(o, SHORTEN_MIDDLE));
	if (with_dso) {
		fputs("  ", out);
		put_cell(out, "dso", l.dso_w, fit(o, SHORTEN_END));
	}
	fputs("  |", out);
	for (int k = 0; k < l.ncols; k++)
		fprintf(out, " %*s", (int)class_col_width(l.cols[k]), class_name(l.cols[k]));
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		const struct func_row *r = &rows[i];
		char cnt[32];
		double pct = percent(r->count, p->total);
		/* Hot rows stand out on a terminal: red from 10 %, yellow from 1 %. */
		const char *on = !o->color ? "" : pct >= 10 ? "\033[1;31m" : pct >= 1 ? "\033[33m" : "";
		fprintf(out, "%s%6.2f%%%s %*s", on, pct, on[0] ? "\033[0m" : "", (int)l.count_w,
			fmt_count(r->count, cnt, sizeof cnt));
		if (incl)
			fprintf(out, " %*s", (int)l.incl_w, fmt_count(r->inclusive, cnt, sizeof cnt));
		fputs("  ", out);
		put_cell(out, r->name, l.name_w, fit(o, SHORTEN_MIDDLE));
		if (with_dso) {
			fputs("  ", out);
			put_cell(out, r->dso, l.dso_w, fit(o, SHORTEN_END));
		}
		fputs("  |", out);
		for (int k = 0; k < l.ncols; k++) {
			int w = (int)class_col_width(l.cols[k]);
			uint64_t v = r->classes[l.cols[k]];
			if (!v)
				fprintf(out, " %*s", w, ".");
			else
				fprintf(out, " %*.0f", w, percent(v, r->count) < 0.5 ? 1.0 : percent(v, r->count));
		}
		fputc('\n', out);
	}
	if (l.ncols)
		fprintf(out, "\n(columns after | : share of each row's instructions per opcode class, %%)\n");
	if (l.hidden)
		fprintf(out, "(%d class column%s hidden to fit the terminal; --wide shows all)\n",
			l.hidden, l.hidden == 1 ? "" : "s");
}

static void print_classes(FILE *out, const struct profile *p)
{
	fprintf(out, "%7s %15s  %s\n", "%", unit_of(p), "class");
	int order[CLASS_COUNT];
	for (int c = 0; c < CLASS_COUNT; c++)
		order[c] = c;
	for (int i = 1; i < CLASS_COUNT; i++) /* by count, descending */
		for (int j = i; j > 0 && p->classes[order[j]] > p->classes[order[j - 1]]; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int i = 0; i < CLASS_COUNT; i++) {
		char cnt[32];
		uint64_t v = p->classes[order[i]];
		if (v)
			fprintf(out, "%6.2f%% %15s  %s\n", percent(v, p->total),
				fmt_count(v, cnt, sizeof cnt), class_name(order[i]));
	}
}

static void print_threads(FILE *out, const struct profile *p, const struct report_options *o)
{
	fprintf(out, "%7s %15s  %8s %8s  %s\n", "%", unit_of(p), "tid", "pid", "command");
	size_t n = report_row_limit(p->nthreads, o);
	for (size_t i = 0; i < n; i++) {
		const struct thread_row *t = &p->threads[i];
		char cnt[32];
		fprintf(out, "%6.2f%% %15s  %8d %8d  %s\n", percent(t->count, p->total),
			fmt_count(t->count, cnt, sizeof cnt), t->tid, t->pid, t->name);
	}
}

/* --by part: each part's count, in the recording's order. */
static void print_part_table(FILE *out, const struct profile *p)
{
	uint64_t all = 0;
	for (size_t i = 0; i < p->nparts; i++)
		all += p->parts[i].count;
	fprintf(out, "%7s %15s  %5s  %s\n", "%", unit_of(p), "part", "name");
	for (size_t i = 0; i < p->nparts; i++) {
		const struct part_row *r = &p->parts[i];
		char cnt[32];
		fprintf(out, "%6.2f%% %15s  %5d  ", percent(r->count, all),
			fmt_count(r->count, cnt, sizeof cnt), r->number);
		print_escaped(out, r->name ? r->name : "");
		fputc('\n', out);
	}
}

/* A source path as printed: relative to the current directory when under it,
 * its tail when longer than width. */
static const char *short_path(const char *path, const char *cwd, size_t width)
{
	size_t n = strlen(cwd);
	if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/')
		path += n + 1;
	size_t l = strlen(path);
	return l > width ? path + (l - width) : path;
}

static void print_lines(FILE *out, const struct profile *p, const struct report_options *o)
{
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		cwd[0] = '\0';
	size_t n = report_row_limit(p->nlines, o), sw = 6, fw = 8, dw = 3;
	char where[128];
	for (size_t i = 0; i < n; i++) {
		const struct line_row *r = &p->lines[i];
		if (r->file)
			snprintf(where, sizeof where, "%s:%d", short_path(r->file, cwd, 64), r->line);
		sw = max_size(sw, r->file ? strlen(where) : 2);
		fw = max_size(fw, text_width(r->function));
		dw = max_size(dw, text_width(r->dso));
	}
	size_t fixed = 7 + 1 + 15 + 2 + sw + 2 + 2 + dw;
	if (o->width)
		fw = min_size(fw, max_size(NAME_MIN, o->width > fixed ? o->width - fixed : 0));
	else
		fw = min_size(fw, PIPE_NAME_W);
	fprintf(out, "%7s %15s  %-*s  ", "%", unit_of(p), (int)sw, "source");
	put_cell(out, "function", fw, fit(o, SHORTEN_MIDDLE));
	fputs("  dso\n", out);
	for (size_t i = 0; i < n; i++) {
		const struct line_row *r = &p->lines[i];
		char cnt[32];
		if (r->file)
			snprintf(where, sizeof where, "%s:%d", short_path(r->file, cwd, 64), r->line);
		fprintf(out, "%6.2f%% %15s  %-*s  ", percent(r->count, p->total),
			fmt_count(r->count, cnt, sizeof cnt), (int)sw, r->file ? where : "??");
		put_cell(out, r->function, fw, fit(o, SHORTEN_MIDDLE));
		fprintf(out, "  %s\n", r->dso);
	}
}

static void print_syscalls(FILE *out, const struct profile *p)
{
	double total_s = 0;
	uint64_t calls = 0, errors = 0;
	for (size_t i = 0; i < p->nsys; i++) {
		total_s += p->sys[i].seconds;
		calls += p->sys[i].calls;
		errors += p->sys[i].errors;
	}
	fprintf(out, "%% time     seconds  usecs/call     calls    errors syscall\n");
	fprintf(out, "------ ----------- ----------- --------- --------- ----------------\n");
	for (size_t i = 0; i < p->nsys; i++) {
		const struct syscall_row *s = &p->sys[i];
		char errs[24] = "";
		if (s->errors)
			snprintf(errs, sizeof errs, "%llu", (unsigned long long)s->errors);
		fprintf(out, "%6.2f %11.6f %11.0f %9llu %9s %s\n",
			total_s > 0 ? 100.0 * s->seconds / total_s : 0.0, s->seconds,
			s->calls ? s->seconds * 1e6 / (double)s->calls : 0.0,
			(unsigned long long)s->calls, errs, s->name);
	}
	fprintf(out, "------ ----------- ----------- --------- --------- ----------------\n");
	fprintf(out, "100.00 %11.6f %11.0f %9llu %9llu total\n", total_s,
		calls ? total_s * 1e6 / (double)calls : 0.0, (unsigned long long)calls,
		(unsigned long long)errors);
}

/* A caller or callee line; on a terminal it fits the width: the name is
 * shortened in the middle, then the DSO at its end. */
static void print_edge(FILE *out, const struct profile *p, const struct report_options *o,
		       const char *dir, uint64_t calls, uint64_t inclusive, const char *name,
		       const char *dso)
{
	char c[32], i[32];
	int used;
	if (p->sampled) /* from stacks: the samples taken below this caller/callee pair */
		used = fprintf(out, "    %-6s %12s samples  ", dir, fmt_count(inclusive, i, sizeof i));
	else
		used = fprintf(out, "    %-6s %10s calls %12s instructions  ", dir,
			       fmt_count(calls, c, sizeof c), fmt_count(inclusive, i, sizeof i));
	size_t name_w = text_width(name), dso_w = text_width(dso);
	size_t avail = o->width > (size_t)used + 1 ? o->width - (size_t)used - 1 : 0;
	if (o->width && name_w + dso_w > avail) {
		dso_w = min_size(dso_w, DSO_MIN);
		name_w = min_size(name_w, max_size(8, avail > dso_w ? avail - dso_w : 0));
	}
	put_cell(out, name, name_w, SHORTEN_MIDDLE);
	if (dso[0]) {
		fputc(' ', out);
		put_cell(out, dso, dso_w, SHORTEN_END);
	}
	fputc('\n', out);
}

#define MAX_EDGES_SHOWN 10

/* The callers (or callees) of f, most calls first. */
static void print_edges(FILE *out, const struct profile *p, const struct report_options *o,
			const struct func_row *f, bool callers)
{
	size_t shown = 0, more = 0;
	for (size_t i = 0; i < p->nedges; i++) {
		const struct edge_row *e = &p->edges[i];
		const char *name = callers ? e->callee : e->caller;
		const char *dso = callers ? e->callee_dso : e->caller_dso;
		if (strcmp(name, f->name) != 0 || strcmp(dso, f->dso) != 0)
			continue;
		if (shown++ >= MAX_EDGES_SHOWN) {
			more++;
			continue;
		}
		print_edge(out, p, o, callers ? "caller" : "callee", e->calls, e->inclusive,
			   callers ? e->caller : e->callee, callers ? e->caller_dso : e->callee_dso);
	}
	if (more)
		fprintf(out, "    (+%zu more %s%s)\n", more, callers ? "caller" : "callee",
			more == 1 ? "" : "s");
}

/* For each top function: who calls it and what it calls, with call counts and
 * the instructions executed inside those calls. */
static void print_call_graph(FILE *out, const struct profile *p, const struct report_options *o)
{
	if (!p->has_call_graph) {
		fputs("\n(no call graph in this recording)\n", out);
		return;
	}
	size_t n = report_row_limit(p->nfuncs, o);
	fputs("\ncall graph (calls and inclusive instructions per caller and callee):\n", out);
	for (size_t k = 0; k < n; k++) {
		const struct func_row *f = &p->funcs[k];
		char self[32], incl[32], tail[128];
		snprintf(tail, sizeof tail, "self %s  inclusive %s", fmt_count(f->count, self, sizeof self),
			 fmt_count(f->inclusive, incl, sizeof incl));
		size_t rest = 2 + 2 + text_width(f->dso) + 3 + strlen(tail), w = text_width(f->name);
		if (o->width)
			w = min_size(w, max_size(NAME_MIN, o->width > rest ? o->width - rest : 0));
		fputs("\n  ", out);
		put_cell(out, f->name, w, SHORTEN_MIDDLE);
		fprintf(out, " (%s)  %s\n", f->dso, tail);
		print_edges(out, p, o, f, true);
		print_edges(out, p, o, f, false);
	}
}

void report_text(FILE *out, const struct profile *p, const struct report_options *o)
{
	print_header(out, p);
	if (o->syscalls) {
		print_syscalls(out, p);
		return;
	}
	switch (o->by) {
	case BY_FUNCTION:
		print_rows(out, p, o, p->funcs, report_row_limit(p->nfuncs, o), true, "function");
		if (o->call_graph)
			print_call_graph(out, p, o);
		break;
	case BY_DSO:
		print_rows(out, p, o, p->dsos, report_row_limit(p->ndsos, o), false, "dso");
		break;
	case BY_CLASS:
		print_classes(out, p);
		break;
	case BY_THREAD:
		print_threads(out, p, o);
		break;
	case BY_LINE:
		print_lines(out, p, o);
		break;
	case BY_PART:
		print_part_table(out, p);
		break;
	}
}
