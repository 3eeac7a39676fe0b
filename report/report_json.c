/* JSON output; the shape is a contract tools and tests rely on (README). */
#include "report.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

static void json_classes(FILE *out, const uint64_t *classes)
{
	fputc('{', out);
	bool first = true;
	for (int c = 0; c < CLASS_COUNT; c++) {
		if (!classes[c])
			continue;
		fprintf(out, "%s\"%s\": %llu", first ? "" : ", ", class_name(c),
			(unsigned long long)classes[c]);
		first = false;
	}
	fputc('}', out);
}

static void json_rows(FILE *out, const struct profile *p, const struct func_row *rows, size_t n,
		      bool with_dso)
{
	for (size_t i = 0; i < n; i++) {
		const struct func_row *r = &rows[i];
		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
		json_string(out, r->name);
		if (with_dso) {
			fputs(", \"dso\": ", out);
			json_string(out, r->dso);
		}
		fprintf(out, ", \"count\": %llu, \"percent\": %.4f, ", (unsigned long long)r->count,
			p->total ? 100.0 * (double)r->count / (double)p->total : 0.0);
		if (with_dso)
			fprintf(out, "\"inclusive\": %llu, ", (unsigned long long)r->inclusive);
		fputs("\"classes\": ", out);
		json_classes(out, r->classes);
		fputc('}', out);
	}
	fputs(n ? "\n  ]" : "]", out);
}

/* What cost exactness while recording ("KIND N, KIND N"), as "KIND": N pairs. */
static void json_lost(FILE *out, const char *lost)
{
	for (const char *s = lost; s && *s;) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *num = s + len;
		while (num > s && num[-1] != ' ')
			num--;
		char kind[128];
		snprintf(kind, sizeof kind, "%.*s", num > s ? (int)(num - s - 1) : 0, s);
		fputs(s == lost ? "" : ", ", out);
		json_string(out, kind);
		fprintf(out, ": %llu", strtoull(num, NULL, 10));
		s = end ? end + 2 : s + len;
	}
}

static void json_or_null(FILE *out, const char *s)
{
	if (s)
		json_string(out, s);
	else
		fputs("null", out);
}

/* "cpu": what the program saw, null for a recording older than --cpu. */
static void json_cpu(FILE *out, const struct profile_cpu *c)
{
	fputs("  \"cpu\": ", out);
	if (!c->model) {
		fputs("null", out);
	} else {
		fputs("{\"model\": ", out);
		json_string(out, c->model);
		fputs(", \"host\": {\"vendor\": ", out);
		json_or_null(out, c->host_vendor);
		fputs(", \"name\": ", out);
		json_or_null(out, c->host_name);
		fputs(", \"level\": ", out);
		json_or_null(out, c->host_level);
		fputs(", \"features\": [", out);
		const char *f = c->host_features ? c->host_features : "";
		for (bool first = true; *f;) {
			size_t n = strcspn(f, " ");
			if (n) {
				fprintf(out, "%s\"%.*s\"", first ? "" : ", ", (int)n, f);
				first = false;
			}
			f += n + (f[n] == ' ');
		}
		fputs("]}, \"interception\": ", out);
		json_or_null(out, c->interception);
		fputc('}', out);
	}
	fputs(",\n  \"aslr\": ", out);
	json_or_null(out, c->aslr);
	fputs(",\n  \"environment\": ", out);
	json_or_null(out, c->environment);
	fputs(",\n", out);
}

void report_json(FILE *out, const struct profile *p, const struct report_options *o)
{
	fputs("{\n  \"mode\": ", out);
	json_string(out, p->mode);
	fprintf(out, ",\n  \"unit\": \"%s\",\n  \"command\": ", p->sampled ? "samples" : "instructions");
	json_string(out, p->command);
	fputs(",\n  \"collect\": ", out);
	if (p->collect)
		json_string(out, p->collect);
	else
		fputs("null", out);
	fprintf(out, ",\n  \"total\": %llu,\n  \"complete\": %s,\n  \"wall_seconds\": %.6f,\n",
		(unsigned long long)p->total, p->complete ? "true" : "false", p->wall_seconds);
	fputs("  \"killed_by\": ", out);
	if (p->killed_by)
		json_string(out, p->killed_by);
	else
		fputs("null", out);
	fputs(",\n  \"lost\": {", out);
	json_lost(out, p->lost);
	fputs("},\n", out);
	json_cpu(out, &p->cpu);
	fputs("  \"part\": ", out);
	if (p->part)
		fprintf(out, "%d", p->part);
	else
		fputs("null", out);
	fputs(",\n  \"parts\": [", out);
	for (size_t i = 0; i < p->nparts; i++) {
		const struct part_row *r = &p->parts[i];
		fprintf(out, "%s{\"number\": %d, \"name\": ", i ? ",\n    " : "\n    ", r->number);
		if (r->name)
			json_string(out, r->name);
		else
			fputs("null", out);
		fprintf(out, ", \"count\": %llu}", (unsigned long long)r->count);
	}
	fputs("\n  ],\n", out);
	fputs("  \"classes\": ", out);
	json_classes(out, p->classes);
	fputs(",\n  \"functions\": [", out);
	json_rows(out, p, p->funcs, report_row_limit(p->nfuncs, o), true);
	if (o->by == BY_LINE) { /* --by line: source lines, hottest first */
		fputs(",\n  \"lines\": [", out);
		size_t n = report_row_limit(p->nlines, o);
		for (size_t i = 0; i < n; i++) {
			const struct line_row *r = &p->lines[i];
			fputs(i ? ",\n    {\"file\": " : "\n    {\"file\": ", out);
			if (r->file)
				json_string(out, r->file);
			else
				fputs("null", out);
			fprintf(out, ", \"line\": %d, \"function\": ", r->line);
			json_string(out, r->function);
			fputs(", \"dso\": ", out);
			json_string(out, r->dso);
			fprintf(out, ", \"count\": %llu, \"percent\": %.4f}", (unsigned long long)r->count,
				p->total ? 100.0 * (double)r->count / (double)p->total : 0.0);
		}
		fputs(n ? "\n  ]" : "]", out);
	}
	fputs(",\n  \"dsos\": [", out);
	json_rows(out, p, p->dsos, report_row_limit(p->ndsos, o), false);
	fputs(",\n  \"syscalls\": [", out);
	for (size_t i = 0; i < p->nsys; i++) {
		const struct syscall_row *s = &p->sys[i];
		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
		json_string(out, s->name);
		fprintf(out, ", \"nr\": %ld, \"calls\": %llu, \"errors\": %llu, \"seconds\": %.9f}",
			s->nr, (unsigned long long)s->calls, (unsigned long long)s->errors, s->seconds);
	}
	fputs(p->nsys ? "\n  ]" : "]", out);
	fputs(",\n  \"calls\": [", out);
	for (size_t i = 0; i < p->nedges; i++) {
		const struct edge_row *e = &p->edges[i];
		fputs(i ? ",\n    {\"caller\": " : "\n    {\"caller\": ", out);
		json_string(out, e->caller);
		fputs(", \"caller_dso\": ", out);
		json_string(out, e->caller_dso);
		fputs(", \"callee\": ", out);
		json_string(out, e->callee);
		fputs(", \"callee_dso\": ", out);
		json_string(out, e->callee_dso);
		fprintf(out, ", \"calls\": %llu, \"inclusive\": %llu}", (unsigned long long)e->calls,
			(unsigned long long)e->inclusive);
	}
	fputs(p->nedges ? "\n  ]" : "]", out);
	fputs(",\n  \"threads\": [", out);
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct thread_row *t = &p->threads[i];
		fprintf(out, "%s{\"tid\": %d, \"pid\": %d, \"name\": ", i ? ",\n    " : "\n    ",
			t->tid, t->pid);
		json_string(out, t->name);
		fprintf(out, ", \"count\": %llu}", (unsigned long long)t->count);
	}
	fputs(p->nthreads ? "\n  ]\n}\n" : "]\n}\n", out);
}
