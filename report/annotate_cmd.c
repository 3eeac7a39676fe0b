/* prof annotate: one function's instructions with their exact counts, class
 * and disassembly, interleaved with the source lines they come from.
 *
 * Every recorded pc is symbolized; the pcs of the function (in one DSO) give
 * the counts, and its whole body, from the ELF symbol's start and size, is
 * read from the file on disk and disassembled, so instructions that never ran
 * show with count 0. Addresses are link-time addresses: the offset in the
 * DSO for PIE executables and shared libraries, as objdump -d shows them. */
#include "annotate_code.h"
#include "prof/classes.h"
#include "prof/branch.h"
#include "prof/commands.h"
#include "prof/symmatch.h"
#include "prof/elf_file.h"
#include "prof/log.h"
#include "prof/store.h"
#include "prof/symbolize.h"
#include "prof/util.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char annotate_usage[] =
	"usage: prof annotate FUNCTION [options]\n"
	"\n"
	"Prints every instruction of FUNCTION with its exact count, its share of the\n"
	"function, its class and its disassembly, under the source lines it comes from\n"
	"when the program has DWARF (in the file, next to it or under /usr/lib/debug).\n"
	"FUNCTION is a name as prof report prints it (a C++ name may leave out its\n"
	"parameters) or a mangled name. Instructions that never ran show 0.\n"
	"\n"
	"  -i, --input FILE      database to read (default prof.db)\n"
	"      --dso NAME        the function of this DSO (base name or path)\n"
	"      --syntax SYNTAX   intel (default) or att\n"
	"      --color WHEN      auto (default: on a terminal unless NO_COLOR is set),\n"
	"                        always or never\n"
	"      --no-demangle     print (and match) C++ and Rust names mangled\n"
	"      --pid PID         only this process\n"
	"      --tid TID         only this thread\n"
	"  -h, --help            this help\n";

struct annotate_options {
	const char *input, *function, *dso;
	bool att, color, no_demangle;
	int pid, tid;
};

/* One recorded pc of a candidate function. */
struct pc_count {
	uint64_t vaddr;
	unsigned cls;
	uint64_t count;
};

/* One function that matches the name: a symbol of one DSO, or code the
 * program's JIT named (addresses are then runtime ones). */
struct candidate {
	struct symbol_ref ref;    /* the function (its first pc that ran) */
	uint32_t proc, gen;       /* where it ran (code in no file: where its bytes are) */
	const char *name;
	uint64_t total;
	struct pc_count *pcs;
	size_t npcs, cap;
};

/* A recorded function name and its count, for suggestions. */
struct seen_name {
	const char *name;
	uint64_t count;
};

struct annotate_state {
	const struct annotate_options *o;
	struct symbolizer *sym;
	struct candidate *cands;
	size_t ncands;
	struct seen_name *seen;
	size_t nseen, seen_cap;
	uint64_t total;
	const char *unit;   /* "instructions", or "samples" in sample mode */
};

static int parse_args(int argc, char **argv, struct annotate_options *o)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "dso", required_argument, NULL, 'd' },
		{ "syntax", required_argument, NULL, 'S' },
		{ "color", required_argument, NULL, 'C' },
		{ "no-demangle", no_argument, NULL, 'M' },
		{ "pid", required_argument, NULL, 'p' },
		{ "tid", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	*o = (struct annotate_options){ .input = "prof.db" };
	const char *color = "auto";
	optind = 1;
	opterr = 0;
	int c;
	long long n;
	while ((c = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': o->input = optarg; break;
		case 'd': o->dso = optarg; break;
		case 'S':
			if (strcmp(optarg, "att") != 0 && strcmp(optarg, "intel") != 0) {
				log_error("annotate: --syntax is intel or att, not '%s'", optarg);
				return -1;
			}
			o->att = strcmp(optarg, "att") == 0;
			break;
		case 'C':
			color = optarg;
			break;
		case 'M': o->no_demangle = true; break;
		case 'p':
		case 't':
			if ((n = parse_id("annotate", c == 'p' ? "pid" : "tid", optarg)) < 0)
				return -1;
			*(c == 'p' ? &o->pid : &o->tid) = (int)n;
			break;
		case 'h': fputs(annotate_usage, stdout); exit(0);
		default:
			log_error("annotate: unknown or incomplete option '%s' (see 'prof annotate --help')",
				  argv[optind - 1]);
			return -1;
		}
	}
	if (optind >= argc) {
		log_error("annotate: which function? (usage: prof annotate FUNCTION [-i prof.db])");
		return -1;
	}
	o->function = argv[optind++];
	if (optind < argc) {
		log_error("annotate: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	int want = parse_color("annotate", color);
	if (want < 0)
		return -1;
	o->color = want;
	return 0;
}

static bool dso_matches(const struct annotate_options *o, const char *path)
{
	return !o->dso || strcmp(path, o->dso) == 0 || strcmp(basename_of(path), o->dso) == 0;
}

/* The printed name as users write it (symmatch.h), or the mangled name. */
static bool name_matches(const char *want, const char *shown, const char *raw)
{
	return strcmp(raw, want) == 0 || symbol_name_matches(want, shown);
}

static struct candidate *candidate_of(struct annotate_state *st, const struct symbol_ref *ref,
				      uint32_t proc, uint32_t gen)
{
	for (size_t i = 0; i < st->ncands; i++) {
		const struct symbol_ref *r = &st->cands[i].ref;
		if (r->sym_vaddr == ref->sym_vaddr && strcmp(r->dso_path, ref->dso_path) == 0 &&
		    strcmp(r->function, ref->function) == 0)
			return &st->cands[i];
	}
	st->cands = xrealloc(st->cands, (st->ncands + 1) * sizeof *st->cands);
	struct candidate *c = &st->cands[st->ncands++];
	*c = (struct candidate){ .ref = *ref, .proc = proc, .gen = gen, .name = ref->function };
	return c;
}

static void add_pc(struct candidate *c, uint64_t vaddr, unsigned cls, uint64_t count)
{
	if (c->npcs == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->pcs = xrealloc(c->pcs, c->cap * sizeof *c->pcs);
	}
	c->pcs[c->npcs++] = (struct pc_count){ vaddr, cls, count };
	c->total += count;
}

static void note_seen(struct annotate_state *st, const char *name, uint64_t count)
{
	if (st->nseen == st->seen_cap) {
		st->seen_cap = st->seen_cap ? st->seen_cap * 2 : 256;
		st->seen = xrealloc(st->seen, st->seen_cap * sizeof *st->seen);
	}
	st->seen[st->nseen++] = (struct seen_name){ name, count };
}

/* Symbolizes every recorded pc; the function's pcs go to its candidates. */
static int scan_recording(sqlite3 *db, struct annotate_state *st)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db,
		"SELECT t.proc, x.pc, MIN(x.class), SUM(x.count), x.gen FROM insns x"
		" JOIN threads t ON t.id = x.thread JOIN processes p ON p.id = t.proc"
		" WHERE (?1 = 0 OR p.pid = ?1) AND (?2 = 0 OR t.tid = ?2)"
		" GROUP BY t.proc, x.pc, x.gen", -1, &q, NULL) != SQLITE_OK)
		return store_read_error(db);
	sqlite3_bind_int(q, 1, st->o->pid);
	sqlite3_bind_int(q, 2, st->o->tid);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint32_t proc = (uint32_t)sqlite3_column_int64(q, 0);
		uint64_t pc = (uint64_t)sqlite3_column_int64(q, 1);
		unsigned cls = (unsigned)sqlite3_column_int(q, 2);
		uint64_t count = (uint64_t)sqlite3_column_int64(q, 3);
		st->total += count;
		uint32_t gen = (uint32_t)sqlite3_column_int64(q, 4);
		struct symbol_ref ref;
		symbolizer_resolve(st->sym, proc, pc, gen, &ref);
		note_seen(st, ref.function, count);
		if (!ref.has_extent || !dso_matches(st->o, ref.dso_path) ||
		    !name_matches(st->o->function, ref.function, ref.raw_name))
			continue;
		add_pc(candidate_of(st, &ref, proc, gen), ref.vaddr, cls < CLASS_COUNT ? cls : CLASS_OTHER,
		       count);
	}
	return store_loop_end(q, rc);
}

/* A function that never ran: looked up in the symbol tables of the recorded DSOs. */
static void scan_symbol_tables(struct annotate_state *st)
{
	for (size_t id = 1; id <= symbolizer_ndsos(st->sym); id++) {
		if (!dso_matches(st->o, symbolizer_dso_path(st->sym, id)))
			continue;
		struct elf_file *ef = symbolizer_dso_elf(st->sym, id);
		for (size_t k = 0; ef && k < ef->nsyms; k++) {
			const struct elf_symbol *es = &ef->syms[k];
			const char *shown = symbolizer_symbol_name(st->sym, id, es);
			if (!name_matches(st->o->function, shown, es->name))
				continue;
			struct symbol_ref ref = { .function = shown, .raw_name = es->name,
						  .dso = basename_of(ef->path),
						  .dso_path = symbolizer_dso_path(st->sym, id),
						  .has_extent = true, .sym_vaddr = es->addr,
						  .sym_size = elf_file_symbol_end(ef, es) - es->addr,
						  .dso_id = id, .vaddr = es->addr };
			candidate_of(st, &ref, 0, 0);
		}
	}
}

/* ---- suggestions when nothing matches ---- */

static int cmp_seen_name(const void *a, const void *b)
{
	return strcmp(((const struct seen_name *)a)->name, ((const struct seen_name *)b)->name);
}

static int cmp_seen_count(const void *a, const void *b)
{
	const struct seen_name *x = a, *y = b;
	return x->count != y->count ? (x->count > y->count ? -1 : 1) : strcmp(x->name, y->name);
}

static bool close_name(const char *want, const char *name)
{
	if (name[0] == '[')
		return false;
	size_t n = strlen(want);
	if (n >= 3 && strcasestr(name, want))
		return true;
	size_t limit = n / 4 > 2 ? n / 4 : 2;
	return edit_distance(want, name) <= limit;
}

static void not_found(struct annotate_state *st)
{
	sort_array(st->seen, st->nseen, sizeof *st->seen, cmp_seen_name);
	size_t w = 0;
	for (size_t i = 0; i < st->nseen; i++) {
		if (w && strcmp(st->seen[w - 1].name, st->seen[i].name) == 0)
			st->seen[w - 1].count += st->seen[i].count;
		else
			st->seen[w++] = st->seen[i];
	}
	sort_array(st->seen, w, sizeof *st->seen, cmp_seen_count);
	char hint[512] = "";
	size_t len = 0, shown = 0;
	for (size_t i = 0; i < w && shown < 5; i++) {
		if (!close_name(st->o->function, st->seen[i].name))
			continue;
		int k = snprintf(hint + len, sizeof hint - len, "%s%s", shown ? ", " : "",
				 st->seen[i].name);
		if (k < 0 || (size_t)k >= sizeof hint - len)
			break;
		len += (size_t)k;
		shown++;
	}
	const char *where = st->o->dso ? " in that DSO" : "";
	if (shown)
		log_error("annotate: no function '%s'%s in %s; did you mean: %s?", st->o->function,
			  where, st->o->input, hint);
	else
		log_error("annotate: no function '%s'%s in %s (prof report --top 0 lists them)",
			  st->o->function, where, st->o->input);
}

/* ---- printing ---- */

struct row {
	uint64_t vaddr;
	unsigned len, cls;
	uint64_t count;
	char text[192];
};

static int cmp_pc(const void *a, const void *b)
{
	const struct pc_count *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static const struct pc_count *find_pc(const struct candidate *c, uint64_t vaddr)
{
	size_t lo = 0, hi = c->npcs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->pcs[mid].vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->npcs && c->pcs[lo].vaddr == vaddr ? &c->pcs[lo] : NULL;
}

struct disasm {
	struct classifier *cls, *fmt;   /* fmt may be AT&T: classify with cls */
	struct function_code code;
};

/* The name of a call or jump target out of the function: the symbol of the
 * ELF file, else (code in no file) what the target resolves to. */
static void name_target(struct annotate_state *st, const struct candidate *c, uint64_t target,
			char *text, size_t size)
{
	const char *tn = NULL;
	uint64_t start = 0;
	struct elf_file *ef = c->ref.dso_id ? symbolizer_dso_elf(st->sym, c->ref.dso_id) : NULL;
	if (ef) {
		const struct elf_symbol *t = elf_file_lookup(ef, target);
		/* Inside an unsized symbol is a guess (a PLT stub after _init): no name. */
		if (t && (t->size || t->addr == target)) {
			tn = symbolizer_symbol_name(st->sym, c->ref.dso_id, t);
			start = t->addr;
		}
	} else if (c->proc) {
		struct symbol_ref ref;
		symbolizer_resolve(st->sym, c->proc, target, c->gen, &ref);
		if (ref.has_extent) {
			tn = ref.function;
			start = ref.sym_start;
		}
	}
	if (!tn)
		return;
	size_t l = strlen(text);
	if (target == start)
		snprintf(text + l, size - l, " <%s>", tn);
	else
		snprintf(text + l, size - l, " <%s+0x%" PRIx64 ">", tn, target - start);
}

/* Decodes the instruction at vaddr into r; a call or jump out of the
 * function gets the name of its target. */
static void decode_row(struct annotate_state *st, const struct candidate *c, const struct disasm *d,
		       uint64_t lo, uint64_t hi, uint64_t vaddr, struct row *r)
{
	r->vaddr = vaddr;
	r->len = 1;
	r->cls = CLASS_OTHER;
	const struct function_code *fc = &d->code;
	if (!function_code_known(fc, vaddr)) {
		snprintf(r->text, sizeof r->text, fc->bytes && (vaddr < fc->start || vaddr >= fc->end)
			 && c->ref.dso_id ? "(not in %s)" : "(code not in the recording)", c->ref.dso);
		return;
	}
	const uint8_t *p = fc->bytes + (vaddr - fc->start);
	size_t avail = 0;
	while (avail < 16 && function_code_known(fc, vaddr + avail))
		avail++;
	struct insn_info info;
	struct branch br;
	if (!classifier_decode_branch(d->cls, p, avail, vaddr, &info, &br) ||
	    !classifier_format(d->fmt, p, avail, vaddr, r->text, sizeof r->text)) {
		r->cls = info.cls;
		snprintf(r->text, sizeof r->text, "(bad) .byte 0x%02x", p[0]);
		return;
	}
	r->len = info.len;
	r->cls = info.cls;
	if ((br.kind == BR_CALL || br.kind == BR_JMP) && br.to.direct &&
	    (br.to.target < lo || br.to.target >= hi))
		name_target(st, c, br.to.target, r->text, sizeof r->text);
}

/* A source line as printed: tabs expanded to 8 columns, control characters dropped. */
static const char *expand_tabs(const char *in, char *out, size_t size)
{
	size_t o = 0;
	for (; *in && o + 1 < size; in++) {
		if (*in == '\t') {
			do
				out[o++] = ' ';
			while (o % 8 && o + 1 < size);
		} else if ((unsigned char)*in >= 0x20) {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
	return out;
}

#define MAX_FUNCTION_BYTES (1u << 20)

/* The source line of a row: from DWARF when the binary is the one recorded,
 * else as recorded (for the instructions that ran). */
static bool row_line(struct annotate_state *st, const struct candidate *c, uint64_t vaddr,
		     const char **file, int *line)
{
	if (c->ref.dso_id && !c->ref.from_jit && symbolizer_dso_elf(st->sym, c->ref.dso_id) &&
	    symbolizer_line(st->sym, c->ref.dso_id, vaddr, file, line))
		return true;
	struct symbol_ref at = c->ref;
	at.vaddr = vaddr;
	return at.recorded && symbolizer_ref_line(st->sym, &at, file, line);
}

static void print_header(struct annotate_state *st, const struct candidate *c, size_t nrows,
			 size_t executed, uint64_t lo, uint64_t hi)
{
	char n1[32], n2[32], n3[32], n4[32];
	printf("# function: %s in %s (%s)\n", c->name, c->ref.dso, c->ref.dso_path);
	printf("# count:    %s %s, %.2f%% of %s; %s instructions, %s %s\n",
	       fmt_count(c->total, n1, sizeof n1), st->unit,
	       st->total ? 100.0 * (double)c->total / (double)st->total : 0.0,
	       fmt_count(st->total, n2, sizeof n2), fmt_count(nrows, n3, sizeof n3),
	       fmt_count(executed, n4, sizeof n4),
	       strcmp(st->unit, "samples") == 0 ? "sampled" : "executed");
	printf("# address:  0x%" PRIx64 "..0x%" PRIx64 " %s\n", lo, hi,
	       c->ref.dso_id && !c->ref.from_jit ? "(link-time addresses, as objdump -d shows)"
						 : "(runtime addresses: the code is in no file)");
	for (size_t i = 0; i < st->ncands; i++)
		if (&st->cands[i] != c)
			printf("# also:     %s in %s at 0x%" PRIx64 " (%s %s)\n", st->cands[i].name,
			       st->cands[i].ref.dso, st->cands[i].ref.sym_vaddr,
			       fmt_count(st->cands[i].total, n1, sizeof n1), st->unit);
}

static int annotate(sqlite3 *db, struct annotate_state *st, struct candidate *c)
{
	sort_array(c->pcs, c->npcs, sizeof *c->pcs, cmp_pc);
	size_t w = 0; /* one entry per address (several processes may run the same DSO) */
	for (size_t i = 0; i < c->npcs; i++) {
		if (w && c->pcs[w - 1].vaddr == c->pcs[i].vaddr)
			c->pcs[w - 1].count += c->pcs[i].count;
		else
			c->pcs[w++] = c->pcs[i];
	}
	c->npcs = w;

	uint64_t lo = c->ref.sym_vaddr, hi = lo + c->ref.sym_size;
	if (hi - lo > MAX_FUNCTION_BYTES)
		hi = lo + MAX_FUNCTION_BYTES;
	uint64_t read_end = hi + 16;
	if (c->npcs && c->pcs[c->npcs - 1].vaddr + 16 > read_end)
		read_end = c->pcs[c->npcs - 1].vaddr + 16;
	struct disasm d = { classifier_new(), classifier_new(), { 0 } };
	if (!d.cls || !d.fmt)
		die("capstone cannot be initialized");
	classifier_set_syntax(d.fmt, st->o->att);
	function_code_read(db, st->sym, &c->ref, c->proc, c->gen, lo, read_end, &d.code);

	/* The body by linear sweep (over the bytes known), then any recorded pc
	 * the sweep did not land on. */
	struct row *rows = NULL;
	size_t nrows = 0, cap = 0;
	for (uint64_t a = lo; a < hi && a < d.code.end;) {
		if (!function_code_known(&d.code, a)) {
			a++;
			continue;
		}
		if (nrows == cap) {
			cap = cap ? cap * 2 : 256;
			rows = xrealloc(rows, cap * sizeof *rows);
		}
		decode_row(st, c, &d, lo, hi, a, &rows[nrows]);
		a += rows[nrows++].len;
	}
	size_t swept = nrows;
	for (size_t i = 0; i < c->npcs; i++) {
		struct row key = { .vaddr = c->pcs[i].vaddr };
		if (swept && bsearch(&key, rows, swept, sizeof *rows, cmp_row))
			continue;
		if (nrows == cap) {
			cap = cap ? cap * 2 : 256;
			rows = xrealloc(rows, cap * sizeof *rows);
		}
		decode_row(st, c, &d, lo, hi, c->pcs[i].vaddr, &rows[nrows++]);
	}
	if (nrows > swept)
		sort_array(rows, nrows, sizeof *rows, cmp_row);
	uint64_t max = 0;
	size_t executed = 0;
	for (size_t i = 0; i < nrows; i++) {
		const struct pc_count *pc = find_pc(c, rows[i].vaddr);
		rows[i].count = pc ? pc->count : 0;
		if (pc) {
			rows[i].cls = pc->cls; /* what the recorder decided */
			executed++;
		}
		if (rows[i].count > max)
			max = rows[i].count;
	}

	print_header(st, c, nrows, executed, lo, hi);
	if (!d.code.bytes)
		printf("# (the code cannot be read from %s, and the recording has no copy of it)\n",
		       c->ref.dso_path);
	else if (!c->ref.dso_id || c->ref.from_jit)
		printf("# code:     from %s\n", d.code.from);
	printf("\n%15s %7s  %-7s %10s  %s\n", "count", "%", "class", "address", "instruction");

	char n1[32], n2[32];
	const char *hot = st->o->color ? "\033[1;31m" : "", *src = st->o->color ? "\033[36m" : "";
	const char *reset = st->o->color ? "\033[0m" : "";
	const char *last_file = NULL;
	int last_line = -1;
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		const char *file;
		int line;
		if (row_line(st, c, r->vaddr, &file, &line)) {
			if (line != last_line || !last_file || strcmp(file, last_file) != 0) {
				const char *text = c->ref.dso_id
					? symbolizer_source_text(st->sym, c->ref.dso_id, file, line) : NULL;
				char buf[512];
				printf("%s%43s%s:%d%s%s%s\n", src, "", basename_of(file), line,
				       text ? "  " : "", text ? expand_tabs(text, buf, sizeof buf) : "",
				       reset);
			}
			last_file = file;
			last_line = line;
		}
		bool is_hot = r->count && 2 * r->count >= max;
		printf("%s%15s %6.2f%%  %-7s %10s  %s%s\n", is_hot ? hot : "",
		       fmt_count(r->count, n1, sizeof n1),
		       c->total ? 100.0 * (double)r->count / (double)c->total : 0.0,
		       class_name(r->cls), (snprintf(n2, sizeof n2, "0x%" PRIx64, r->vaddr), n2),
		       r->text, is_hot ? reset : "");
	}
	free(rows);
	function_code_free(&d.code);
	classifier_free(d.cls);
	classifier_free(d.fmt);
	return 0;
}

static int cmp_candidate(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	int c = strcmp(x->ref.dso_path, y->ref.dso_path);
	return c ? c : x->ref.sym_vaddr < y->ref.sym_vaddr ? -1 : x->ref.sym_vaddr > y->ref.sym_vaddr;
}

int cmd_annotate(int argc, char **argv)
{
	struct annotate_options o;
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	char err[512];
	sqlite3 *db = store_open_read(o.input, err, sizeof err);
	if (!db) {
		log_error("%s", err);
		return 1;
	}
	bool failed = false;
	char *state = store_get_meta(db, "state", &failed);
	if (state && strcmp(state, "complete") != 0)
		log_warn("%s: recording is %s; counts are incomplete", o.input, state);
	free(state);
	char *mode = store_get_meta(db, "mode", &failed);
	struct annotate_state st = { .o = &o, .sym = failed ? NULL : symbolizer_new(db),
				     .unit = mode && strcmp(mode, "sample") == 0 ? "samples" : "instructions" };
	free(mode);
	if (!st.sym) {
		sqlite3_close(db);
		return 1;
	}
	symbolizer_set_demangle(st.sym, !o.no_demangle);
	int rc = scan_recording(db, &st);
	if (rc == 0 && !st.ncands)
		scan_symbol_tables(&st);
	if (rc == 0 && !st.ncands) {
		symbolizer_print_warnings(st.sym);
		not_found(&st);
		rc = -1;
	} else if (rc == 0) {
		sort_array(st.cands, st.ncands, sizeof *st.cands, cmp_candidate);
		fflush(stdout);
		rc = annotate(db, &st, &st.cands[0]);
		fflush(stdout);
		symbolizer_print_warnings(st.sym);
	}
	for (size_t i = 0; i < st.ncands; i++)
		free(st.cands[i].pcs);
	free(st.cands);
	free(st.seen);
	symbolizer_free(st.sym);
	sqlite3_close(db);
	return rc ? 1 : 0;
}
