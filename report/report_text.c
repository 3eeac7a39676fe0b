/* The human report: a header, then aligned rows with thousands separators. */
#include "report.h"
#include "prof/util.h"

#include <string.h>
#include <unistd.h>

static const char *unit_of(const struct profile *p)
{
	return p->sampled ? "samples" : "instructions";
}

static void print_header(FILE *out, const struct profile *p)
{
	char n[32];
	fprintf(out, "# command:  %s\n", p->command);
	if (p->sampled)
		fprintf(out, "# mode:     sample (statistical: %u Hz, %s clock)\n", p->sample_freq,
			p->sample_clock ? p->sample_clock : "cpu");
	else
		fprintf(out, "# mode:     %s (exact instruction counts)\n", p->mode);
	if (p->collect)
		fprintf(out, "# collect:  only while %s is on the call stack (record --collect)\n",
			p->collect);
	fprintf(out, "# total:    %s %s in %zu thread%s, %.2f s wall%s\n",
		fmt_count(p->total, n, sizeof n), unit_of(p), p->nthreads, p->nthreads == 1 ? "" : "s",
		p->wall_seconds, p->complete ? "" : "  [INCOMPLETE]");
	fputc('\n', out);
}

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Classes worth a column: those the whole profile executed at all. */
static int used_classes(const struct profile *p, int cols[CLASS_COUNT])
{
	int n = 0;
	for (int c = 0; c < CLASS_COUNT; c++)
		if (p->classes[c])
			cols[n++] = c;
	return n;
}

static size_t name_width(const struct func_row *rows, size_t n, bool dso, size_t min, size_t max)
{
	size_t w = min;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(dso ? rows[i].dso : rows[i].name);
		if (l > w)
			w = l;
	}
	return w > max ? max : w;
}

static void print_rows(FILE *out, const struct profile *p, const struct report_options *o,
		       const struct func_row *rows, size_t n, bool with_dso, const char *what)
{
	int cols[CLASS_COUNT], ncols = used_classes(p, cols);
	size_t fw = name_width(rows, n, false, strlen(what), 48);
	size_t dw = with_dso ? name_width(rows, n, true, 3, 24) : 0;
	bool incl = with_dso && p->has_call_graph;
	fprintf(out, "%7s %15s", "%", unit_of(p));
	if (incl)
		fprintf(out, " %15s", "inclusive");
	fprintf(out, "  %-*s", (int)fw, what);
	if (with_dso)
		fprintf(out, "  %-*s", (int)dw, "dso");
	fputs("  |", out);
	for (int k = 0; k < ncols; k++)
		fprintf(out, " %*s", (int)(strlen(class_name(cols[k])) > 3 ? strlen(class_name(cols[k])) : 3),
			class_name(cols[k]));
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		const struct func_row *r = &rows[i];
		char cnt[32];
		double pct = percent(r->count, p->total);
		/* Hot rows stand out on a terminal: red from 10 %, yellow from 1 %. */
		const char *on = !o->color ? "" : pct >= 10 ? "\033[1;31m" : pct >= 1 ? "\033[33m" : "";
		fprintf(out, "%s%6.2f%%%s %15s", on, pct, on[0] ? "\033[0m" : "",
			fmt_count(r->count, cnt, sizeof cnt));
		if (incl)
			fprintf(out, " %15s", fmt_count(r->inclusive, cnt, sizeof cnt));
		fprintf(out, "  %-*.*s", (int)fw, (int)fw, r->name);
		if (with_dso)
			fprintf(out, "  %-*.*s", (int)dw, (int)dw, r->dso);
		fputs("  |", out);
		for (int k = 0; k < ncols; k++) {
			int w = (int)(strlen(class_name(cols[k])) > 3 ? strlen(class_name(cols[k])) : 3);
			uint64_t v = r->classes[cols[k]];
			if (!v)
				fprintf(out, " %*s", w, ".");
			else
				fprintf(out, " %*.0f", w, percent(v, r->count) < 0.5 ? 1.0 : percent(v, r->count));
		}
		fputc('\n', out);
	}
	if (ncols)
		fprintf(out, "\n(columns after | : share of each row's instructions per opcode class, %%)\n");
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
	size_t n = report_row_limit(p->nlines, o), sw = 6, fw = 8;
	char where[128];
	for (size_t i = 0; i < n; i++) {
		const struct line_row *r = &p->lines[i];
		if (r->file)
			snprintf(where, sizeof where, "%s:%d", short_path(r->file, cwd, 64), r->line);
		size_t l = r->file ? strlen(where) : 2;
		sw = l > sw ? l : sw;
		fw = strlen(r->function) > fw ? strlen(r->function) : fw;
	}
	fw = fw > 48 ? 48 : fw;
	fprintf(out, "%7s %15s  %-*s  %-*s  %s\n", "%", unit_of(p), (int)sw, "source", (int)fw,
		"function", "dso");
	for (size_t i = 0; i < n; i++) {
		const struct line_row *r = &p->lines[i];
		char cnt[32];
		if (r->file)
			snprintf(where, sizeof where, "%s:%d", short_path(r->file, cwd, 64), r->line);
		fprintf(out, "%6.2f%% %15s  %-*s  %-*.*s  %s\n", percent(r->count, p->total),
			fmt_count(r->count, cnt, sizeof cnt), (int)sw, r->file ? where : "??", (int)fw,
			(int)fw, r->function, r->dso);
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

static void print_edge(FILE *out, const struct profile *p, const char *dir, uint64_t calls,
		       uint64_t inclusive, const char *name, const char *dso)
{
	char c[32], i[32];
	if (p->sampled) /* from stacks: the samples taken below this caller/callee pair */
		fprintf(out, "    %-9s %12s samples  %s%s%s\n", dir, fmt_count(inclusive, i, sizeof i),
			name, dso[0] ? " " : "", dso);
	else
		fprintf(out, "    %-9s %12s calls %15s instructions  %s%s%s\n", dir,
			fmt_count(calls, c, sizeof c), fmt_count(inclusive, i, sizeof i), name,
			dso[0] ? " " : "", dso);
}

#define MAX_EDGES_SHOWN 10

/* The callers (or callees) of f, most calls first. */
static void print_edges(FILE *out, const struct profile *p, const struct func_row *f, bool callers)
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
		print_edge(out, p, callers ? "caller" : "callee", e->calls, e->inclusive,
			   callers ? e->caller : e->callee, callers ? e->caller_dso : e->callee_dso);
	}
	if (more)
		fprintf(out, "    (+%zu more %s)\n", more, callers ? "callers" : "callees");
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
		char self[32], incl[32];
		fprintf(out, "\n  %s (%s)  self %s  inclusive %s\n", f->name, f->dso,
			fmt_count(f->count, self, sizeof self), fmt_count(f->inclusive, incl, sizeof incl));
		print_edges(out, p, f, true);
		print_edges(out, p, f, false);
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
	}
}
