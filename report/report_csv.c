/* CSV: one header line, then the rows of the chosen table. */
#include "report.h"
#include "prof/util.h"

#include <string.h>

static void csv_rows(FILE *out, const struct profile *p, const struct func_row *rows, size_t n,
		     bool with_dso)
{
	fputs(with_dso ? "percent,count,inclusive,function,dso" : "percent,count,dso", out);
	for (int c = 0; c < CLASS_COUNT; c++)
		fprintf(out, ",%s", class_name(c));
	fputc('\n', out);
	for (size_t i = 0; i < n; i++) {
		const struct func_row *r = &rows[i];
		fprintf(out, "%.4f,%llu,", p->total ? 100.0 * (double)r->count / (double)p->total : 0.0,
			(unsigned long long)r->count);
		if (with_dso)
			fprintf(out, "%llu,", (unsigned long long)r->inclusive);
		csv_field(out, r->name);
		if (with_dso) {
			fputc(',', out);
			csv_field(out, r->dso);
		}
		for (int c = 0; c < CLASS_COUNT; c++)
			fprintf(out, ",%llu", (unsigned long long)r->classes[c]);
		fputc('\n', out);
	}
}

static bool is_shown(const struct func_row *rows, size_t n, const char *name, const char *dso)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(rows[i].name, name) == 0 && strcmp(rows[i].dso, dso) == 0)
			return true;
	return false;
}

/* --call-graph: the call arcs into and out of the functions a plain report
 * would list (after --top, --sym...), one per line. */
static void csv_call_graph(FILE *out, const struct profile *p, const struct report_options *o)
{
	size_t n = report_row_limit(p->nfuncs, o);
	fputs("caller,caller_dso,callee,callee_dso,calls,inclusive\n", out);
	for (size_t i = 0; i < p->nedges; i++) {
		const struct edge_row *e = &p->edges[i];
		if (!is_shown(p->funcs, n, e->caller, e->caller_dso) &&
		    !is_shown(p->funcs, n, e->callee, e->callee_dso))
			continue;
		csv_field(out, e->caller);
		fputc(',', out);
		csv_field(out, e->caller_dso);
		fputc(',', out);
		csv_field(out, e->callee);
		fputc(',', out);
		csv_field(out, e->callee_dso);
		fprintf(out, ",%llu,%llu\n", (unsigned long long)e->calls,
			(unsigned long long)e->inclusive);
	}
}

void report_csv(FILE *out, const struct profile *p, const struct report_options *o)
{
	if (o->call_graph) {
		csv_call_graph(out, p, o);
		return;
	}
	if (o->syscalls) {
		fputs("syscall,nr,calls,errors,seconds\n", out);
		for (size_t i = 0; i < p->nsys; i++)
			fprintf(out, "%s,%ld,%llu,%llu,%.9f\n", p->sys[i].name, p->sys[i].nr,
				(unsigned long long)p->sys[i].calls,
				(unsigned long long)p->sys[i].errors, p->sys[i].seconds);
		return;
	}
	if (o->by == BY_CLASS) {
		fputs("class,count,percent\n", out);
		for (int c = 0; c < CLASS_COUNT; c++)
			fprintf(out, "%s,%llu,%.4f\n", class_name(c), (unsigned long long)p->classes[c],
				p->total ? 100.0 * (double)p->classes[c] / (double)p->total : 0.0);
		return;
	}
	if (o->by == BY_THREAD) {
		fputs("tid,pid,name,count,percent\n", out);
		for (size_t i = 0; i < report_row_limit(p->nthreads, o); i++) {
			const struct thread_row *t = &p->threads[i];
			fprintf(out, "%d,%d,", t->tid, t->pid);
			csv_field(out, t->name);
			fprintf(out, ",%llu,%.4f\n", (unsigned long long)t->count,
				p->total ? 100.0 * (double)t->count / (double)p->total : 0.0);
		}
		return;
	}
	if (o->by == BY_PART) {
		fputs("part,name,count\n", out);
		for (size_t i = 0; i < p->nparts; i++) {
			fprintf(out, "%d,", p->parts[i].number);
			csv_field(out, p->parts[i].name ? p->parts[i].name : "");
			fprintf(out, ",%llu\n", (unsigned long long)p->parts[i].count);
		}
		return;
	}
	if (o->by == BY_LINE) {
		fputs("percent,count,file,line,function,dso\n", out);
		for (size_t i = 0; i < report_row_limit(p->nlines, o); i++) {
			const struct line_row *r = &p->lines[i];
			fprintf(out, "%.4f,%llu,", p->total ? 100.0 * (double)r->count / (double)p->total : 0.0,
				(unsigned long long)r->count);
			csv_field(out, r->file ? r->file : "");
			fprintf(out, ",%d,", r->line);
			csv_field(out, r->function);
			fputc(',', out);
			csv_field(out, r->dso);
			fputc('\n', out);
		}
		return;
	}
	if (o->by == BY_DSO)
		csv_rows(out, p, p->dsos, report_row_limit(p->ndsos, o), false);
	else
		csv_rows(out, p, p->funcs, report_row_limit(p->nfuncs, o), true);
}
