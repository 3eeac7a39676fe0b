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

struct recorded_function;

struct symbol_ref {
	const char *function;   /* symbol name (demangled unless turned off), "[vdso]", "[unknown]", ... */
	const char *raw_name;   /* the name as the file or the JIT spells it (mangled) */
	const char *dso;        /* file base name, "[vdso]", "[anon]" */
	const char *dso_path;   /* full path as mapped, or the bracketed name */
	uint64_t sym_start;     /* runtime address of the symbol start (0 if unknown) */
	bool has_extent;        /* sym_vaddr and sym_size are known */
	uint64_t sym_vaddr;     /* the symbol's link-time start (runtime for code in no file) */
	uint64_t sym_size;      /* its size in bytes */
	size_t dso_id;          /* 1 + index of the DSO in the symbolizer; 0 when pc is in no mapped file */
	uint64_t vaddr;         /* pc's link-time address in that file (the pc itself in no file) */
	bool from_jit;          /* named by the program's JIT (perf map, jitdump) */
	int64_t jit_blob;       /* ... whose code bytes the recording holds (0: none) */
	const struct recorded_function *recorded;   /* the recording's own name for it, or NULL */
};
struct lines_prefetch;
/* Line tables are taken from lp (opened ahead) before being opened here. */
void symbolizer_use_prefetch(struct symbolizer *s, struct lines_prefetch *lp);

/* Loads the recorded mappings of every process image in db, the JIT's names
 * and the names the recorder wrote at its end (schema 4), which are then
 * used before the binaries on disk; NULL after one error line when the
 * database cannot be read. */
struct symbolizer *symbolizer_new(sqlite3 *db);
/* As symbolizer_new, without the recorded names: what the recorder itself
 * uses to write them. */
struct symbolizer *symbolizer_new_from_binaries(sqlite3 *db);
void symbolizer_free(struct symbolizer *s);
/* The function, DSO and link-time address of pc in process image proc
 * (its processes row), code generation gen. Strings in out stay valid
 * until symbolizer_free. */
void symbolizer_resolve(struct symbolizer *s, uint32_t proc, uint64_t pc, uint32_t gen,
			struct symbol_ref *out);
/* The source file and line of a resolved pc: recorded, else from DWARF. */
bool symbolizer_ref_line(struct symbolizer *s, const struct symbol_ref *ref, const char **file,
			 int *line);
/* Whether the recording's own names are used (schema 4 recordings). */
bool symbolizer_has_names(const struct symbolizer *s);
/* The executed jmp at pc: 1 when the recording says it is a direct jump
 * (target set), 0 when it says it is none, -1 when it cannot say (older
 * recordings: decode the code). */
int symbolizer_direct_jump(const struct symbolizer *s, uint32_t proc, uint64_t pc, uint32_t gen,
			   uint64_t *target);
/* C++ and Rust names demangled (a malloc'd copy), or NULL for other names. */
char *symbolizer_demangle(const char *name);
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
