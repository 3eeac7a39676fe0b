/* libFuzzer: the ELF/DWARF symbolizer on damaged ELF files: symbols, load
 * segments, .eh_frame ranges and line tables. */
#include "fuzz_input.h"
#include "prof/elf_file.h"
#include "prof/lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_input_file(data, size, "");
	struct elf_range *ranges = NULL;
	size_t nranges = elf_eh_frame_functions(path, &ranges);
	free(ranges);
	char hash[17];
	elf_text_hash(path, hash);
	struct elf_file *ef = elf_file_open(path);
	if (!ef)
		return 0;
	struct line_table *lt = lines_open(ef);
	for (size_t i = 0; i < ef->nsyms && i < 64; i++) {
		const struct elf_symbol *s = &ef->syms[i];
		uint64_t offset, vaddr;
		elf_file_symbol_end(ef, s);
		if (elf_file_lookup(ef, s->addr) == NULL)
			continue;
		if (elf_file_vaddr_to_offset(ef, s->addr, &offset))
			elf_file_offset_to_vaddr(ef, offset, &vaddr);
		const char *file;
		int line;
		if (lt && lines_lookup(lt, s->addr, &file, &line))
			lines_source_text(lt, file, line);
	}
	(void)nranges;
	lines_close(lt);
	elf_file_close(ef);
	return 0;
}
