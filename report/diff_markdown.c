/* prof diff --format markdown: GitHub-flavoured Markdown tables ready to
 * paste into (or post as) a pull-request comment, as CI benchmarking
 * services post them: the total, the functions that changed most, the
 * opcode classes and the gates' verdicts. */
#include "diff_print.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Text inside a table cell: '|' escaped, line breaks as spaces; as a code
 * span when code is set (with a double backtick fence around a backtick). */
static void cell(FILE *out, const char *s, bool code)
{
	const char *fence = code ? (strchr(s, '`') ? "`` " : "`") : "";
	fputs(fence, out);
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', out);
		else if (!code && (*s == '<' || *s == '*' || *s == '_' || *s == '`'))
			fprintf(out, "\\%c", *s);
		else
			fputc(*s, out);
	}
	fputs(strcmp(fence, "`` ") == 0 ? " ``" : fence, out);
}

static void counts(FILE *out, uint64_t base, uint64_t new, int64_t delta)
{
	char b[32], n[32], dl[32];
	fprintf(out, " %s | %s | %s |", fmt_count(base, b, sizeof b), fmt_count(new, n, sizeof n),
		diff_fmt_delta(delta, dl, sizeof dl));
}

static void header(FILE *out, const struct diff *d, const struct profile *base,
		   const struct profile *new, const struct diff_selection *sel)
{
	char dl[32], pc[32], b[32], n[32];
	bool exact = diff_mode_exact(new->mode);
	const char *unit = exact ? "instructions" : "samples";
	fprintf(out, "### prof diff: %s %s (%s)\n\n", diff_fmt_delta(d->delta, dl, sizeof dl), unit,
		diff_fmt_total_percent(d, pc, sizeof pc));
	fprintf(out, "| | base | new | delta | delta %% |\n|:--|--:|--:|--:|--:|\n");
	fprintf(out, "| **total %s** | %s | %s | %s | %s |\n\n", unit,
		fmt_count(d->base_total, b, sizeof b), fmt_count(d->new_total, n, sizeof n), dl, pc);
	fputs("Base: ", out);
	cell(out, base->command, true);
	fprintf(out, " (%s mode%s), new: ", base->mode, base->complete ? "" : ", incomplete");
	cell(out, new->command, true);
	fprintf(out, " (%s mode%s).", new->mode, new->complete ? "" : ", incomplete");
	for (size_t i = 0; i < sel->nonly; i++) {
		fputs(i ? ", " : " Only the functions of ", out);
		cell(out, sel->only[i], false);
	}
	for (size_t i = 0; i < sel->nexclude; i++) {
		fputs(i ? ", " : sel->nonly ? "; without " : " Without the functions of ", out);
		cell(out, sel->exclude[i], false);
	}
	fputs(sel->nonly || sel->nexclude ? ".\n\n" : "\n\n", out);
}

static void functions(FILE *out, const struct diff *d, size_t top)
{
	size_t rows = top && top < d->nrows ? top : d->nrows;
	fprintf(out, "#### Functions (%zu of %zu, largest change first)\n\n", rows, d->nrows);
	fputs("| function | dso | base | new | delta | delta % |\n|:--|:--|--:|--:|--:|--:|\n", out);
	for (size_t i = 0; i < rows; i++) {
		const struct diff_row *r = &d->rows[i];
		fputs("| ", out);
		cell(out, r->name, true);
		fputs(" | ", out);
		cell(out, r->dso, false);
		fputs(" |", out);
		counts(out, r->base, r->new, r->delta);
		if (r->status == DIFF_NEW)
			fputs(" new |\n", out);
		else if (r->status == DIFF_GONE)
			fputs(" gone |\n", out);
		else if (!r->delta)
			fputs(" 0.00% |\n", out);
		else
			fprintf(out, " %+.2f%% |\n", r->percent);
	}
	fputc('\n', out);
}

static void classes(FILE *out, const struct diff *d)
{
	fputs("#### Opcode classes\n\n| class | base | new | delta | base % | new % |\n"
	      "|:--|--:|--:|--:|--:|--:|\n", out);
	for (int c = 0; c < CLASS_COUNT; c++) {
		const struct diff_class *k = &d->classes[c];
		if (!k->base && !k->new)
			continue;
		fprintf(out, "| %s |", class_name((unsigned)c));
		counts(out, k->base, k->new, k->delta);
		fprintf(out, " %.2f%% | %.2f%% |\n", share(k->base, d->base_total),
			share(k->new, d->new_total));
	}
	fputc('\n', out);
}

void diff_print_markdown(FILE *out, const struct diff *d, const struct profile *base,
			 const struct profile *new, size_t top, const struct diff_gates *g,
			 const struct diff_selection *sel)
{
	header(out, d, base, new, sel);
	functions(out, d, top);
	classes(out, d);
	char pc[32];
	if (g->total)
		fprintf(out, "**Gate:** %s total %s, limit %+.2f%%\n\n",
			g->total_passed ? "✅ passed:" : "❌ **FAILED**:",
			diff_fmt_total_percent(d, pc, sizeof pc), g->total_limit);
	if (g->function && !g->functions_failed)
		fprintf(out, "**Gate:** ✅ passed: no function grew by more than %.2f%%\n\n",
			g->function_limit);
	if (g->function && g->functions_failed) {
		fprintf(out, "**Gate:** ❌ **FAILED**: %zu function%s grew by more than %.2f%% (most: ",
			g->functions_failed, g->functions_failed == 1 ? "" : "s", g->function_limit);
		cell(out, g->worst.name, true);
		fprintf(out, " %+.2f%%)\n\n", g->worst.percent);
	}
}

void diff_print_gates(FILE *out, const struct diff *d, const struct diff_gates *g)
{
	char pc[32];
	if (g->total)
		fprintf(out, "gate: %s: total %s, limit %+.2f%%\n", g->total_passed ? "passed" : "FAILED",
			diff_fmt_total_percent(d, pc, sizeof pc), g->total_limit);
	if (g->function && !g->functions_failed)
		fprintf(out, "gate: passed: no function grew by more than %.2f%%\n", g->function_limit);
	if (g->function && g->functions_failed)
		fprintf(out, "gate: FAILED: %zu function%s grew by more than %.2f%% (most: %s %+.2f%%)\n",
			g->functions_failed, g->functions_failed == 1 ? "" : "s", g->function_limit,
			g->worst.name, g->worst.percent);
}
