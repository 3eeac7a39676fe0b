/* PC -> (function, DSO) through the recorded mappings and the ELF files. */
#ifndef PROF_SYMBOLIZE_H
#define PROF_SYMBOLIZE_H

#include <sqlite3.h>
#include <stdint.h>

struct symbolizer;

struct symbol_ref {
	const char *function;   /* symbol name, "[vdso]", "[unknown]", ... */
	const char *dso;        /* file base name, "[vdso]", "[anon]" */
	const char *dso_path;   /* full path as mapped, or the bracketed name */
	uint64_t sym_start;     /* runtime address of the symbol start (0 if unknown) */
};

/* Loads the recorded mappings of every process image in db. */
struct symbolizer *symbolizer_new(sqlite3 *db);
void symbolizer_free(struct symbolizer *s);
/* Strings in out stay valid until symbolizer_free. */
void symbolizer_resolve(struct symbolizer *s, uint32_t proc, uint64_t pc,
			struct symbol_ref *out);
/* Warnings collected while loading (binary changed since recording, ...). */
void symbolizer_print_warnings(struct symbolizer *s);

#endif
