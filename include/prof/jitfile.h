/* What JITs write for profilers, parsed from bytes (no files here, so the
 * parsers are fuzzed and unit-tested alone):
 *
 * - perf maps, /tmp/perf-PID.map: one "START SIZE name" line per function
 *   (hexadecimal, 0x optional), appended as the JIT compiles (node
 *   --perf-basic-prof, java -XX:+DumpPerfMapAtExit, python -X perf);
 * - jitdump, jit-PID.dump (perf's tools/perf/Documentation/
 *   jitdump-specification.txt): a header, then records, code-load ones
 *   with the function's name, address, size, load time and code bytes
 *   (node --perf-prof). The JIT mmaps the file executable to announce it.
 *
 * Everything is untrusted: lengths are checked against the bytes at hand
 * and the limits below, names are cut and their control characters escaped. */
#ifndef PROF_JITFILE_H
#define PROF_JITFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JIT_MAX_NAME 1024                 /* longer names are cut */
#define JIT_MAX_CODE_SIZE (64ull << 20)   /* a larger function is not believed */
#define PERFMAP_MAX_LINE 8192             /* a longer line is malformed */

/* One perf map line (without its newline). false: malformed (bad numbers,
 * no name, size 0 or above JIT_MAX_CODE_SIZE, a range past the end of the
 * address space). name gets the escaped name, NUL-terminated. */
bool perfmap_parse_line(const char *line, size_t len, uint64_t *start, uint64_t *size,
			char name[JIT_MAX_NAME + 8]);

/* Escapes control characters (\n, \t, \r, \xNN) of in[0..len) into out,
 * cutting at JIT_MAX_NAME bytes of input and at the first NUL. */
void jit_escape_name(const char *in, size_t len, char out[JIT_MAX_NAME + 8]);

#define JITDUMP_MAGIC 0x4A695444u         /* "JiTD", in the writer's byte order */
#define JITDUMP_HEADER_SIZE 40
#define JITDUMP_MAX_RECORD (JIT_MAX_CODE_SIZE + 65536)

enum jitdump_kind {
	JITDUMP_CODE_LOAD = 0,
	JITDUMP_CODE_MOVE = 1,
	JITDUMP_DEBUG_INFO = 2,
	JITDUMP_CODE_CLOSE = 3,
	JITDUMP_UNWINDING_INFO = 4,
};

struct jitdump_header {
	uint32_t version, total_size, elf_mach, pid;
	uint64_t timestamp, flags;
};

struct jitdump_record {
	uint32_t id;                   /* enum jitdump_kind; others are skipped */
	uint32_t total_size;           /* bytes of the whole record */
	uint64_t timestamp;
	uint32_t pid, tid;
	uint64_t vma, code_addr, code_size, code_index;   /* load and move */
	uint64_t old_code_addr;        /* move */
	char name[JIT_MAX_NAME + 8];   /* load: escaped */
	const uint8_t *code;           /* load: code_size bytes inside the buffer parsed */
};

enum jitdump_result {
	JITDUMP_OK,          /* parsed; the record or header took the bytes it says */
	JITDUMP_MORE,        /* not all of it is there yet */
	JITDUMP_BAD,         /* malformed: nothing after it can be trusted */
};

/* The file header at buf; *why says what is wrong when JITDUMP_BAD. */
enum jitdump_result jitdump_parse_header(const uint8_t *buf, size_t len,
					 struct jitdump_header *h, const char **why);
/* The record at buf (after the header). Records of other kinds parse with
 * only id, total_size and timestamp. */
enum jitdump_result jitdump_parse_record(const uint8_t *buf, size_t len,
					 struct jitdump_record *r, const char **why);

#endif
