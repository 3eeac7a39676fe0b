/* Function entries of mapped files at record time (see funcmap.h). Files
 * are opened once per path with libelf (common/elf_file.c); answers are
 * kept per jump site, so a jump costs a lookup only the first time. */
#include "funcmap.h"
#include "prof/elf_file.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

struct funcmap_file {
	char *path;
	struct elf_file *ef;    /* NULL: not readable as ELF */
};

struct funcmap {
	struct funcmap_file *files;
	size_t n, cap;
};

struct funcmap *funcmap_new(void)
{
	return xcalloc(1, sizeof(struct funcmap));
}

void funcmap_free(struct funcmap *fm)
{
	if (!fm)
		return;
	for (size_t i = 0; i < fm->n; i++) {
		free(fm->files[i].path);
		if (fm->files[i].ef)
			elf_file_close(fm->files[i].ef);
	}
	free(fm->files);
	free(fm);
}

void funcmap_cache_clear(struct funcmap_cache *c)
{
	u64_table_clear(&c->by_site);
	u64_table_clear(&c->entries);
}

static struct elf_file *file_of(struct funcmap *fm, const char *path)
{
	for (size_t i = 0; i < fm->n; i++)
		if (strcmp(fm->files[i].path, path) == 0)
			return fm->files[i].ef;
	if (fm->n == fm->cap) {
		fm->cap = fm->cap ? 2 * fm->cap : 16;
		fm->files = xrealloc(fm->files, fm->cap * sizeof *fm->files);
	}
	struct funcmap_file *f = &fm->files[fm->n++];
	f->path = xstrdup(path);
	f->ef = elf_file_open(path);
	return f->ef;
}

/* The function symbol at addr, with its runtime start. */
static const struct elf_symbol *symbol_at(struct funcmap *fm, const struct map_list *maps,
					  uint64_t addr, uint64_t *start)
{
	const struct map_entry *m = maps_find(maps, addr);
	if (!m || m->path[0] != '/')
		return NULL;
	struct elf_file *ef = file_of(fm, m->path);
	uint64_t vaddr;
	if (!ef || !elf_file_offset_to_vaddr(ef, addr - m->start + m->pgoff, &vaddr))
		return NULL;
	const struct elf_symbol *s = elf_file_lookup(ef, vaddr);
	if (s)
		*start = addr - (vaddr - s->addr);
	return s;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);
	return n >= k && strcmp(s + n - k, tail) == 0;
}

/* A PLT stub (name@plt, the lazy-binding entry .plt) or ld.so's lazy
 * binding resolver: their indirect jumps go on to the function called. */
static bool is_stub(const char *name)
{
	return ends_with(name, "@plt") || strcmp(name, ".plt") == 0 ||
	       strncmp(name, "_dl_runtime_resolve", 19) == 0;
}

static enum jump_exit decide(struct funcmap *fm, const struct map_list *maps, uint64_t site,
			     const struct branch *br)
{
	uint64_t site_start = 0, target_start = 0;
	const struct elf_symbol *at = symbol_at(fm, maps, site, &site_start);
	if (!br->to.direct)
		return br->kind == BR_JMP && at && is_stub(at->name) ? JUMP_ENTERS_ANY : JUMP_STAYS;
	if (br->kind == BR_JCC && br->to.target == site + br->len)
		return JUMP_STAYS; /* taken or not, the same way on */
	const struct elf_symbol *to = symbol_at(fm, maps, br->to.target, &target_start);
	if (!to || target_start != br->to.target)
		return JUMP_STAYS; /* not an entry */
	return at && site_start == target_start ? JUMP_STAYS : JUMP_ENTERS;
}

enum jump_exit funcmap_jump(struct funcmap *fm, struct funcmap_cache *c, const struct map_list *maps,
			    uint64_t site, const struct branch *br)
{
	if (br->kind != BR_JMP && br->kind != BR_JCC)
		return JUMP_STAYS;
	enum jump_exit how;
	uint64_t target;
	if (funcmap_cached(c, site, &how, &target))
		return how;
	how = fm ? decide(fm, maps, site, br) : JUMP_STAYS;
	/* The direct target too: what tells a taken jcc from one not taken. */
	u64_table_put(&c->by_site, site, (how == JUMP_ENTERS ? br->to.target << 2 : 0) | how);
	return how;
}

bool funcmap_cached(const struct funcmap_cache *c, uint64_t site, enum jump_exit *how,
		    uint64_t *target)
{
	uint64_t v;
	if (!u64_table_get(&c->by_site, site, &v))
		return false;
	*how = (enum jump_exit)(v & 3);
	*target = v >> 2;
	return true;
}

bool funcmap_lands(struct funcmap *fm, struct funcmap_cache *c, const struct map_list *maps,
		   uint64_t target)
{
	uint64_t *known = u64_table_find(&c->entries, target), start = 0;
	if (known)
		return *known == 2;
	bool entry = fm && symbol_at(fm, maps, target, &start) && start == target;
	u64_table_put(&c->entries, target, entry ? 2 : 1);
	return entry;
}
