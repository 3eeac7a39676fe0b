/* prof report: options shared by the output formats. */
#ifndef PROF_REPORT_H
#define PROF_REPORT_H

#include "prof/profile.h"
#include "prof/symbolize.h"

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>

enum report_by { BY_FUNCTION, BY_DSO, BY_CLASS, BY_THREAD, BY_LINE, BY_PART };
enum report_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV, FORMAT_CALLGRIND, FORMAT_FOLDED };

struct report_options {
	const char *input;
	size_t top;              /* 0 = all */
	enum report_by by;
	enum report_format format;
	bool syscalls;
	bool call_graph;         /* callers and callees of the top functions */
	const char *svg;         /* write a flame graph to this file ("-": stdout) */
	bool inverted;           /* the flame graph as an icicle: callers on top */
	struct profile_filter filter;
	const char *part;        /* --part NAME|N as given; filter.part its number */
	const char *output;      /* --output: the callgrind export's file (per part: FILE.N) */
	/* which function and DSO rows to show, and in what order */
	double percent_limit;    /* hide rows under this share of the total */
	const char *dso;         /* only this DSO (base name) */
	const char *sym;         /* only functions whose name matches this regex */
	regex_t sym_re;          /* sym, compiled (POSIX extended) */
	const char *sym_exact;   /* only the function named so (symmatch.h) */
	const char *sort;        /* count (default), inclusive or name */
	bool color;              /* ANSI colors: a terminal without NO_COLOR */
	size_t width;            /* text columns to fit (a terminal's); 0 = no limit */
};

/* Applies --percent-limit, --dso, --sym and --sort to the function and DSO rows. */
void report_select_rows(struct profile *p, const struct report_options *o);

void report_text(FILE *out, const struct profile *p, const struct report_options *o);
void report_json(FILE *out, const struct profile *p, const struct report_options *o);
void report_csv(FILE *out, const struct profile *p, const struct report_options *o);
/* Exporters: the whole profile, whatever --top and --by say. */
void report_callgrind(FILE *out, const struct profile *p, const struct report_options *o);
/* A recording with parts: one file per part, named as callgrind names its
 * dumps (PREFIX.1 ... and PREFIX for the last; PREFIX: --output, else
 * callgrind.out.PID). Returns 0, or -1 after one error line. */
int report_callgrind_parts(sqlite3 *db, const struct report_options *o);
/* One callgrind file of p: --output, or stdout. 0, or -1 after one error line. */
int report_callgrind_file(const struct profile *p, const struct report_options *o);
void report_folded(FILE *out, const struct profile *p, const struct report_options *o);
/* Returns 0, or -1 after printing one error line. */
int report_svg(const char *path, const struct profile *p, const struct report_options *o);
/* prof diff --svg: a differential flame graph (widths from new, colors by
 * the change from base). Returns 0, or -1 after printing one error line. */
int diff_svg(const char *path, const struct profile *base, const struct profile *new, bool inverted);

/* Rows to print for --by function|dso, after --top. */
size_t report_row_limit(size_t available, const struct report_options *o);

#endif
