/* FUNC's entry addresses in a process image, from its symbols: a mapping of
 * an ELF file at start, covering file offset pgoff, places the link-time
 * address of pgoff at start. */
#include "collect.h"
#include "prof/elf_file.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

static bool names_func(const char *sym, const char *func)
{
	size_t n = strlen(func);
	return strncmp(sym, func, n) == 0 && (sym[n] == '\0' || strcmp(sym + n, "@plt") == 0);
}

static void add_addr(struct collect_targets *ct, uint64_t addr)
{
	if (collect_is_entry(ct, addr))
		return;
	ct->addrs = xrealloc(ct->addrs, (ct->n + 1) * sizeof *ct->addrs);
	ct->addrs[ct->n++] = addr;
}

static void resolve_in(const char *func, const struct map_entry *m, struct collect_targets *ct)
{
	struct elf_file *ef = elf_file_open(m->path);
	uint64_t at;
	if (!ef)
		return;
	if (elf_file_offset_to_vaddr(ef, m->pgoff, &at)) {
		for (size_t i = 0; i < ef->nsyms; i++) {
			const struct elf_symbol *s = &ef->syms[i];
			if (s->addr >= at && s->addr - at < m->end - m->start && names_func(s->name, func))
				add_addr(ct, m->start + (s->addr - at));
		}
	}
	elf_file_close(ef);
}

void collect_resolve(const char *func, const struct map_list *maps, struct collect_targets *ct)
{
	ct->n = 0;
	for (size_t i = 0; i < maps->n; i++)
		if (maps->v[i].path[0] == '/')
			resolve_in(func, &maps->v[i], ct);
}

bool collect_is_entry(const struct collect_targets *ct, uint64_t addr)
{
	for (size_t i = 0; i < ct->n; i++)
		if (ct->addrs[i] == addr)
			return true;
	return false;
}

void collect_free(struct collect_targets *ct)
{
	free(ct->addrs);
	ct->addrs = NULL;
	ct->n = 0;
}
