/* Small helpers shared by every layer. */
#ifndef PROF_UTIL_H
#define PROF_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t now_ns(void);           /* CLOCK_MONOTONIC */
uint64_t realtime_ns(void);      /* CLOCK_REALTIME */
/* Formats n with thousands separators into buf ("1,234,567"). */
const char *fmt_count(uint64_t n, char *buf, size_t len);
/* Parses a non-negative decimal integer; returns -1 when s is not one. */
long long parse_count(const char *s);
const char *basename_of(const char *path);

/* Option helpers shared by the subcommands; each prints one error line
 * ("prof: CMD: ...") and returns -1 on a bad value. */
/* The index of value in names[0..n); a bad value's error line lists them
 * (and names the one meant, when a close one is). */
int parse_choice(const char *cmd, const char *what, const char *value,
		 const char *const *names, int n);
/* Levenshtein distance (insertions, deletions, substitutions); SIZE_MAX
 * for strings over 200 bytes. */
size_t edit_distance(const char *a, const char *b);
/* The one of names[0..n) a user most likely meant by word (a prefix of it,
 * or a typo: at most 2 edits, fewer than word's length), or NULL. */
const char *closest_name(const char *word, const char *const *names, int n);
/* A process or thread id for --pid / --tid (opt is the option's name). */
int parse_id(const char *cmd, const char *opt, const char *value);
/* --color auto|always|never: 1 to color stdout, 0 not, -1 for a bad value.
 * auto colors a terminal unless NO_COLOR is set to something (no-color.org). */
int parse_color(const char *cmd, const char *when);
/* A decimal number for --OPT within [min, max]: every fractional option is
 * checked here, so nan, inf and values that would round to "no limit" are
 * refused the same way everywhere. Returns 0, or -1 after one error line. */
int parse_number(const char *cmd, const char *opt, const char *value, double min, double max,
		 double *out);
/* When process pid started (clock ticks after boot, /proc/PID/stat field 22);
 * 0 when there is no such process. pid and start time name one process. */
unsigned long long proc_start_time(int pid);
/* Opens path for reading only if it is a regular file, without ever blocking
 * (a FIFO, a device or a directory where a binary was: -1, errno set). */
int open_regular(const char *path);
/* qsort that accepts an empty (NULL) array, which qsort itself must not get. */
static inline void sort_array(void *base, size_t n, size_t size,
			      int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}
/* Writes s as a JSON string literal (with quotes). */
void json_string(FILE *f, const char *s);
/* FNV-1a of two strings, as a key of (name, DSO) pairs. */
uint64_t hash_two_strings(const char *a, const char *b);
/* Writes s as one CSV field, quoted when it holds a comma, quote or newline. */
void csv_field(FILE *f, const char *s);
/* Writes s on one line: newlines, tabs, backslashes and other control
 * characters as C escapes (\n, \t, \\, \x1b), for one-line headers. */
void print_escaped(FILE *f, const char *s);
/* Columns of the terminal fd writes to; 0 when fd is not a terminal. */
size_t terminal_width(int fd);

/* FNV-1a of n bytes: a cheap hash to find equal byte strings (code seen,
 * JIT files read), not to resist anyone. */
uint64_t hash_fnv1a(const uint8_t *p, size_t n);
/* Two 64-bit keys mixed into one hash (a splitmix64 finish): for tables
 * keyed by several numbers (the writer's rows, the tracer's arc sums). */
uint64_t hash_pair(uint64_t a, uint64_t b);

/* A helper thread of prof's (the writer, the line tables opened ahead):
 * started with every signal blocked, so that Ctrl-C and timers interrupt
 * the tracer's waitpid and never land in it. pthread_create's result. */
int start_helper_thread(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
