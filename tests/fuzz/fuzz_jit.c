/* libFuzzer: the perf map and jitdump parsers on arbitrary bytes, read as
 * the recorder reads them: lines of a perf map, a jitdump header and its
 * records one after the other. */
#include "prof/jitfile.h"

#include <string.h>

static void as_perf_map(const uint8_t *data, size_t size)
{
	uint64_t start, len;
	char name[JIT_MAX_NAME + 8];
	for (size_t pos = 0; pos < size;) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t end = nl ? (size_t)(nl - data) : size;
		if (end - pos <= PERFMAP_MAX_LINE && perfmap_parse_line((const char *)data + pos, end - pos,
									&start, &len, name))
			(void)strlen(name);
		pos = end + 1;
	}
}

static void as_jitdump(const uint8_t *data, size_t size)
{
	struct jitdump_header h;
	static struct jitdump_record r;
	const char *why;
	if (jitdump_parse_header(data, size, &h, &why) != JITDUMP_OK)
		return;
	for (size_t pos = h.total_size; pos < size;) {
		if (jitdump_parse_record(data + pos, size - pos, &r, &why) != JITDUMP_OK)
			return;
		if (r.code) /* the code lies inside the input */
			(void)(r.code[0] + r.code[r.code_size ? r.code_size - 1 : 0]);
		(void)strlen(r.name);
		pos += r.total_size;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_perf_map(data, size);
	as_jitdump(data, size);
	return 0;
}
