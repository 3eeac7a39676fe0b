/* ELF reading with libelf: function symbols (.symtab, else a separate debug
 * file found by build-id or .gnu_debuglink, else .dynsym completed with the
 * .eh_frame function ranges), PT_LOAD segments and the build-id. */
#include "prof/elf_file.h"
#include "prof/util.h"

#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	sort_array(ef->syms, ef->nsyms, sizeof *ef->syms, cmp_sym);
	dedupe_symbols(ef);
}

static Elf *open_elf(const char *path, int *fd)
{
	elf_init_once();
	*fd = open_regular(path);
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

/* The file name a .gnu_debuglink section names, or NULL. */
static char *read_debuglink(Elf *elf)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".gnu_debuglink") != 0)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !data->d_size || !memchr(data->d_buf, '\0', data->d_size))
			return NULL;
		return *(char *)data->d_buf ? xstrdup(data->d_buf) : NULL;
	}
	return NULL;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* A separate debug file as gdb finds it: /usr/lib/debug/.build-id/xx/rest.debug,
 * then the .gnu_debuglink name next to the file, in its .debug/ directory and
 * under /usr/lib/debug/<its directory>. A debuglink candidate with another
 * build-id belongs to another build and is skipped. */
static char *find_debug_file(const char *path, const char *build_id, const char *debuglink)
{
	if (build_id[0]) {
		char *p = xasprintf("/usr/lib/debug/.build-id/%.2s/%s.debug", build_id, build_id + 2);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	if (!debuglink || strchr(debuglink, '/'))
		return NULL;
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 1;
	const char *dir = slash ? path : ".";
	char *candidates[3] = {
		xasprintf("%.*s/%s", dirlen, dir, debuglink),
		xasprintf("%.*s/.debug/%s", dirlen, dir, debuglink),
		xasprintf("/usr/lib/debug%s%.*s/%s", dir[0] == '/' ? "" : "/", dirlen, dir, debuglink),
	};
	char *found = NULL;
	for (int i = 0; i < 3; i++) {
		if (!found && access(candidates[i], R_OK) == 0 && !same_file(candidates[i], path)) {
			char bid[41];
			elf_read_build_id(candidates[i], bid);
			if (!build_id[0] || !bid[0] || strcmp(bid, build_id) == 0) {
				found = candidates[i];
				continue;
			}
		}
		free(candidates[i]);
	}
	return found;
}

/* Stripped files: the full symbol table of the separate debug file. */
static bool read_debug_symbols(struct elf_file *ef)
{
	if (!ef->debug_path)
		return false;
	int fd;
	Elf *elf = open_elf(ef->debug_path, &fd);
	if (!elf)
		return false;
	Elf_Scn *scn = find_symtab(elf, SHT_SYMTAB);
	if (scn) {
		free(ef->syms);
		free(ef->strings);
		ef->syms = NULL;
		ef->strings = NULL;
		ef->nsyms = 0;
		read_symbols(elf, scn, ef);
	}
	elf_end(elf);
	close(fd);
	return scn != NULL;
}

/* ---- function ranges from .eh_frame (every function with CFI has an FDE) ---- */

static bool read_uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static bool read_sleb(const uint8_t **p, const uint8_t *end, int64_t *v)
{
	uint64_t u = 0;
	int shift = 0;
	uint8_t b = 0x80;
	while (*p < end && shift < 64 && (b & 0x80)) {
		b = *(*p)++;
		u |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	if (b & 0x80)
		return false;
	if (shift < 64 && (b & 0x40))
		u |= ~0ull << shift;
	*v = (int64_t)u;
	return true;
}

/* Reads one DW_EH_PE_* encoded value at *p (little-endian x86-64); field_addr
 * is its link-time address, for pc-relative values. Only absolute and
 * pc-relative values are understood. */
static bool read_encoded(const uint8_t **p, const uint8_t *end, uint8_t enc, uint64_t field_addr,
			 uint64_t *v)
{
	if (enc == 0xff) /* DW_EH_PE_omit */
		return false;
	uint8_t buf[8] = { 0 };
	size_t n;
	int64_t sv;
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: n = 8; break; /* absptr, udata8, sdata8 */
	case 0x02: case 0x0a: n = 2; break;            /* udata2, sdata2 */
	case 0x03: case 0x0b: n = 4; break;            /* udata4, sdata4 */
	case 0x01: if (!read_uleb(p, end, v)) return false; n = 0; break;
	case 0x09: if (!read_sleb(p, end, &sv)) return false; *v = (uint64_t)sv; n = 0; break;
	default: return false;
	}
	if (n) {
		if ((size_t)(end - *p) < n)
			return false;
		memcpy(buf, *p, n);
		*p += n;
		uint64_t u = 0;
		for (size_t i = n; i-- > 0;)
			u = u << 8 | buf[i];
		if ((enc & 0x08) && n < 8 && (u >> (8 * n - 1) & 1)) /* signed: extend */
			u |= ~0ull << (8 * n);
		*v = u;
	}
	switch (enc & 0x70) {
	case 0x00: return !(enc & 0x80);
	case 0x10: *v += field_addr; return !(enc & 0x80);
	default: return false; /* textrel, datarel, funcrel, aligned, indirect */
	}
}

/* The pointer encoding of the FDEs of a CIE ('R' in its augmentation). */
static uint8_t cie_fde_encoding(const Dwarf_CIE *cie)
{
	const char *aug = cie->augmentation;
	if (!aug || aug[0] != 'z' || !cie->augmentation_data)
		return 0x00; /* absptr */
	const uint8_t *p = cie->augmentation_data, *end = p + cie->augmentation_data_size;
	for (const char *a = aug + 1; *a && p < end; a++) {
		uint64_t skip;
		switch (*a) {
		case 'R': return *p;
		case 'L': p++; break;
		case 'P': {
			uint8_t penc = *p++;
			/* The personality routine's address: its value does not matter, only its size. */
			if (!read_encoded(&p, end, penc & 0x0f, 0, &skip))
				return 0x00;
			break;
		}
		case 'S': case 'B': break;
		default: return 0x00;
		}
	}
	return 0x00;
}

static int cmp_range(const void *a, const void *b)
{
	const struct elf_range *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

static size_t eh_frame_ranges(Elf *elf, struct elf_range **out)
{
	*out = NULL;
	size_t shstrndx, n = 0, cap = 0;
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	if (!ident || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_PROGBITS &&
		    (name = elf_strptr(elf, shstrndx, sh.sh_name)) && strcmp(name, ".eh_frame") == 0)
			break;
	}
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	if (!data || !data->d_buf)
		return 0;
	Dwarf_Off off = 0, next, cie_off = (Dwarf_Off)-1;
	uint8_t enc = 0;
	for (;;) {
		Dwarf_CFI_Entry e;
		int rc = dwarf_next_cfi(ident, data, true, off, &next, &e);
		if (rc > 0)
			break;
		if (rc == 0 && !dwarf_cfi_cie_p(&e)) {
			if (e.fde.CIE_pointer != cie_off) {
				Dwarf_CFI_Entry c;
				Dwarf_Off dummy;
				cie_off = e.fde.CIE_pointer;
				enc = dwarf_next_cfi(ident, data, true, cie_off, &dummy, &c) == 0 &&
					      dwarf_cfi_cie_p(&c) ? cie_fde_encoding(&c.cie) : 0xff;
			}
			const uint8_t *p = e.fde.start;
			uint64_t start, len;
			uint64_t field = sh.sh_addr + (uint64_t)(p - (const uint8_t *)data->d_buf);
			if (read_encoded(&p, e.fde.end, enc, field, &start) &&
			    read_encoded(&p, e.fde.end, enc & 0x0f, 0, &len) && start && len) {
				if (n == cap) {
					cap = cap ? cap * 2 : 64;
					*out = xrealloc(*out, cap * sizeof **out);
				}
				(*out)[n++] = (struct elf_range){ start, start + len };
			}
		}
		if (next == (Dwarf_Off)-1 || next <= off)
			break;
		off = next;
	}
	sort_array(*out, n, sizeof **out, cmp_range);
	return n;
}

/* A file with neither .symtab nor a debug file: each FDE whose start no
 * symbol covers becomes a function named sub_<link-time address>. */
static void add_eh_frame_symbols(Elf *elf, struct elf_file *ef)
{
	struct elf_range *r;
	size_t n = eh_frame_ranges(elf, &r);
	if (!n)
		return;
	ef->syms = xrealloc(ef->syms, (ef->nsyms + n) * sizeof *ef->syms);
	ef->synthetic_names = xmalloc(n * 24);
	size_t added = 0, known = ef->nsyms;
	for (size_t i = 0; i < n; i++) {
		if (i && r[i].start == r[i - 1].start)
			continue;
		/* Inside a sized symbol: part of a known function (lookup uses the first known ones). */
		ef->nsyms = known;
		const struct elf_symbol *s = elf_file_lookup(ef, r[i].start);
		if (s && s->size)
			continue;
		char *name = ef->synthetic_names + added * 24;
		snprintf(name, 24, "sub_%" PRIx64, r[i].start);
		ef->syms[known + added++] = (struct elf_symbol){ r[i].start, r[i].end - r[i].start,
								  name, 64 };
	}
	free(r);
	ef->nsyms = known + added;
	ef->nsynthetic = added;
	sort_array(ef->syms, ef->nsyms, sizeof *ef->syms, cmp_sym);
	dedupe_symbols(ef);
}

static Elf_Scn *section_named(Elf *elf, const char *want, GElf_Shdr *sh)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		const char *name;
		if (gelf_getshdr(scn, sh) && (name = elf_strptr(elf, shstrndx, sh->sh_name)) &&
		    strcmp(name, want) == 0)
			return scn;
	}
	return NULL;
}

/* A GOT slot and what it holds: a symbol's address (JUMP_SLOT, GLOB_DAT)
 * or an IFUNC's resolved one (IRELATIVE: the addend is the resolver). */
struct got_slot {
	uint64_t slot;
	const char *target;       /* NULL for IRELATIVE */
	uint64_t resolver;
};

static size_t read_got_slots(Elf *elf, const char *section, struct got_slot **v, size_t n)
{
	GElf_Shdr rela_sh, sym_sh;
	Elf_Scn *rela = section_named(elf, section, &rela_sh);
	Elf_Scn *symtab = rela ? elf_getscn(elf, rela_sh.sh_link) : NULL;
	Elf_Data *rd = rela ? elf_getdata(rela, NULL) : NULL;
	Elf_Data *sd = symtab ? elf_getdata(symtab, NULL) : NULL;
	if (!rd || !sd || !gelf_getshdr(symtab, &sym_sh) || !rela_sh.sh_entsize)
		return n;
	size_t count = rela_sh.sh_size / rela_sh.sh_entsize;
	*v = xrealloc(*v, (n + count + 1) * sizeof **v);
	for (size_t i = 0; i < count; i++) {
		GElf_Rela r;
		GElf_Sym sym;
		if (!gelf_getrela(rd, (int)i, &r))
			continue;
		unsigned type = (unsigned)GELF_R_TYPE(r.r_info);
		if (type == R_X86_64_IRELATIVE) {
			(*v)[n++] = (struct got_slot){ r.r_offset, NULL, (uint64_t)r.r_addend };
		} else if ((type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) &&
			   GELF_R_SYM(r.r_info) && gelf_getsym(sd, (int)GELF_R_SYM(r.r_info), &sym)) {
			const char *name = elf_strptr(elf, sym_sh.sh_link, sym.st_name);
			if (name && *name)
				(*v)[n++] = (struct got_slot){ r.r_offset, name, 0 };
		}
	}
	return n;
}

/* The GOT slot a PLT entry jumps through: its `jmp *disp(%rip)` (ff 25),
 * after an endbr64 and a bnd prefix where the binary has them. */
static bool plt_entry_slot(const uint8_t *code, size_t n, uint64_t addr, uint64_t *slot)
{
	for (size_t i = 0; i + 6 <= n; i++) {
		if (code[i] == 0xff && code[i + 1] == 0x25) {
			int32_t disp;
			memcpy(&disp, code + i + 2, sizeof disp);
			*slot = addr + i + 6 + (uint64_t)(int64_t)disp;
			return true;
		}
	}
	return false;
}

/* Names the entries of one PLT section `target@plt` after the GOT slot
 * each jumps through (IFUNC slots after their resolver's symbol). */
static size_t name_plt_entries(Elf *elf, struct elf_file *ef, const char *section,
			       const struct got_slot *slots, size_t nslots,
			       struct elf_symbol *stubs, size_t nstubs, char **names)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section_named(elf, section, &sh);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	if (!d || !d->d_buf || sh.sh_type != SHT_PROGBITS)
		return nstubs;
	uint64_t step = sh.sh_entsize >= 8 ? sh.sh_entsize : 16;
	for (uint64_t off = 0; off + step <= sh.sh_size && off + step <= d->d_size; off += step) {
		uint64_t slot;
		const struct got_slot *g = NULL;
		if (!plt_entry_slot((const uint8_t *)d->d_buf + off, (size_t)step, sh.sh_addr + off, &slot))
			continue;
		for (size_t k = 0; k < nslots && !g; k++)
			if (slots[k].slot == slot)
				g = &slots[k];
		const struct elf_symbol *ifunc = g && !g->target ? elf_file_lookup(ef, g->resolver) : NULL;
		const char *target = g ? (g->target ? g->target : ifunc ? ifunc->name : NULL) : NULL;
		if (!target)
			continue;
		*names = xrealloc(*names, (nstubs + 1) * 64);
		stubs[nstubs] = (struct elf_symbol){ sh.sh_addr + off, step, NULL, 0 };
		snprintf(*names + nstubs * 64, 64, "%.*s@plt", (int)strcspn(target, "@"), target);
		nstubs++;
	}
	return nstubs;
}

/* At most how many entries name_plt_entries finds in section: bounded by the
 * bytes really there, not by a header a damaged file may fill with anything. */
static size_t plt_entries_bound(Elf *elf, const char *section)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section_named(elf, section, &sh);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	return d && d->d_buf ? d->d_size / 8 : 0;
}

/* Calls into shared libraries go through PLT stubs, which no symbol covers
 * (they would be charged to _init): name them `func@plt`, as objdump and
 * perf do, after the GOT slot each one jumps through (.rela.plt, and
 * .rela.dyn for .plt.got), in .plt, .plt.sec (IBT) and .plt.got; and the
 * lazy-binding code they jump to `.plt` (the first entry of .plt, or all of
 * it when the stubs are in .plt.sec). */
static void add_plt_symbols(Elf *elf, struct elf_file *ef)
{
	struct got_slot *slots = NULL;
	size_t nslots = read_got_slots(elf, ".rela.plt", &slots, 0);
	nslots = read_got_slots(elf, ".rela.dyn", &slots, nslots);
	GElf_Shdr plt_sh, sec_sh;
	bool has_plt = section_named(elf, ".plt", &plt_sh) != NULL;
	bool has_sec = section_named(elf, ".plt.sec", &sec_sh) != NULL;
	size_t cap = 1 + plt_entries_bound(elf, ".plt") + plt_entries_bound(elf, ".plt.sec") +
		     plt_entries_bound(elf, ".plt.got");
	/* Collected apart: lookups below need ef->syms still sorted. */
	struct elf_symbol *stubs = xcalloc(cap, sizeof *stubs);
	char *names = NULL;
	size_t nstubs = 0;
	if (!has_sec)
		nstubs = name_plt_entries(elf, ef, ".plt", slots, nslots, stubs, nstubs, &names);
	nstubs = name_plt_entries(elf, ef, ".plt.sec", slots, nslots, stubs, nstubs, &names);
	nstubs = name_plt_entries(elf, ef, ".plt.got", slots, nslots, stubs, nstubs, &names);
	free(slots);
	ef->plt_names = names;
	for (size_t i = 0; i < nstubs; i++)
		stubs[i].name = names + i * 64;
	if (has_plt)
		stubs[nstubs++] = (struct elf_symbol){ plt_sh.sh_addr, has_sec ? plt_sh.sh_size : 16,
						       ".plt", 0 };
	ef->syms = xrealloc(ef->syms, (ef->nsyms + nstubs) * sizeof *ef->syms);
	memcpy(ef->syms + ef->nsyms, stubs, nstubs * sizeof *stubs);
	ef->nsyms += nstubs;
	free(stubs);
	sort_array(ef->syms, ef->nsyms, sizeof *ef->syms, cmp_sym);
	dedupe_symbols(ef);
}

size_t elf_eh_frame_functions(const char *path, struct elf_range **out)
{
	*out = NULL;
	int fd;
	Elf *elf = open_elf(path, &fd);
	if (!elf)
		return 0;
	size_t n = eh_frame_ranges(elf, out);
	elf_end(elf);
	close(fd);
	return n;
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
	char *debuglink = read_debuglink(elf);
	ef->debug_path = find_debug_file(path, ef->build_id, debuglink);
	free(debuglink);
	Elf_Scn *scn = find_symtab(elf, SHT_SYMTAB);
	bool full = scn != NULL;
	if (!scn)
		scn = find_symtab(elf, SHT_DYNSYM);
	if (scn)
		read_symbols(elf, scn, ef);
	if (!full && !read_debug_symbols(ef))
		add_eh_frame_symbols(elf, ef);
	add_plt_symbols(elf, ef);
	elf_end(elf);
	close(fd);
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
	free(ef->debug_path);
	free(ef->synthetic_names);
	free(ef->plt_names);
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

bool elf_file_vaddr_to_offset(const struct elf_file *ef, uint64_t vaddr, uint64_t *offset)
{
	for (size_t i = 0; i < ef->nloads; i++) {
		uint64_t v = ef->loads[i].vaddr;
		if (vaddr >= v && vaddr < v + ef->loads[i].filesz) {
			*offset = ef->loads[i].offset + (vaddr - v);
			return true;
		}
	}
	return false;
}

uint64_t elf_file_symbol_end(const struct elf_file *ef, const struct elf_symbol *sym)
{
	if (sym->size)
		return sym->addr + sym->size;
	size_t i = (size_t)(sym - ef->syms);
	if (i + 1 < ef->nsyms)
		return ef->syms[i + 1].addr;
	for (size_t k = 0; k < ef->nloads; k++)
		if (sym->addr >= ef->loads[k].vaddr &&
		    sym->addr < ef->loads[k].vaddr + ef->loads[k].filesz)
			return ef->loads[k].vaddr + ef->loads[k].filesz;
	return sym->addr;
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

/* FNV-1a over the bytes of [offset, offset + len) of fd. */
static bool hash_range(int fd, uint64_t offset, uint64_t len, uint64_t *h)
{
	unsigned char buf[65536];
	while (len > 0) {
		ssize_t n = pread(fd, buf, len < sizeof buf ? len : sizeof buf, (off_t)offset);
		if (n <= 0)
			return false;
		for (ssize_t i = 0; i < n; i++)
			*h = (*h ^ buf[i]) * 1099511628211ull;
		offset += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return true;
}

bool elf_text_hash(const char *path, char out[17])
{
	out[0] = '\0';
	int fd;
	Elf *elf = open_elf(path, &fd);
	if (!elf)
		return false;
	size_t nph = 0;
	uint64_t h = 14695981039346656037ull;
	bool ok = elf_getphdrnum(elf, &nph) == 0;
	for (size_t i = 0; ok && i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
			ok = hash_range(fd, ph.p_offset, ph.p_filesz, &h);
	}
	elf_end(elf);
	close(fd);
	if (ok)
		snprintf(out, 17, "%016" PRIx64, h);
	return ok;
}
