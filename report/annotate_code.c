#include "annotate_code.h"
#include "prof/elf_file.h"
#include "prof/util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static uint8_t *read_file_code(const struct elf_file *ef, uint64_t start, uint64_t *end)
{
	uint64_t off;
	if (*end <= start || !elf_file_vaddr_to_offset(ef, start, &off))
		return NULL;
	int fd = open(ef->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t len = (size_t)(*end - start);
	uint8_t *buf = xmalloc(len);
	ssize_t n = pread(fd, buf, len, (off_t)off);
	close(fd);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	*end = start + (uint64_t)n;
	return buf;
}

/* The jitdump's copy of the function (a code move has its load's). */
static bool read_jitdump_code(sqlite3 *db, const struct symbol_ref *fn, uint32_t proc,
			      struct function_code *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
		"SELECT b.bytes FROM jit_symbols j JOIN code_blobs b ON b.id = COALESCE(j.blob,"
		"  (SELECT l.blob FROM jit_symbols l WHERE l.proc = j.proc AND l.code_index = j.code_index"
		"   AND l.blob IS NOT NULL ORDER BY l.id DESC LIMIT 1))"
		" WHERE j.proc = ? AND j.start = ? AND j.size = ? AND j.name = ? AND j.source = 'jitdump'"
		" ORDER BY j.id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(st, 1, proc);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)fn->sym_vaddr);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)fn->sym_size);
	sqlite3_bind_text(st, 4, fn->raw_name, -1, SQLITE_STATIC);
	bool found = false;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) > 0) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		out->bytes = xmalloc(n);
		memcpy(out->bytes, sqlite3_column_blob(st, 0), n);
		out->start = fn->sym_vaddr;
		out->end = fn->sym_vaddr + n;
		out->from = "the jitdump (in the recording)";
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* What prof decoded of [start, end) in generation gen of process proc. */
static bool read_seen_code(sqlite3 *db, uint32_t proc, uint32_t gen, uint64_t start, uint64_t end,
			   struct function_code *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
		"SELECT s.start, b.bytes FROM code_seen s JOIN code_blobs b ON b.id = s.blob"
		" WHERE s.proc = ? AND s.gen = ? AND s.start < ? AND s.start + length(b.bytes) > ?",
		-1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(st, 1, proc);
	sqlite3_bind_int64(st, 2, gen);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)end);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)start);
	size_t len = (size_t)(end - start);
	bool any = false;
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t at = (uint64_t)sqlite3_column_int64(st, 0);
		const uint8_t *b = sqlite3_column_blob(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 1);
		if (!any) {
			out->bytes = xcalloc(len, 1);
			out->known = xcalloc(len, 1);
			out->start = start;
			out->end = end;
			out->from = "the recording (the instructions prof decoded)";
			any = true;
		}
		for (size_t i = 0; i < n; i++)
			if (at + i >= start && at + i < end) {
				out->bytes[at + i - start] = b[i];
				out->known[at + i - start] = 1;
			}
	}
	sqlite3_finalize(st);
	return any;
}

void function_code_read(sqlite3 *db, struct symbolizer *s, const struct symbol_ref *fn,
			uint32_t proc, uint32_t gen, uint64_t start, uint64_t end,
			struct function_code *out)
{
	*out = (struct function_code){ .start = start, .end = start };
	struct elf_file *ef = fn->dso_id ? symbolizer_dso_elf(s, fn->dso_id) : NULL;
	if (ef) {
		out->end = end;
		out->bytes = read_file_code(ef, start, &out->end);
		out->from = ef->path;
		if (!out->bytes)
			out->end = start;
		return;
	}
	size_t n = strlen(fn->dso_path);
	bool in_file = fn->dso_path[0] == '/' && strncmp(fn->dso_path, "/memfd:", 7) != 0 &&
		       (n < 10 || strcmp(fn->dso_path + n - 10, " (deleted)") != 0);
	if (in_file)
		return; /* a file that cannot be read now: the recording has no copy */
	if (!read_jitdump_code(db, fn, proc, out))
		read_seen_code(db, proc, gen, start, end, out);
}

bool function_code_known(const struct function_code *fc, uint64_t addr)
{
	return fc->bytes && addr >= fc->start && addr < fc->end &&
	       (!fc->known || fc->known[addr - fc->start]);
}

void function_code_free(struct function_code *fc)
{
	free(fc->bytes);
	free(fc->known);
	*fc = (struct function_code){ 0 };
}
