/* DWARF line tables through libdw: dwarf_addrdie finds the compilation unit
 * of an address, dwarf_getsrc_die its line-table row. One Dwarf handle per
 * ELF file, kept open (and its line tables cached by libdw) until closed. */
#include "prof/lines.h"
#include "prof/elf_file.h"
#include "prof/util.h"

#include <elfutils/libdw.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct source_file {
	char *path;
	char *text;        /* NULL when unreadable */
	char **lines;      /* lines[i] is line i + 1, NUL-terminated inside text */
	size_t nlines;
};

/* Address ranges of the compilation units, for files without .debug_aranges
 * (which dwarf_addrdie needs). */
struct cu_range {
	uint64_t lo, hi;
	Dwarf_Off die;
};

struct line_table {
	int fd;
	Dwarf *dw;
	struct source_file *files;
	size_t nfiles;
	struct cu_range *cus;
	size_t ncus;
	bool cus_read;
};

static Dwarf *open_dwarf(const char *path, int *fd)
{
	*fd = open_regular(path);
	if (*fd < 0)
		return NULL;
	Dwarf *dw = dwarf_begin(*fd, DWARF_C_READ);
	if (!dw) {
		close(*fd);
		*fd = -1;
		return NULL;
	}
	/* A file whose DWARF has no compilation unit (only .debug_frame, say) has no lines. */
	Dwarf_Off next;
	size_t hsize;
	if (dwarf_nextcu(dw, 0, &next, &hsize, NULL, NULL, NULL) != 0) {
		dwarf_end(dw);
		close(*fd);
		*fd = -1;
		return NULL;
	}
	return dw;
}

struct line_table *lines_open(const struct elf_file *ef)
{
	int fd;
	Dwarf *dw = open_dwarf(ef->path, &fd);
	if (!dw && ef->debug_path)
		dw = open_dwarf(ef->debug_path, &fd);
	if (!dw)
		return NULL;
	struct line_table *lt = xcalloc(1, sizeof *lt);
	lt->fd = fd;
	lt->dw = dw;
	return lt;
}

void lines_close(struct line_table *lt)
{
	if (!lt)
		return;
	for (size_t i = 0; i < lt->nfiles; i++) {
		free(lt->files[i].path);
		free(lt->files[i].text);
		free(lt->files[i].lines);
	}
	free(lt->files);
	free(lt->cus);
	dwarf_end(lt->dw);
	close(lt->fd);
	free(lt);
}

static int cmp_cu_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void read_cu_ranges(struct line_table *lt)
{
	lt->cus_read = true;
	size_t cap = 0;
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	while (dwarf_get_units(lt->dw, cu, &cu, NULL, NULL, &cudie, NULL) == 0) {
		Dwarf_Addr base, start, end;
		ptrdiff_t off = 0;
		while ((off = dwarf_ranges(&cudie, off, &base, &start, &end)) > 0) {
			if (start >= end)
				continue;
			if (lt->ncus == cap) {
				cap = cap ? cap * 2 : 64;
				lt->cus = xrealloc(lt->cus, cap * sizeof *lt->cus);
			}
			lt->cus[lt->ncus++] = (struct cu_range){ start, end, dwarf_dieoffset(&cudie) };
		}
	}
	sort_array(lt->cus, lt->ncus, sizeof *lt->cus, cmp_cu_range);
}

/* The compilation unit of vaddr from the CUs' own ranges. */
static bool cu_of(struct line_table *lt, uint64_t vaddr, Dwarf_Die *cu)
{
	if (!lt->cus_read)
		read_cu_ranges(lt);
	size_t lo = 0, hi = lt->ncus;
	while (lo < hi) { /* first range starting above vaddr */
		size_t mid = (lo + hi) / 2;
		if (lt->cus[mid].lo <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges may nest or overlap little; look back a few. */
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++)
		if (vaddr >= lt->cus[i - 1].lo && vaddr < lt->cus[i - 1].hi)
			return dwarf_offdie(lt->dw, lt->cus[i - 1].die, cu) != NULL;
	return false;
}

bool lines_lookup(struct line_table *lt, uint64_t vaddr, const char **file, int *line)
{
	Dwarf_Die cu;
	if (!lt || (!dwarf_addrdie(lt->dw, vaddr, &cu) && !cu_of(lt, vaddr, &cu)))
		return false;
	Dwarf_Line *l = dwarf_getsrc_die(&cu, vaddr);
	int n;
	const char *f;
	if (!l || dwarf_lineno(l, &n) != 0 || n <= 0 || !(f = dwarf_linesrc(l, NULL, NULL)))
		return false;
	*file = f;
	*line = n;
	return true;
}

static void load_source(struct source_file *sf)
{
	int fd = open_regular(sf->path);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	size_t len = 0, cap = 0;
	char buf[65536];
	size_t r;
	while ((r = fread(buf, 1, sizeof buf, f)) > 0 && len < (64u << 20)) {
		if (len + r + 1 > cap) {
			cap = (len + r + 1) * 2;
			sf->text = xrealloc(sf->text, cap);
		}
		memcpy(sf->text + len, buf, r);
		len += r;
	}
	fclose(f);
	if (!sf->text)
		return;
	sf->text[len] = '\0';
	size_t cap_lines = 0;
	for (char *p = sf->text; *p;) {
		if (sf->nlines == cap_lines) {
			cap_lines = cap_lines ? cap_lines * 2 : 256;
			sf->lines = xrealloc(sf->lines, cap_lines * sizeof *sf->lines);
		}
		sf->lines[sf->nlines++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		p = nl + 1;
	}
}

const char *lines_source_text(struct line_table *lt, const char *file, int line)
{
	if (!lt || line <= 0)
		return NULL;
	struct source_file *sf = NULL;
	for (size_t i = 0; i < lt->nfiles && !sf; i++)
		if (strcmp(lt->files[i].path, file) == 0)
			sf = &lt->files[i];
	if (!sf) {
		lt->files = xrealloc(lt->files, (lt->nfiles + 1) * sizeof *lt->files);
		sf = &lt->files[lt->nfiles++];
		*sf = (struct source_file){ xstrdup(file), NULL, NULL, 0 };
		load_source(sf);
	}
	return (size_t)line <= sf->nlines ? sf->lines[line - 1] : NULL;
}
