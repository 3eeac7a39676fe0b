/* ELF reading with libelf: function symbols (.symtab, else .dynsym, else a
 * separate debug file found by build-id), PT_LOAD segments and the build-id. */
#include "prof/elf_file.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void elf_init_once(void)
{
	/* elf_version must be called before any other libelf function; it is idempotent. */
	elf_version(EV_CURRENT);
}

static void read_build_id(Elf *elf, char out[41])
{
	out[0] = '\0';
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)data->d_buf + name_off, "GNU", 4) != 0)
				continue;
			const unsigned char *d = (const unsigned char *)data->d_buf + desc_off;
			size_t n = nh.n_descsz > 20 ? 20 : nh.n_descsz;
			for (size_t i = 0; i < n; i++)
				snprintf(out + 2 * i, 3, "%02x", d[i]);
			return;
		}
	}
}

static void read_loads(Elf *elf, struct elf_file *ef)
{
	size_t n;
	if (elf_getphdrnum(elf, &n) != 0)
		return;
	ef->loads = xcalloc(n, sizeof *ef->loads);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		ef->loads[ef->nloads].offset = ph.p_offset;
		ef->loads[ef->nloads].vaddr = ph.p_vaddr;
		ef->loads[ef->nloads].filesz = ph.p_filesz;
		ef->loads[ef->nloads].memsz = ph.p_memsz;
		ef->nloads++;
	}
}

static Elf_Scn *find_symtab(Elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return scn;
	}
	return NULL;
}

/* Several names often share one address (memcpy, memcpy@@GLIBC_2.14,
 * __new_memcpy_ifunc): version suffixes are dropped when names are copied,
 * and the global, sized name is the one users know; then weak, then local;
 * then the name with fewer leading underscores. */
static int symbol_rank(const GElf_Sym *sym, const char *name)
{
	int bind = GELF_ST_BIND(sym->st_info);
	int rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 8 : 16;
	if (sym->st_size == 0)
		rank += 4;
	for (const char *p = name; *p == '_' && p - name < 3; p++)
		rank++;
	return rank;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct elf_symbol *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->name, y->name);
}

/* Keeps the best-ranked symbol of each address (the first after sorting). */
static void dedupe_symbols(struct elf_file *ef)
{
	size_t w = 0;
	for (size_t r = 0; r < ef->nsyms; r++)
		if (w == 0 || ef->syms[w - 1].addr != ef->syms[r].addr)
			ef->syms[w++] = ef->syms[r];
	ef->nsyms = w;
}

/* Copies the function symbols of one symbol table; names are packed into one buffer. */
static void read_symbols(Elf *elf, Elf_Scn *scn, struct elf_file *ef)
{
	GElf_Shdr sh;
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!gelf_getshdr(scn, &sh) || !data || sh.sh_entsize == 0)
		return;
	size_t count = sh.sh_size / sh.sh_entsize, names_len = 0;
	ef->syms = xcalloc(count, sizeof *ef->syms);
	size_t *name_offs = xcalloc(count, sizeof *name_offs);
	for (size_t i = 0; i < count; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym) || sym.st_value == 0 ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		int type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		ef->syms[ef->nsyms] = (struct elf_symbol){ sym.st_value, sym.st_size, NULL,
							  symbol_rank(&sym, name) };
		name_offs[ef->nsyms++] = names_len;
		names_len += strcspn(name, "@") + 1;
	}
	ef->strings = xmalloc(names_len + 1);
	for (size_t i = 0, k = 0; i < count && k < ef->nsyms; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym) || sym.st_value == 0 ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		int type = GELF_ST_TYPE(sym.st_info);
		const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !name || !*name)
			continue;
		size_t len = strcspn(name, "@");
		memcpy(ef->strings + name_offs[k], name, len);
		ef->strings[name_offs[k] + len] = '\0';
		ef->syms[k].name = ef->strings + name_offs[k];
		k++;
	}
	free(name_offs);
	qsort(ef->syms, ef->nsyms, sizeof *ef->syms, cmp_sym);
	dedupe_symbols(ef);
}

static Elf *open_elf(const char *path, int *fd)
{
	elf_init_once();
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return NULL;
	Elf *elf = elf_begin(*fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(*fd);
		errno = ENOEXEC;
		return NULL;
	}
	return elf;
}

/* Stripped files: gdb's convention, /usr/lib/debug/.build-id/xx/rest.debug. */
static void read_debug_symbols(struct elf_file *ef)
{
	if (!ef->build_id[0])
		return;
	char *dbg = xasprintf("/usr/lib/debug/.build-id/%.2s/%s.debug", ef->build_id,
			      ef->build_id + 2);
	int fd;
	Elf *elf = open_elf(dbg, &fd);
	free(dbg);
	if (!elf)
		return;
	Elf_Scn *scn = find_symtab(elf, SHT_SYMTAB);
	if (scn) {
		free(ef->syms);
		free(ef->strings);
		ef->nsyms = 0;
		read_symbols(elf, scn, ef);
	}
	elf_end(elf);
	close(fd);
}

struct elf_file *elf_file_open(const char *path)
{
	int fd;
	Elf *elf = open_elf(path, &fd);
	if (!elf)
		return NULL;
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh)) {
		elf_end(elf);
		close(fd);
		errno = ENOEXEC;
		return NULL;
	}
	struct elf_file *ef = xcalloc(1, sizeof *ef);
	ef->path = xstrdup(path);
	ef->is_dyn = eh.e_type == ET_DYN;
	read_loads(elf, ef);
	read_build_id(elf, ef->build_id);
	Elf_Scn *scn = find_symtab(elf, SHT_SYMTAB);
	bool full = scn != NULL;
	if (!scn)
		scn = find_symtab(elf, SHT_DYNSYM);
	if (scn)
		read_symbols(elf, scn, ef);
	elf_end(elf);
	close(fd);
	if (!full)
		read_debug_symbols(ef);
	return ef;
}

void elf_file_close(struct elf_file *ef)
{
	if (!ef)
		return;
	free(ef->path);
	free(ef->syms);
	free(ef->strings);
	free(ef->loads);
	free(ef);
}

bool elf_file_offset_to_vaddr(const struct elf_file *ef, uint64_t offset, uint64_t *vaddr)
{
	for (size_t i = 0; i < ef->nloads; i++) {
		uint64_t o = ef->loads[i].offset;
		/* Use memsz: .bss-like tails and page rounding still map to this segment. */
		if (offset >= o && offset < o + ef->loads[i].memsz) {
			*vaddr = ef->loads[i].vaddr + (offset - o);
			return true;
		}
	}
	return false;
}

const struct elf_symbol *elf_file_lookup(const struct elf_file *ef, uint64_t vaddr)
{
	size_t lo = 0, hi = ef->nsyms;
	while (lo < hi) { /* first symbol with addr > vaddr */
		size_t mid = (lo + hi) / 2;
		if (ef->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	/* A sized symbol covers its extent; an unsized one (hand-written assembly)
	 * covers everything up to the next symbol. */
	const struct elf_symbol *s = &ef->syms[lo - 1];
	return !s->size || vaddr < s->addr + s->size ? s : NULL;
}

void elf_read_build_id(const char *path, char out[41])
{
	out[0] = '\0';
	int fd;
	Elf *elf = open_elf(path, &fd);
	if (!elf)
		return;
	read_build_id(elf, out);
	elf_end(elf);
	close(fd);
}
