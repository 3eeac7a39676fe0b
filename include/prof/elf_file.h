/* One ELF file opened with libelf: its symbols, load segments and build-id. */
#ifndef PROF_ELF_FILE_H
#define PROF_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_symbol {
	uint64_t addr, size;
	const char *name;
	int rank;      /* lower is a better name for its address (see elf_file.c) */
};

struct elf_file {
	char *path;
	bool is_dyn;              /* ET_DYN: PIE or shared library */
	struct elf_symbol *syms;  /* sorted by address */
	size_t nsyms;
	char *strings;            /* owns the symbol names */
	struct { uint64_t offset, vaddr, filesz, memsz; } *loads;
	size_t nloads;
	char build_id[41];        /* hex, "" when absent */
	char *debug_path;         /* separate debug file (build-id, .gnu_debuglink), or NULL */
	size_t nsynthetic;        /* symbols named sub_<address> from .eh_frame (stripped files) */
	char *synthetic_names;    /* owns those names */
	char *plt_names;          /* owns the names of the name@plt stubs */
};

/* One function's link-time address range [start, end). */
struct elf_range {
	uint64_t start, end;
};

/* Returns NULL (errno set) when the file cannot be read as ELF. */
struct elf_file *elf_file_open(const char *path);
void elf_file_close(struct elf_file *ef);
/* Maps a file offset to the link-time virtual address. */
bool elf_file_offset_to_vaddr(const struct elf_file *ef, uint64_t offset, uint64_t *vaddr);
/* Maps a link-time virtual address to its file offset (bytes present in the file only). */
bool elf_file_vaddr_to_offset(const struct elf_file *ef, uint64_t vaddr, uint64_t *offset);
/* The function symbol covering vaddr, or NULL. */
const struct elf_symbol *elf_file_lookup(const struct elf_file *ef, uint64_t vaddr);
/* The end of a symbol's code: addr + size, or for an unsized symbol the next
 * symbol's address (else the end of its load segment). */
uint64_t elf_file_symbol_end(const struct elf_file *ef, const struct elf_symbol *sym);
/* The function ranges of a file's .eh_frame (one per FDE), sorted by start.
 * Returns how many (0 when none or unreadable); *out is to be freed. */
size_t elf_eh_frame_functions(const char *path, struct elf_range **out);
/* Reads only the build-id note (hex) of a file; "" when absent or unreadable. */
void elf_read_build_id(const char *path, char out[41]);
/* A hash (hex) of the file's executable segments: what tells a rebuilt
 * binary without a build-id from the recorded one. false when unreadable. */
bool elf_text_hash(const char *path, char out[17]);

#endif
