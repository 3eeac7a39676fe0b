/* Report-time symbolization: PC -> recorded mapping -> file offset -> ELF
 * symbol. Binaries are read as they are now; a build-id that differs from the
 * one recorded is reported, never silently misread. */
#include "prof/symbolize.h"
#include "jit_names.h"
#include "recorded_names.h"
#include "prof/store.h"
#include "prof/elf_file.h"
#include "prof/lines.h"
#include "prof/lines_prefetch.h"
#include "prof/log.h"
#include "prof/maps.h"
#include "prof/util.h"

#include <errno.h>
#include <libiberty/demangle.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The mapped file as it was at record time (schema 2). */
struct file_identity {
	bool known;
	long long size, mtime_ns;
	char text_hash[17];      /* "" when the file had a build-id */
};

struct dso {
	char *path;
	char *recorded_build_id;
	struct file_identity recorded;
	struct elf_file *elf;   /* NULL when unreadable */
	bool tried;
	const char **names;     /* per symbol of elf: its printed name, filled lazily */
	struct line_table *lines;
	bool lines_tried;
};

struct proc_maps {
	struct map_list maps;   /* sorted, non-overlapping; path indexes dsos via dso_of */
	size_t *dso_of;         /* index into symbolizer.dsos per map entry */
	uint64_t *seen_of;      /* when each was recorded (maps.seen_ns) */
	/* Mappings another file's replaced (dlclose, then dlopen of another
	 * library at the same place), and when each was recorded: code of a
	 * generation is resolved in the first mapping recorded since the
	 * generation began (code_gens.born_ns). */
	struct map_list past;
	size_t *past_dso;
	uint64_t *past_seen;
	struct gen_born { uint32_t gen; uint64_t ns; } *gens;
	size_t ngens;
};

struct symbolizer {
	struct proc_maps *procs; /* indexed by process row id */
	size_t nprocs;
	struct jit_names *jit;
	struct recorded_names *names;   /* NULL: symbolize from the binaries */
	struct dso *dsos;
	size_t ndsos;
	char **warnings;
	size_t nwarnings;
	bool no_demangle;
	struct lines_prefetch *prefetch;
};

static void warn(struct symbolizer *s, char *msg)
{
	s->warnings = xrealloc(s->warnings, (s->nwarnings + 1) * sizeof *s->warnings);
	s->warnings[s->nwarnings++] = msg;
}

static size_t dso_index(struct symbolizer *s, const char *path, const char *build_id,
			const struct file_identity *id)
{
	for (size_t i = 0; i < s->ndsos; i++)
		if (strcmp(s->dsos[i].path, path) == 0)
			return i;
	s->dsos = xrealloc(s->dsos, (s->ndsos + 1) * sizeof *s->dsos);
	s->dsos[s->ndsos] = (struct dso){ .path = xstrdup(path), .recorded_build_id = xstrdup(build_id),
					  .recorded = *id };
	return s->ndsos++;
}

/* Schema 1 recorded no file identity. */
static const char *maps_query(sqlite3 *db)
{
	return store_schema_version(db) >= 2
		? "SELECT proc, start, end, pgoff, prot, path, build_id, size, mtime_ns, text_hash,"
		  " COALESCE(seen_ns, 0) FROM maps ORDER BY seen_ns, rowid"
		: "SELECT proc, start, end, pgoff, prot, path, build_id, NULL, NULL, NULL,"
		  " COALESCE(seen_ns, 0) FROM maps ORDER BY seen_ns, rowid";
}

static void read_identity(sqlite3_stmt *st, int col, struct file_identity *id)
{
	const char *hash = (const char *)sqlite3_column_text(st, col + 2);
	*id = (struct file_identity){ .known = sqlite3_column_type(st, col) == SQLITE_INTEGER,
				      .size = sqlite3_column_int64(st, col),
				      .mtime_ns = sqlite3_column_int64(st, col + 1) };
	snprintf(id->text_hash, sizeof id->text_hash, "%s", hash ? hash : "");
}

static void keep_past(struct proc_maps *pm, const struct map_entry *m, size_t dso, uint64_t seen)
{
	maps_add(&pm->past, m->start, m->end, m->pgoff, m->prot, m->path);
	pm->past_dso = xrealloc(pm->past_dso, pm->past.cap * sizeof *pm->past_dso);
	pm->past_seen = xrealloc(pm->past_seen, pm->past.cap * sizeof *pm->past_seen);
	pm->past_dso[pm->past.n - 1] = dso;
	pm->past_seen[pm->past.n - 1] = seen;
}

/* A later mapping replaces any earlier one it overlaps (munmap + mmap);
 * one of another file is kept in the past. */
static void proc_add_map(struct proc_maps *pm, const struct map_entry *e, size_t dso, uint64_t seen)
{
	struct map_list *l = &pm->maps;
	size_t w = 0;
	for (size_t r = 0; r < l->n; r++) {
		if (l->v[r].start < e->end && e->start < l->v[r].end) {
			if (pm->dso_of[r] != dso)
				keep_past(pm, &l->v[r], pm->dso_of[r], pm->seen_of[r]);
			free(l->v[r].path);
			continue;
		}
		l->v[w] = l->v[r];
		pm->seen_of[w] = pm->seen_of[r];
		pm->dso_of[w++] = pm->dso_of[r];
	}
	l->n = w;
	maps_add(l, e->start, e->end, e->pgoff, e->prot, e->path);
	pm->dso_of = xrealloc(pm->dso_of, l->cap * sizeof *pm->dso_of);
	pm->seen_of = xrealloc(pm->seen_of, l->cap * sizeof *pm->seen_of);
	pm->dso_of[l->n - 1] = dso;
	pm->seen_of[l->n - 1] = seen;
}

static void sort_proc_maps(struct proc_maps *pm)
{
	/* Insertion sort keeps dso_of aligned with its entries; lists are short. */
	for (size_t i = 1; i < pm->maps.n; i++) {
		struct map_entry e = pm->maps.v[i];
		size_t d = pm->dso_of[i], j = i;
		uint64_t seen = pm->seen_of[i];
		for (; j > 0 && pm->maps.v[j - 1].start > e.start; j--) {
			pm->maps.v[j] = pm->maps.v[j - 1];
			pm->dso_of[j] = pm->dso_of[j - 1];
			pm->seen_of[j] = pm->seen_of[j - 1];
		}
		pm->maps.v[j] = e;
		pm->dso_of[j] = d;
		pm->seen_of[j] = seen;
	}
}

static struct symbolizer *load(sqlite3 *db, bool recorded_names);

/* When each code generation began, for the processes that had a library
 * replaced by another (the only ones that need it). */
static int load_gens_born(sqlite3 *db, struct symbolizer *s)
{
	sqlite3_stmt *st;
	if (store_schema_version(db) < 4) /* no code_gens.born_ns */
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT proc, gen, COALESCE(born_ns, 0) FROM code_gens", -1, &st,
			       NULL) != SQLITE_OK)
		return store_read_error(db);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t proc = (size_t)sqlite3_column_int64(st, 0);
		struct proc_maps *pm = proc < s->nprocs ? &s->procs[proc] : NULL;
		if (!pm || !pm->past.n)
			continue;
		pm->gens = xrealloc(pm->gens, (pm->ngens + 1) * sizeof *pm->gens);
		pm->gens[pm->ngens++] = (struct gen_born){ (uint32_t)sqlite3_column_int64(st, 1),
							   (uint64_t)sqlite3_column_int64(st, 2) };
	}
	return store_loop_end(st, rc);
}

struct symbolizer *symbolizer_new(sqlite3 *db)
{
	return load(db, store_has_names(db));
}

struct symbolizer *symbolizer_new_from_binaries(sqlite3 *db)
{
	return load(db, false);
}

/* The DSO (by path) of each recorded function: they share the mappings'. */
static void link_recorded_dsos(struct symbolizer *s)
{
	for (size_t i = 0; i < recorded_names_count(s->names); i++) {
		struct recorded_function *f = recorded_names_at(s->names, i);
		for (size_t d = 0; d < s->ndsos && !f->dso_id; d++)
			if (strcmp(s->dsos[d].path, f->dso) == 0)
				f->dso_id = d + 1;
	}
}

static struct symbolizer *load(sqlite3 *db, bool recorded_names)
{
	struct symbolizer *s = xcalloc(1, sizeof *s);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(id), 0) FROM processes", -1, &st, NULL) != SQLITE_OK) {
		store_read_error(db);
		free(s);
		return NULL;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->nprocs = (size_t)sqlite3_column_int64(st, 0) + 1;
		rc = sqlite3_step(st);
	}
	if (store_loop_end(st, rc) != 0) {
		free(s);
		return NULL;
	}
	s->procs = xcalloc(s->nprocs ? s->nprocs : 1, sizeof *s->procs);
	if (sqlite3_prepare_v2(db, maps_query(db), -1, &st, NULL) != SQLITE_OK) {
		store_read_error(db);
		symbolizer_free(s);
		return NULL;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t proc = (size_t)sqlite3_column_int64(st, 0);
		if (proc >= s->nprocs)
			continue;
		const char *path = (const char *)sqlite3_column_text(st, 5);
		const char *bid = (const char *)sqlite3_column_text(st, 6);
		struct map_entry e = {
			(uint64_t)sqlite3_column_int64(st, 1), (uint64_t)sqlite3_column_int64(st, 2),
			(uint64_t)sqlite3_column_int64(st, 3), (uint32_t)sqlite3_column_int(st, 4),
			(char *)(path ? path : ""),
		};
		struct file_identity id;
		read_identity(st, 7, &id);
		proc_add_map(&s->procs[proc], &e, dso_index(s, e.path, bid ? bid : "", &id),
			     (uint64_t)sqlite3_column_int64(st, 10));
	}
	if (store_loop_end(st, rc) != 0) {
		symbolizer_free(s);
		return NULL;
	}
	for (size_t i = 0; i < s->nprocs; i++)
		sort_proc_maps(&s->procs[i]);
	if (load_gens_born(db, s) != 0) {
		symbolizer_free(s);
		return NULL;
	}
	s->jit = jit_names_load(db);
	if (!s->jit || (recorded_names && !(s->names = recorded_names_load(db)))) {
		symbolizer_free(s);
		return NULL;
	}
	if (s->names)
		link_recorded_dsos(s);
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nprocs; i++) {
		maps_free(&s->procs[i].maps);
		free(s->procs[i].dso_of);
		free(s->procs[i].seen_of);
		maps_free(&s->procs[i].past);
		free(s->procs[i].past_dso);
		free(s->procs[i].past_seen);
		free(s->procs[i].gens);
	}
	for (size_t i = 0; i < s->ndsos; i++) {
		free(s->dsos[i].path);
		free(s->dsos[i].recorded_build_id);
		if (s->dsos[i].names)
			for (size_t k = 0; k < s->dsos[i].elf->nsyms; k++)
				if (s->dsos[i].names[k] != s->dsos[i].elf->syms[k].name)
					free((char *)s->dsos[i].names[k]);
		free(s->dsos[i].names);
		lines_close(s->dsos[i].lines);
		elf_file_close(s->dsos[i].elf);
	}
	for (size_t i = 0; i < s->nwarnings; i++)
		free(s->warnings[i]);
	free(s->warnings);
	jit_names_free(s->jit);
	recorded_names_free(s->names);
	free(s->dsos);
	free(s->procs);
	free(s);
}

/* What a binary that cannot be used costs: its names, or (when the
 * recording has them) only the view of its code. */
static const char *unusable(const struct symbolizer *s)
{
	return s->names ? "its names come from the recording, but its code cannot be shown"
			: "its code shows as [unknown]";
}

/* Without a build-id, the recorded text hash decides whether the code is the
 * one recorded; size and mtime alone (schema 2 without a hash) only warn. */
static bool same_file(struct symbolizer *s, const struct dso *d)
{
	const struct file_identity *was = &d->recorded;
	if (!was->known)
		return true;
	char hash[17];
	if (was->text_hash[0] && (!elf_text_hash(d->path, hash) || strcmp(hash, was->text_hash) != 0)) {
		warn(s, xasprintf("%s changed since recording (it has no build-id and its code "
				  "differs): %s", d->path, unusable(s)));
		return false;
	}
	struct stat st;
	if (!was->text_hash[0] && stat(d->path, &st) == 0 &&
	    (st.st_size != was->size ||
	     (long long)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != was->mtime_ns))
		warn(s, xasprintf("%s was modified since recording (size or time differ, no "
				  "build-id to compare): its symbols may not match", d->path));
	return true;
}

static struct elf_file *dso_elf(struct symbolizer *s, struct dso *d)
{
	if (d->tried)
		return d->elf;
	d->tried = true;
	d->elf = elf_file_open(d->path);
	if (!d->elf) {
		const char *why = errno == ENOEXEC ? "not ELF" : strerror(errno);
		warn(s, xasprintf("cannot read %s (%s): %s", d->path, why, unusable(s)));
	} else if (d->recorded_build_id[0] && strcmp(d->recorded_build_id, d->elf->build_id) != 0) {
		warn(s, xasprintf("%s changed since recording (build-id %s, now %s): %s", d->path,
				  d->recorded_build_id, d->elf->build_id[0] ? d->elf->build_id : "none",
				  unusable(s)));
		elf_file_close(d->elf);
		d->elf = NULL;
	} else if (!d->recorded_build_id[0] && !same_file(s, d)) {
		elf_file_close(d->elf);
		d->elf = NULL;
	}
	return d->elf;
}

/* A dso's name as reports print it: a file's base name, else "[anon]"... */
static const char *shown_dso(const char *path)
{
	return path[0] == '/' ? basename_of(path) : path[0] ? path : "[anon]";
}

static void resolve_recorded(struct symbolizer *s, const struct recorded_function *f, uint64_t pc,
			     int64_t bias, struct symbol_ref *out)
{
	out->recorded = f;
	out->raw_name = f->name;
	out->function = !s->no_demangle && f->demangled ? f->demangled : f->name;
	out->dso = shown_dso(f->dso);
	out->dso_path = f->dso[0] ? f->dso : "[anon]";
	out->dso_id = f->dso_id;
	out->vaddr = pc - (uint64_t)bias;
	out->has_extent = f->has_extent;
	out->sym_vaddr = f->start;
	out->sym_size = f->size;
	out->sym_start = f->has_extent ? f->start + (uint64_t)bias : 0;
}

/* Code in no ELF symbol: the name the program's JIT gave it, if any. */
static void resolve_jit(struct symbolizer *s, uint32_t proc, uint64_t pc, uint32_t gen,
			struct symbol_ref *out)
{
	const struct jit_symbol *e = jit_names_lookup(s->jit, proc, pc, gen);
	if (!e)
		return;
	out->function = out->raw_name = e->name;
	out->from_jit = true;
	out->jit_blob = e->blob;
	out->has_extent = true;
	out->sym_start = out->sym_vaddr = e->start;
	out->sym_size = e->size;
	if (!out->dso_id)
		out->vaddr = pc;
}

/* Where a library replaced another at pc: the mapping of generation gen's
 * code, the first recorded since the generation began (gen 0, never
 * changed: the first of all), or else the last recorded before. */
struct gen_pick {
	uint64_t born;
	const struct map_entry *after, *before;
	uint64_t after_seen, before_seen;
	size_t after_dso, before_dso;
};

static void consider(struct gen_pick *g, const struct map_entry *m, uint64_t seen, size_t dso)
{
	if (seen >= g->born && (!g->after || seen < g->after_seen)) {
		g->after = m;
		g->after_seen = seen;
		g->after_dso = dso;
	} else if (seen < g->born && (!g->before || seen >= g->before_seen)) {
		g->before = m;
		g->before_seen = seen;
		g->before_dso = dso;
	}
}

static const struct map_entry *mapping_of_gen(const struct proc_maps *pm, uint64_t pc, uint32_t gen,
					      const struct map_entry *now, size_t *dso)
{
	struct gen_pick g = { 0 };
	size_t i = 0;
	while (i < pm->past.n && !(pc >= pm->past.v[i].start && pc < pm->past.v[i].end))
		i++;
	if (i == pm->past.n)
		return now; /* nothing else was ever mapped at pc */
	for (size_t k = 0; k < pm->ngens && gen; k++)
		if (pm->gens[k].gen == gen)
			g.born = pm->gens[k].ns;
	if (now)
		consider(&g, now, pm->seen_of[now - pm->maps.v], *dso);
	for (; i < pm->past.n; i++)
		if (pc >= pm->past.v[i].start && pc < pm->past.v[i].end)
			consider(&g, &pm->past.v[i], pm->past_seen[i], pm->past_dso[i]);
	*dso = g.after ? g.after_dso : g.before_dso;
	return g.after ? g.after : g.before;
}

static void resolve_binary(struct symbolizer *s, uint32_t proc, uint64_t pc, uint32_t gen,
			   struct symbol_ref *out)
{
	struct proc_maps *pm = &s->procs[proc];
	const struct map_entry *m = maps_find(&pm->maps, pc);
	size_t dso = m ? pm->dso_of[m - pm->maps.v] : 0;
	if (pm->past.n)
		m = mapping_of_gen(pm, pc, gen, m, &dso);
	if (!m)
		return;
	struct dso *d = &s->dsos[dso];
	if (d->path[0] != '/') {
		const char *name = shown_dso(d->path);
		out->function = out->raw_name = out->dso = out->dso_path = name;
		return;
	}
	out->dso = basename_of(d->path);
	out->dso_path = d->path;
	struct elf_file *ef = dso_elf(s, d);
	uint64_t vaddr;
	if (!ef || !elf_file_offset_to_vaddr(ef, pc - m->start + m->pgoff, &vaddr))
		return;
	out->dso_id = (size_t)(d - s->dsos) + 1;
	out->vaddr = vaddr;
	const struct elf_symbol *sym = elf_file_lookup(ef, vaddr);
	if (sym) {
		out->raw_name = sym->name;
		out->function = symbolizer_symbol_name(s, out->dso_id, sym);
		out->sym_start = pc - (vaddr - sym->addr);
		out->has_extent = true;
		out->sym_vaddr = sym->addr;
		out->sym_size = elf_file_symbol_end(ef, sym) - sym->addr;
	}
}

void symbolizer_resolve(struct symbolizer *s, uint32_t proc, uint64_t pc, uint32_t gen,
			struct symbol_ref *out)
{
	*out = (struct symbol_ref){ .function = "[unknown]", .raw_name = "[unknown]",
				    .dso = "[unknown]", .dso_path = "[unknown]", .vaddr = pc };
	int64_t bias;
	const struct recorded_function *f = s->names ? recorded_names_lookup(s->names, proc, pc, gen, &bias)
						     : NULL;
	if (f) {
		resolve_recorded(s, f, pc, bias, out);
		return;
	}
	if (proc < s->nprocs)
		resolve_binary(s, proc, pc, gen, out);
	if (!out->has_extent) /* [anon], [unknown]: perhaps JIT code */
		resolve_jit(s, proc, pc, gen, out);
}

bool symbolizer_ref_line(struct symbolizer *s, const struct symbol_ref *ref, const char **file,
			 int *line)
{
	if (ref->recorded && s->names)
		return recorded_names_line(s->names, ref->recorded, ref->vaddr, file, line);
	return ref->dso_id && !ref->from_jit && symbolizer_line(s, ref->dso_id, ref->vaddr, file, line);
}

bool symbolizer_has_names(const struct symbolizer *s)
{
	return s->names != NULL;
}

int symbolizer_direct_jump(const struct symbolizer *s, uint32_t proc, uint64_t pc, uint32_t gen,
			   uint64_t *target)
{
	if (!s->names)
		return -1;
	return recorded_names_jump(s->names, proc, pc, gen, target) ? 1 : 0;
}

char *symbolizer_demangle(const char *name)
{
	if (strncmp(name, "_Z", 2) != 0 && strncmp(name, "_R", 2) != 0)
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
}

void symbolizer_print_warnings(struct symbolizer *s)
{
	for (size_t i = 0; i < s->nwarnings; i++)
		log_warn("%s", s->warnings[i]);
}

void symbolizer_use_prefetch(struct symbolizer *s, struct lines_prefetch *lp)
{
	s->prefetch = lp;
}

void symbolizer_set_demangle(struct symbolizer *s, bool demangle)
{
	s->no_demangle = !demangle;
}

size_t symbolizer_ndsos(const struct symbolizer *s)
{
	return s->ndsos;
}

const char *symbolizer_dso_path(const struct symbolizer *s, size_t dso_id)
{
	return dso_id && dso_id <= s->ndsos ? s->dsos[dso_id - 1].path : "";
}

struct elf_file *symbolizer_dso_elf(struct symbolizer *s, size_t dso_id)
{
	if (!dso_id || dso_id > s->ndsos || s->dsos[dso_id - 1].path[0] != '/')
		return NULL;
	return dso_elf(s, &s->dsos[dso_id - 1]);
}

/* Itanium C++ (_Z...) and Rust (legacy _ZN...17h<hash>E, v0 _R...) names;
 * anything else is printed as it is. */
const char *symbolizer_symbol_name(struct symbolizer *s, size_t dso_id, const struct elf_symbol *sym)
{
	if (s->no_demangle || (strncmp(sym->name, "_Z", 2) != 0 && strncmp(sym->name, "_R", 2) != 0))
		return sym->name;
	struct elf_file *ef = symbolizer_dso_elf(s, dso_id);
	if (!ef || sym < ef->syms || sym >= ef->syms + ef->nsyms)
		return sym->name;
	struct dso *d = &s->dsos[dso_id - 1];
	if (!d->names)
		d->names = xcalloc(ef->nsyms ? ef->nsyms : 1, sizeof *d->names);
	size_t k = (size_t)(sym - ef->syms);
	if (!d->names[k]) {
		char *dm = cplus_demangle(sym->name, DMGL_PARAMS | DMGL_ANSI);
		d->names[k] = dm ? dm : sym->name;
	}
	return d->names[k];
}

static struct line_table *dso_lines(struct symbolizer *s, size_t dso_id)
{
	struct elf_file *ef = symbolizer_dso_elf(s, dso_id);
	if (!ef)
		return NULL;
	struct dso *d = &s->dsos[dso_id - 1];
	if (!d->lines_tried) {
		d->lines_tried = true;
		d->lines = lines_prefetch_take(s->prefetch, ef->path, ef->build_id);
		if (!d->lines)
			d->lines = lines_open(ef);
	}
	return d->lines;
}

bool symbolizer_line(struct symbolizer *s, size_t dso_id, uint64_t vaddr, const char **file, int *line)
{
	struct line_table *lt = dso_lines(s, dso_id);
	return lt && lines_lookup(lt, vaddr, file, line);
}

const char *symbolizer_source_text(struct symbolizer *s, size_t dso_id, const char *file, int line)
{
	return lines_source_text(dso_lines(s, dso_id), file, line);
}
