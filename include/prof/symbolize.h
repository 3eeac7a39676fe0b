/* PC -> (function, DSO) through the recorded mappings and the ELF files. */
#ifndef PROF_SYMBOLIZE_H
#define PROF_SYMBOLIZE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbolizer;
struct elf_file;
struct elf_symbol;

struct symbol_ref {
	const char *function;   /* symbol name (demangled unless turned off), "[vdso]", "[unknown]", ... */
	const char *dso;        /* file base name, "[vdso]", "[anon]" */
	const char *dso_path;   /* full path as mapped, or the bracketed name */
	uint64_t sym_start;     /* runtime address of the symbol start (0 if unknown) */
	size_t dso_id;          /* 1 + index of the DSO in the symbolizer; 0 when pc is in no ELF file */
	uint64_t vaddr;         /* pc's link-time address in that file (when dso_id != 0) */
};

/* Loads the recorded mappings of every process image in db; NULL after one
 * error line when the database cannot be read. */
struct symbolizer *symbolizer_new(sqlite3 *db);
void symbolizer_free(struct symbolizer *s);
/* Strings in out stay valid until symbolizer_free. */
void symbolizer_resolve(struct symbolizer *s, uint32_t proc, uint64_t pc,
			struct symbol_ref *out);
/* Warnings collected while loading (binary changed since recording, ...). */
void symbolizer_print_warnings(struct symbolizer *s);
/* C++ and Rust names are demangled (libiberty) unless this turns it off;
 * call it before resolving anything. */
void symbolizer_set_demangle(struct symbolizer *s, bool demangle);

/* Looking inside one DSO (annotate, --by line). dso_id as in symbol_ref:
 * 1 ... symbolizer_ndsos(s). */
size_t symbolizer_ndsos(const struct symbolizer *s);
const char *symbolizer_dso_path(const struct symbolizer *s, size_t dso_id);
/* Its ELF file as read now; NULL when not a file, unreadable or changed since recording. */
struct elf_file *symbolizer_dso_elf(struct symbolizer *s, size_t dso_id);
/* A symbol's name as reports print it (demangled unless turned off). */
const char *symbolizer_symbol_name(struct symbolizer *s, size_t dso_id, const struct elf_symbol *sym);
/* The source file and line of a link-time address, from the DSO's DWARF or
 * its separate debug file (the line table is opened once per DSO). */
bool symbolizer_line(struct symbolizer *s, size_t dso_id, uint64_t vaddr, const char **file, int *line);
/* The text of a source line (NULL when the file is not readable). */
const char *symbolizer_source_text(struct symbolizer *s, size_t dso_id, const char *file, int line);

#endif
