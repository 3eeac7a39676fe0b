/* Source lines from DWARF with libdw: address -> file:line. */
#ifndef PROF_LINES_H
#define PROF_LINES_H

#include <stdbool.h>
#include <stdint.h>

struct elf_file;
struct line_table;

/* The DWARF line information of ef: its own, else that of its separate
 * debug file (ef->debug_path). NULL when there is none. */
struct line_table *lines_open(const struct elf_file *ef);
void lines_close(struct line_table *lt);
/* The source file and line of a link-time address; false when unknown.
 * *file stays valid until lines_close. */
bool lines_lookup(struct line_table *lt, uint64_t vaddr, const char **file, int *line);
/* The text of line `line` of a source file (without its newline), or NULL
 * when the file cannot be read or is shorter. Files are read once and kept. */
const char *lines_source_text(struct line_table *lt, const char *file, int line);

#endif
