/* prof diff: two recordings compared function by function (common/diff.c),
 * printed as text, JSON, CSV or Markdown, with optional CI gates on the
 * total and on each function. */
#include "diff_print.h"
#include "report.h"
#include "prof/commands.h"
#include "prof/diff.h"
#include "prof/log.h"
#include "prof/store.h"
#include "prof/symbolize.h"
#include "prof/util.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char diff_usage[] =
	"usage: prof diff BASE.db NEW.db [options]\n"
	"\n"
	"Compares two recordings (of two builds, inputs or versions of a program):\n"
	"functions matched by name and DSO, largest change first, then opcode classes\n"
	"and the total. The main executables are matched with each other even when\n"
	"their file names differ.\n"
	"\n"
	"  -n, --top N           function rows to print (default 20; 0 = all)\n"
	"      --sort KEY        delta (default: largest |delta| first), base or new\n"
	"  -f, --format FMT      text (default), json, csv (the function rows) or markdown\n"
	"                        (tables for a pull-request comment)\n"
	"      --dso NAME        only functions of this DSO (file name; repeatable); the\n"
	"                        main executable may be named by either side's name\n"
	"      --exclude-dso NAME  leave out this DSO's functions (repeatable), e.g.\n"
	"                        ld-linux-x86-64.so.2; totals are those of what is kept\n"
	"      --fail-above PCT  exit 1 when the total grew by more than PCT per cent\n"
	"                        (a CI gate; one line says whether it passed)\n"
	"      --svg FILE        also write a differential flame graph to FILE: widths\n"
	"                        from NEW, red where a stack grew, blue where it shrank\n"
	"      --inverted        that flame graph as an icicle (callers on top)\n"
	"      --fail-above-function PCT  exit 1 when a function of both recordings\n"
	"                        grew by more than PCT per cent of its base count\n"
	"      --allow-incomplete  compare recordings that were interrupted too\n"
	"      --part NAME|N     compare that part of each recording (by name, else number)\n"
	"\n"
	"Recordings that both have parts (the program dumped them with valgrind's\n"
	"CALLGRIND_DUMP_STATS_AT) are compared part by part, matched by name (a part\n"
	"without one by its number); the gates apply to each part.\n"
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0, 1 when a --fail-above gate fails, 2 on errors. Recordings\n"
	"with exact counts (cache, block, step) cannot be compared with sampled ones.\n";

enum diff_format { DIFF_TEXT, DIFF_JSON, DIFF_CSV, DIFF_MARKDOWN };

#define MAX_DSO_OPTIONS 64

struct diff_options {
	const char *base_path, *new_path;
	size_t top;             /* 0 = all */
	enum diff_sort sort;
	enum diff_format format;
	bool gate, gate_function;
	double fail_above, fail_above_function;
	const char *svg;        /* differential flame graph to write, or NULL */
	bool inverted;
	const char *only[MAX_DSO_OPTIONS], *exclude[MAX_DSO_OPTIONS];
	size_t nonly, nexclude;
	bool allow_incomplete;  /* else an incomplete recording is refused */
	const char *part;       /* --part: only this part of each */
};

/* The parts compared: one pair each (part 0: the whole run). */
struct part_pair {
	int base, new;
	char *label;            /* NULL: the whole run */
};

/* One recording, opened and aggregated. */
struct side {
	const char *path;
	sqlite3 *db;
	char *exe;              /* base name of the first process's executable, or NULL */
	struct profile p;
	bool loaded;
};

static int parse_diff_args(int argc, char **argv, struct diff_options *o)
{
	static const struct option opts[] = {
		{ "top", required_argument, NULL, 'n' },
		{ "sort", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "fail-above", required_argument, NULL, 'F' },
		{ "fail-above-function", required_argument, NULL, 'G' },
		{ "dso", required_argument, NULL, 'D' },
		{ "exclude-dso", required_argument, NULL, 'X' },
		{ "svg", required_argument, NULL, 'S' },
		{ "inverted", no_argument, NULL, 'I' },
		{ "allow-incomplete", no_argument, NULL, 'A' },
		{ "part", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const sorts[] = { "delta", "base", "new" };
	static const char *const formats[] = { "text", "json", "csv", "markdown" };
	*o = (struct diff_options){ .top = 20 };
	optind = 1;
	opterr = 0;
	int c, v;
	long long n;
	while ((c = getopt_long(argc, argv, "n:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if ((n = parse_count(optarg)) < 0) {
				log_error("diff: --top wants a number, not '%s'", optarg);
				return -1;
			}
			o->top = (size_t)n;
			break;
		case 's':
			if ((v = parse_choice("diff", "--sort key", optarg, sorts, 3)) < 0)
				return -1;
			o->sort = (enum diff_sort)v;
			break;
		case 'f':
			if ((v = parse_choice("diff", "format", optarg, formats, 4)) < 0)
				return -1;
			o->format = (enum diff_format)v;
			break;
		case 'F':
		case 'G': {
			bool function = c == 'G';
			/* A total cannot shrink by more than 100%. */
			if (parse_number("diff", function ? "fail-above-function" : "fail-above", optarg,
					 -100, 1e9, function ? &o->fail_above_function : &o->fail_above) != 0)
				return -1;
			*(function ? &o->gate_function : &o->gate) = true;
			break;
		}
		case 'D':
		case 'X': {
			size_t *n = c == 'D' ? &o->nonly : &o->nexclude;
			if (*n == MAX_DSO_OPTIONS) {
				log_error("diff: at most %d --dso and %d --exclude-dso options",
					  MAX_DSO_OPTIONS, MAX_DSO_OPTIONS);
				return -1;
			}
			(c == 'D' ? o->only : o->exclude)[(*n)++] = optarg;
			break;
		}
		case 'S': o->svg = optarg; break;
		case 'I': o->inverted = true; break;
		case 'A': o->allow_incomplete = true; break;
		case 'P': o->part = optarg; break;
		case 'h': fputs(diff_usage, stdout); exit(0);
		default:
			log_error("diff: unknown or incomplete option '%s' (see 'prof diff --help')",
				  argv[optind - 1]);
			return -1;
		}
	}
	if (argc - optind != 2) {
		if (argc - optind < 2)
			log_error("diff: two recordings needed: prof diff BASE.db NEW.db");
		else
			log_error("diff: unexpected argument '%s'", argv[optind + 2]);
		return -1;
	}
	o->base_path = argv[optind];
	o->new_path = argv[optind + 1];
	return 0;
}

/* Opens a recording; refuses one a live recorder is still writing, and an
 * incomplete one unless --allow-incomplete. */
static int open_side(struct side *s, const struct diff_options *o)
{
	char err[512];
	s->db = store_open_read(s->path, err, sizeof err);
	if (!s->db) {
		log_error("%s", err);
		return -1;
	}
	enum store_state state = store_state(s->db);
	if (state == STATE_UNREADABLE)
		return -1;
	if (state != STATE_COMPLETE && state != STATE_BEING_WRITTEN && !o->allow_incomplete) {
		log_error("diff: %s is an incomplete recording (%s); compare it anyway with "
			  "--allow-incomplete", s->path,
			  state == STATE_ABANDONED ? "its recorder died" : "interrupted");
		return -1;
	}
	int rc = store_check_state(s->db, s->path);
	sqlite3_stmt *st;
	if (rc == 0 && sqlite3_prepare_v2(s->db, "SELECT exe FROM processes ORDER BY id LIMIT 1", -1,
					  &st, NULL) == SQLITE_OK) {
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW && sqlite3_column_text(st, 0))
			s->exe = xstrdup(basename_of((const char *)sqlite3_column_text(st, 0)));
		rc = store_loop_end(st, step == SQLITE_ROW ? SQLITE_DONE : step);
	}
	return rc;
}

static void close_side(struct side *s)
{
	if (s->loaded)
		profile_free(&s->p);
	if (s->db)
		sqlite3_close(s->db);
	free(s->exe);
}

/* Cache, block and step count exactly; a sampled recording estimates. */
static int check_modes(struct side *b, struct side *n)
{
	bool failed = false;
	char *bm = store_get_meta(b->db, "mode", &failed);
	char *nm = store_get_meta(n->db, "mode", &failed);
	int rc = failed ? -1 : 0;
	if (!failed && diff_mode_exact(bm) != diff_mode_exact(nm)) {
		bool base_exact = diff_mode_exact(bm);
		const char *sm = base_exact ? nm : bm;
		log_error("diff: %s was recorded in %s mode (statistical) and %s in %s mode (exact "
			  "counts): they cannot be compared; record both in an exact mode (cache, block, step)",
			  base_exact ? n->path : b->path, sm ? sm : "unknown",
			  base_exact ? b->path : n->path, base_exact ? bm : nm);
		rc = -1;
	}
	free(bm);
	free(nm);
	return rc;
}

static const char *fmt_percent(const struct diff_row *r, char *buf, size_t len)
{
	if (r->status == DIFF_NEW)
		return "new";
	if (r->status == DIFF_GONE)
		return "gone";
	if (!r->delta)
		return "0.00%";
	snprintf(buf, len, "%+.2f%%", r->percent);
	return buf;
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static size_t column_width(const struct diff *d, size_t n, bool dso, size_t min, size_t max)
{
	size_t w = min;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(dso ? d->rows[i].dso : d->rows[i].name);
		if (l > w)
			w = l;
	}
	return w > max ? max : w;
}

static void text_side(FILE *out, const char *what, const struct side *s)
{
	char n[32];
	bool exact = diff_mode_exact(s->p.mode);
	fprintf(out, "# %-6s %s\n", what, s->p.command);
	fprintf(out, "#        %s: %s mode (%s), %s %s%s\n", s->path, s->p.mode,
		exact ? "exact counts" : "statistical", fmt_count(s->p.total, n, sizeof n),
		exact ? "instructions" : "counted", s->p.complete ? "" : "  [INCOMPLETE]");
}

static void print_text(FILE *out, const struct diff *d, const struct side *b, const struct side *n,
		       const struct diff_options *o)
{
	char c1[32], c2[32], c3[32], pc[32];
	text_side(out, "base:", b);
	text_side(out, "new:", n);
	fprintf(out, "# delta: %s (%s)\n", diff_fmt_delta(d->delta, c1, sizeof c1),
		diff_fmt_total_percent(d, pc, sizeof pc));
	if (b->exe && n->exe && strcmp(b->exe, n->exe) != 0)
		fprintf(out, "#        functions of %s matched with those of %s\n", b->exe, n->exe);
	fputc('\n', out);

	size_t rows = o->top && o->top < d->nrows ? o->top : d->nrows;
	size_t fw = column_width(d, rows, false, 8, 48), dw = column_width(d, rows, true, 3, 24);
	fprintf(out, "%15s %15s %15s %9s  %-*s  %s\n", "base", "new", "delta", "delta%", (int)fw,
		"function", "dso");
	for (size_t i = 0; i < rows; i++) {
		const struct diff_row *r = &d->rows[i];
		fprintf(out, "%15s %15s %15s %9s  %-*.*s  %.*s\n", fmt_count(r->base, c1, sizeof c1),
			fmt_count(r->new, c2, sizeof c2), diff_fmt_delta(r->delta, c3, sizeof c3),
			fmt_percent(r, pc, sizeof pc), (int)fw, (int)fw, r->name, (int)dw, r->dso);
	}
	if (rows < d->nrows)
		fprintf(out, "(%zu more function%s; --top 0 shows all)\n", d->nrows - rows,
			d->nrows - rows == 1 ? "" : "s");

	int order[CLASS_COUNT], nc = 0;
	for (int c = 0; c < CLASS_COUNT; c++)
		if (d->classes[c].base || d->classes[c].new)
			order[nc++] = c;
	for (int i = 1; i < nc; i++) /* by |delta|, descending */
		for (int j = i; j > 0 && llabs(d->classes[order[j]].delta) >
					 llabs(d->classes[order[j - 1]].delta); j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	fprintf(out, "\n%8s %8s %15s  %s\n", "base %", "new %", "delta", "class");
	for (int i = 0; i < nc; i++) {
		const struct diff_class *k = &d->classes[order[i]];
		fprintf(out, "%7.2f%% %7.2f%% %15s  %s\n", share(k->base, d->base_total),
			share(k->new, d->new_total), diff_fmt_delta(k->delta, c1, sizeof c1),
			class_name((unsigned)order[i]));
	}
	fprintf(out, "\ntotal: %s -> %s %s, %s (%s)\n", fmt_count(d->base_total, c1, sizeof c1),
		fmt_count(d->new_total, c2, sizeof c2),
		diff_mode_exact(b->p.mode) ? "instructions" : "counted",
		diff_fmt_delta(d->delta, c3, sizeof c3), diff_fmt_total_percent(d, pc, sizeof pc));
}

static void json_side(FILE *out, const char *key, const struct profile *p)
{
	fprintf(out, "  \"%s\": {\"command\": ", key);
	json_string(out, p->command);
	fputs(", \"mode\": ", out);
	json_string(out, p->mode);
	fprintf(out, ", \"total\": %llu},\n", (unsigned long long)p->total);
}

static void print_json(FILE *out, const struct diff *d, const struct side *b, const struct side *n,
		       const struct diff_options *o, const struct diff_gates *g, const char *label)
{
	static const char *const status[] = { "both", "new", "gone" };
	fputs("{\n", out);
	if (label) {
		fputs("  \"part\": ", out);
		json_string(out, label);
		fputs(",\n", out);
	}
	json_side(out, "base", &b->p);
	json_side(out, "new", &n->p);
	fprintf(out, "  \"total\": {\"base\": %llu, \"new\": %llu, \"delta\": %lld, \"percent\": ",
		(unsigned long long)d->base_total, (unsigned long long)d->new_total,
		(long long)d->delta);
	if (d->base_total || !d->delta)
		fprintf(out, "%.4f},\n", d->percent);
	else
		fputs("null},\n", out);
	fputs("  \"functions\": [", out);
	size_t rows = o->top && o->top < d->nrows ? o->top : d->nrows;
	for (size_t i = 0; i < rows; i++) {
		const struct diff_row *r = &d->rows[i];
		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
		json_string(out, r->name);
		fputs(", \"dso\": ", out);
		json_string(out, r->dso);
		fprintf(out, ", \"base\": %llu, \"new\": %llu, \"delta\": %lld, \"percent\": ",
			(unsigned long long)r->base, (unsigned long long)r->new, (long long)r->delta);
		if (r->status == DIFF_NEW)
			fputs("null", out);
		else
			fprintf(out, "%.4f", r->percent);
		fprintf(out, ", \"status\": \"%s\"}", status[r->status]);
	}
	fputs(rows ? "\n  ],\n" : "],\n", out);
	fputs("  \"classes\": [", out);
	bool first = true;
	for (int c = 0; c < CLASS_COUNT; c++) {
		const struct diff_class *k = &d->classes[c];
		if (!k->base && !k->new)
			continue;
		fprintf(out, "%s{\"class\": \"%s\", \"base\": %llu, \"new\": %llu, \"delta\": %lld}",
			first ? "\n    " : ",\n    ", class_name((unsigned)c),
			(unsigned long long)k->base, (unsigned long long)k->new, (long long)k->delta);
		first = false;
	}
	fputs(first ? "],\n" : "\n  ],\n", out);
	fputs("  \"gate\": {\"fail_above\": ", out);
	if (o->gate)
		fprintf(out, "%.4f", o->fail_above);
	else
		fputs("null", out);
	fputs(", \"fail_above_function\": ", out);
	if (o->gate_function)
		fprintf(out, "%.4f", o->fail_above_function);
	else
		fputs("null", out);
	fprintf(out, ", \"functions_failed\": %zu, \"passed\": %s}\n}\n", g->functions_failed,
		g->total_passed && !g->functions_failed ? "true" : "false");
}

/* label: the part, a first column (the header is written with the first part) */
static void print_csv(FILE *out, const struct diff *d, const struct diff_options *o,
		      const char *label, bool header)
{
	static const char *const status[] = { "both", "new", "gone" };
	if (header)
		fputs(label ? "part,function,dso,base,new,delta,percent,status\n"
			    : "function,dso,base,new,delta,percent,status\n", out);
	size_t rows = o->top && o->top < d->nrows ? o->top : d->nrows;
	for (size_t i = 0; i < rows; i++) {
		const struct diff_row *r = &d->rows[i];
		if (label) {
			csv_field(out, label);
			fputc(',', out);
		}
		csv_field(out, r->name);
		fputc(',', out);
		csv_field(out, r->dso);
		fprintf(out, ",%llu,%llu,%lld,", (unsigned long long)r->base,
			(unsigned long long)r->new, (long long)r->delta);
		if (r->status != DIFF_NEW)
			fprintf(out, "%.4f", r->percent);
		fprintf(out, ",%s\n", status[r->status]);
	}
}

/* A gate must not pass on a recording without counts (open_side refused
 * the incomplete ones). */
static int check_side(const struct side *s)
{
	if (s->p.total == 0) {
		log_error("diff: %s holds no %s: nothing to compare", s->path,
			  s->p.sampled ? "samples" : "instructions");
		return -1;
	}
	return 0;
}

/* The CPU a program is shown decides which code it runs (glibc's memcpy,
 * the program's own dispatch): counts of two CPUs do not compare. */
static void check_cpus(const struct side *b, const struct side *n)
{
	char *bs = profile_cpu_seen(&b->p.cpu), *ns = profile_cpu_seen(&n->p.cpu);
	const struct profile_cpu *bc = &b->p.cpu, *nc = &n->p.cpu;
	/* Two hosts differ when their names or features do. */
	bool same = !bs || !ns || (strcmp(bs, ns) == 0 &&
		    (strcmp(bc->model, "host") != 0 ||
		     strcmp(bc->host_features ? bc->host_features : "",
			    nc->host_features ? nc->host_features : "") == 0));
	if (!same)
		log_warn("diff: the programs saw different CPUs, %s in %s and %s in %s: their counts "
			 "are not comparable (record both with the same --cpu)", bs, b->path, ns, n->path);
	free(bs);
	free(ns);
}

/* parts: comparing parts, where one may be empty (a gate fails on growth from 0). */
static int check_comparable(const struct side *b, const struct side *n, bool parts)
{
	if (!parts && (check_side(b) != 0 || check_side(n) != 0))
		return -1;
	if (strcmp(b->p.command, n->p.command) != 0)
		log_warn("diff: the recordings ran different commands: '%s' and '%s'",
			 b->p.command, n->p.command);
	check_cpus(b, n);
	return 0;
}

/* Loads one part (0: the whole run) of a side; false after an error line. */
static bool load_side(struct side *s, int part)
{
	struct profile_filter f = { .part = part };
	if (s->loaded)
		profile_free(&s->p);
	s->loaded = true; /* profile_free is needed even after a failed load */
	return profile_load(s->db, &f, &s->p) == 0;
}

/* Compares one pair of parts and prints it; 0 passed, 1 a gate failed, 2 an error. */
static int compare(struct side *b, struct side *n, struct diff_options *o,
		   const struct part_pair *pp, size_t index)
{
	if (!load_side(b, pp->base) || !load_side(n, pp->new) ||
	    check_comparable(b, n, pp->label != NULL) != 0)
		return 2;
	if (index == 0) {
		symbolizer_print_warnings(b->p.symbolizer);
		symbolizer_print_warnings(n->p.symbolizer);
	}
	const char *mains[] = { b->exe ? b->exe : "", n->exe ? n->exe : "" };
	struct dso_filter filter = { o->only, o->nonly, o->exclude, o->nexclude, mains, 2 };
	if (o->nonly || o->nexclude) {
		diff_filter_dsos(&b->p, b->exe, &filter);
		diff_filter_dsos(&n->p, n->exe, &filter);
	}
	if (o->svg && diff_svg(o->svg, &b->p, &n->p, o->inverted) != 0)
		return 2;
	struct diff d;
	diff_compute(&b->p, &n->p, b->exe, n->exe, &d);
	struct diff_gates g = { .total = o->gate, .total_limit = o->fail_above,
				.function = o->gate_function, .function_limit = o->fail_above_function };
	g.total_passed = !o->gate || diff_gate_passed(&d, o->fail_above);
	if (o->gate_function) { /* on every function, whatever --top shows */
		const struct diff_row *worst;
		g.functions_failed = diff_functions_above(&d, o->fail_above_function, &worst);
		if (worst)
			g.worst = *worst;
	}
	bool passed = g.total_passed && !g.functions_failed;
	diff_sort(&d, o->sort);
	struct diff_selection sel = { o->only, o->nonly, o->exclude, o->nexclude };
	const char *label = pp->label;
	if (o->format == DIFF_JSON) {
		print_json(stdout, &d, b, n, o, &g, label);
	} else if (o->format == DIFF_CSV) {
		print_csv(stdout, &d, o, label, index == 0);
	} else if (o->format == DIFF_MARKDOWN) {
		if (label) {
			fputs("## Part ", stdout);
			json_string(stdout, label); /* quoted: a name is the program's text */
			fputs("\n\n", stdout);
		}
		diff_print_markdown(stdout, &d, &b->p, &n->p, o->top, &g, &sel);
	} else {
		if (label) {
			fputs(index ? "\n## part " : "## part ", stdout);
			print_escaped(stdout, label);
			fprintf(stdout, " (base part %d, new part %d)\n", pp->base, pp->new);
		}
		print_text(stdout, &d, b, n, o);
	}
	/* Text: the last lines of the report; JSON and CSV keep stdout parseable;
	 * Markdown has them in its table. */
	if (o->format != DIFF_MARKDOWN)
		diff_print_gates(o->format == DIFF_TEXT ? stdout : stderr, &d, &g);
	diff_free(&d);
	return passed ? 0 : 1;
}

static char *part_label(const struct part_row *r)
{
	char num[16];
	return xstrdup(profile_part_label(r, num, sizeof num));
}

/* The pairs to compare: --part's in each, or the parts of the base that the
 * new recording has too (by name, else number) when both have parts, or
 * the whole runs. Returns how many, or -1 after one error line. */
static int match_parts(struct side *b, struct side *n, const struct diff_options *o,
		       struct part_pair **out)
{
	char err[512];
	*out = xcalloc(1, sizeof **out);
	if (o->part) {
		int bp = profile_find_part(b->db, o->part, err, sizeof err), np = bp <= 0 ? -1 :
			profile_find_part(n->db, o->part, err, sizeof err);
		if (bp == 0 || np == 0)
			log_error("diff: %s: %s", bp == 0 ? b->path : n->path, err);
		if (bp <= 0 || np <= 0)
			return -1;
		**out = (struct part_pair){ bp, np, xstrdup(o->part) };
		return 1;
	}
	struct profile bparts = { 0 }, nparts = { 0 };
	struct profile_filter all = { 0 };
	int count = 0;
	if (profile_load_parts(b->db, &all, &bparts) != 0 || profile_load_parts(n->db, &all, &nparts) != 0) {
		count = -1;
	} else if (bparts.nparts < 2 || nparts.nparts < 2) {
		count = 1; /* the whole runs */
	} else {
		*out = xrealloc(*out, bparts.nparts * sizeof **out);
		for (size_t i = 0; i < bparts.nparts; i++) {
			char *label = part_label(&bparts.parts[i]);
			size_t k = 0;
			char *other = NULL;
			for (; k < nparts.nparts; k++, free(other))
				if (strcmp(label, other = part_label(&nparts.parts[k])) == 0)
					break;
			free(other);
			if (k < nparts.nparts && !bparts.parts[i].count && !nparts.parts[k].count) {
				free(label); /* empty in both (the end after the last dump): nothing to compare */
				continue;
			}
			if (k < nparts.nparts) {
				(*out)[count++] = (struct part_pair){ bparts.parts[i].number,
								      nparts.parts[k].number, label };
				continue;
			}
			log_warn("diff: part %s of %s is not in %s: not compared", label, b->path, n->path);
			free(label);
		}
		for (size_t k = 0; k < nparts.nparts; k++) {
			char *label = part_label(&nparts.parts[k]);
			bool matched = false;
			for (size_t i = 0; i < bparts.nparts && !matched; i++) {
				char *other = part_label(&bparts.parts[i]);
				matched = strcmp(other, label) == 0;
				free(other);
			}
			if (!matched)
				log_warn("diff: part %s of %s is not in %s: not compared", label, n->path, b->path);
			free(label);
		}
		if (!count)
			log_error("diff: %s and %s have no part in common", b->path, n->path);
		count = count ? count : -1;
	}
	profile_free(&bparts);
	profile_free(&nparts);
	return count;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_options o;
	if (parse_diff_args(argc, argv, &o) != 0)
		return 2;
	struct side b = { .path = o.base_path }, n = { .path = o.new_path };
	struct part_pair *pairs = NULL;
	int rc = 2, npairs = 0;
	if (open_side(&b, &o) || open_side(&n, &o) || check_modes(&b, &n) ||
	    (npairs = match_parts(&b, &n, &o, &pairs)) < 0)
		goto out;
	if (o.svg && npairs > 1) {
		log_error("diff: --svg draws one comparison: choose a part with --part NAME");
		goto out;
	}
	bool parts = npairs > 1 || o.part;
	if (parts && o.format == DIFF_JSON)
		fputs("{\"parts\": [\n", stdout);
	int worst = 0, failed = 0;
	for (int i = 0; i < npairs && worst < 2; i++) {
		if (parts && o.format == DIFF_JSON && i)
			fputs(",\n", stdout);
		int r = compare(&b, &n, &o, &pairs[i], (size_t)i);
		worst = r > worst ? r : worst;
		failed += r == 1;
	}
	/* Parts in text: the verdict over all of them, last. */
	if (npairs > 1 && o.format == DIFF_TEXT && worst < 2 && (o.gate || o.gate_function))
		printf("\ngates: %s in %d of %d parts\n", failed ? "FAILED" : "passed",
		       failed ? failed : npairs, npairs);
	if (parts && o.format == DIFF_JSON && worst < 2)
		fprintf(stdout, "], \"passed\": %s}\n", worst ? "false" : "true");
	fflush(stdout);
	rc = worst;
out:
	for (int i = 0; i < npairs; i++)
		free(pairs[i].label);
	free(pairs);
	close_side(&b);
	close_side(&n);
	return rc;
}
