/* Where annotate finds a function's bytes: its ELF file as it is now, when
 * it is the file recorded; else the recording (the code the JIT wrote in
 * its jitdump, or what prof decoded of anonymous code while it ran). */
#ifndef PROF_ANNOTATE_CODE_H
#define PROF_ANNOTATE_CODE_H

#include "prof/symbolize.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct function_code {
	uint8_t *bytes;          /* NULL: none at all */
	uint8_t *known;          /* per byte: 1 when known; NULL when all are */
	uint64_t start, end;     /* the addresses of bytes[] (link-time, runtime in no file) */
	const char *from;        /* "the jitdump", "the recording", or the file's path */
};

/* fn: a resolved pc of the function; [start, end) the addresses wanted;
 * proc and gen where the function ran (code in no file). */
void function_code_read(sqlite3 *db, struct symbolizer *s, const struct symbol_ref *fn,
			uint32_t proc, uint32_t gen, uint64_t start, uint64_t end,
			struct function_code *out);
bool function_code_known(const struct function_code *fc, uint64_t addr);
void function_code_free(struct function_code *fc);

#endif
