/* difffuzz_gen: writes one random test case of the differential fuzzer.
 *
 *   difffuzz_gen --seed N [--slot N] [--drop G,G,...] [--features host|none|LIST]
 *
 * The same seed and slot give the same case on every machine with the same
 * features; --drop leaves out groups (the minimizer's way of making a case
 * smaller) without changing anything else. The case file (text, on stdout)
 * is what the driver runs and what a regression keeps: state, memory
 * sections in hex, and the code's disassembly with each item's group. */
#include "gen.h"

#include <cpuid.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_VERSION 1

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++) { /* splitmix64 */
		uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		r->s[i] = z ^ (z >> 31);
	}
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

bool rng_chance(struct rng *r, unsigned percent)
{
	return rng_below(r, 100) < percent;
}

/* ---- features ---- */

static const struct {
	const char *name;
	size_t offset;
} feature_names[] = {
#define FEAT(n, f) { n, offsetof(struct features, f) }
	FEAT("sse3", sse3),   FEAT("ssse3", ssse3), FEAT("sse4.1", sse41), FEAT("sse4.2", sse42),
	FEAT("avx", avx),     FEAT("avx2", avx2),   FEAT("fma", fma),      FEAT("avx512", avx512),
	FEAT("adx", adx),     FEAT("bmi1", bmi1),   FEAT("bmi2", bmi2),    FEAT("lzcnt", lzcnt),
	FEAT("popcnt", popcnt), FEAT("movbe", movbe), FEAT("pclmul", pclmul), FEAT("aes", aes),
#undef FEAT
};
#define NFEATURES (sizeof feature_names / sizeof feature_names[0])

static bool *feature(struct features *f, size_t i)
{
	return (bool *)((char *)f + feature_names[i].offset);
}

/* What this CPU has and the kernel enabled (XCR0 for the AVX state). */
static void host_features(struct features *f)
{
	unsigned a, b, c, d, c7 = 0, b7 = 0, d7 = 0, a7;
	memset(f, 0, sizeof *f);
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return;
	__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7);
	uint64_t xcr0 = 0;
	if (c & (1u << 27)) {
		unsigned lo, hi;
		__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = ((uint64_t)hi << 32) | lo;
	}
	bool avx_os = (xcr0 & 6) == 6, avx512_os = (xcr0 & 0xe6) == 0xe6;
	f->sse3 = c & 1;
	f->pclmul = c & (1u << 1);
	f->ssse3 = c & (1u << 9);
	f->fma = avx_os && (c & (1u << 12));
	f->sse41 = c & (1u << 19);
	f->sse42 = c & (1u << 20);
	f->movbe = c & (1u << 22);
	f->popcnt = c & (1u << 23);
	f->aes = c & (1u << 25);
	f->avx = avx_os && (c & (1u << 28));
	f->avx2 = f->avx && (b7 & (1u << 5));
	f->bmi1 = b7 & (1u << 3);
	f->bmi2 = b7 & (1u << 8);
	f->adx = b7 & (1u << 19);
	/* F, DQ, CD, BW and VL: the templates use them all. */
	uint32_t avx512 = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
	f->avx512 = avx512_os && (b7 & avx512) == avx512;
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		f->lzcnt = c & (1u << 5);
}

static bool parse_features(const char *s, struct features *f)
{
	if (strcmp(s, "host") == 0) {
		host_features(f);
		return true;
	}
	memset(f, 0, sizeof *f);
	char *copy = strdup(s), *save = NULL;
	bool ok = true;
	for (char *w = strtok_r(copy, ", ", &save); w; w = strtok_r(NULL, ", ", &save)) {
		size_t i = 0;
		while (i < NFEATURES && strcmp(feature_names[i].name, w) != 0)
			i++;
		if (i < NFEATURES)
			*feature(f, i) = true;
		else
			ok = strcmp(w, "none") == 0;
	}
	free(copy);
	return ok;
}

static int vector_mode(const struct features *f)
{
	return f->avx512 ? 2 : f->avx ? 1 : 0;
}

/* ---- the case file ---- */

static void hex_lines(FILE *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i += 64) {
		for (size_t k = i; k < n && k < i + 64; k++)
			fprintf(out, "%02x", b[k]);
		fputc('\n', out);
	}
}

static void section(FILE *out, const char *name, uint64_t addr, const uint8_t *b, size_t n,
		    const char *prot)
{
	fprintf(out, "section %s 0x%" PRIx64 " %zu %s\n", name, addr, n, prot);
	hex_lines(out, b, n);
}

static const char *const reg_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					   "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

struct state {
	uint64_t gpr[16], rflags, mxcsr, k[8];
	uint8_t vec[32][64];
};

static uint64_t interesting(struct rng *r)
{
	static const uint64_t v[] = { 0, 1, ~0ull, 0x8000000000000000ull, 0x7fffffffffffffffull,
				      0xffffffff, 0x80000000, 0x100000000ull };
	return rng_chance(r, 25) ? v[rng_below(r, sizeof v / sizeof v[0])] : rng_next(r);
}

static void initial_state(struct rng *r, struct state *s, uint64_t rsp0)
{
	for (int i = 0; i < 16; i++)
		s->gpr[i] = interesting(r);
	s->gpr[4] = rsp0;
	/* Status flags at random, DF sometimes, IF and the reserved bit 1. */
	s->rflags = 0x202 | (rng_next(r) & 0x8d5) | (rng_chance(r, 25) ? 0x400 : 0);
	/* Every exception masked; rounding, FTZ and DAZ at random. */
	s->mxcsr = 0x1f80 | (rng_next(r) & 0x603f) | (rng_chance(r, 20) ? 0x8040 : 0);
	for (int i = 0; i < 8; i++)
		s->k[i] = rng_next(r);
	for (int i = 0; i < 32; i++)
		for (int b = 0; b < 64; b += 8) {
			uint64_t v = rng_next(r);
			memcpy(&s->vec[i][b], &v, 8);
		}
}

static void random_bytes(struct rng *r, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rng_next(r);
}

static void write_state(FILE *out, const struct state *s)
{
	for (int i = 0; i < 16; i++)
		fprintf(out, "reg %s 0x%" PRIx64 "\n", reg_names[i], s->gpr[i]);
	fprintf(out, "reg rflags 0x%" PRIx64 "\nreg mxcsr 0x%" PRIx64 "\n", s->rflags, s->mxcsr);
	for (int i = 0; i < 32; i++) {
		fprintf(out, "vec %d ", i);
		hex_lines(out, s->vec[i], 64);
	}
	for (int i = 0; i < 8; i++)
		fprintf(out, "k %d 0x%" PRIx64 "\n", i, s->k[i]);
}

static void write_listing(FILE *out, const struct program *p, const bool *drop)
{
	for (int i = 1; i < p->ngroups; i++)
		if (!group_dropped(p, i, drop))
			fprintf(out, "group %d %d %s\n", i, p->groups[i].parent, p->groups[i].what);
	for (size_t i = 0; i < p->n; i++) {
		const struct item *it = &p->v[i];
		if (group_dropped(p, it->group, drop))
			continue;
		if (it->kind == IT_LABEL) {
			fprintf(out, "# L%d:\n", it->label);
			continue;
		}
		if (it->kind == IT_TABLE) {
			fprintf(out, "#   table[%u] = L%d  (g%d)\n", it->table_slot, it->label, it->group);
			continue;
		}
		ZydisDisassembledInstruction d;
		bool ok = ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, it->addr,
							     it->bytes, it->len, &d));
		fprintf(out, "#   %" PRIx64 "  ", it->addr);
		for (int b = 0; b < 10; b++)
			fprintf(out, b < it->len ? "%02x" : "  ", it->bytes[b]);
		fprintf(out, "  %-44s g%d\n", ok ? d.text : "?", it->group);
	}
}

struct options {
	uint64_t seed;
	unsigned slot;
	struct features f;
	char *drop;
};

static bool *drop_set(const struct program *p, const char *list)
{
	bool *drop = calloc((size_t)p->ngroups + 1, 1);
	for (const char *s = list; s && *s;) {
		char *end;
		long g = strtol(s, &end, 10);
		if (end == s)
			break;
		if (g > 0 && g < p->ngroups)
			drop[g] = true;
		s = *end ? end + 1 : end;
	}
	return drop;
}

static int write_case(const struct options *o)
{
	struct rng layout_rng, state_rng;
	rng_seed(&layout_rng, o->seed ^ 0x5bd1e995ull);
	rng_seed(&state_rng, o->seed ^ 0xc2b2ae3d27d4eb4full);
	struct program p;
	program_init(&p);
	struct gen g = { .f = o->f, .p = &p, .mult = 1, .budget = 1500 + (long)rng_below(&layout_rng, 2500) };
	g.near = !rng_chance(&layout_rng, 20);
	g.code = (g.near ? CODE_NEAR : CODE_FAR) + o->slot * SLOT_STRIDE;
	g.ripdata = g.code + RIPDATA_OFFSET;
	g.rsp0 = STACK_ADDR + STACK_SIZE / 2 - 8 * rng_below(&layout_rng, 2);
	p.base = g.code;
	rng_seed(&g.rng, o->seed);
	generate(&g);

	bool *drop = drop_set(&p, o->drop);
	static uint8_t code[MAX_CODE], ripdata[RIPDATA_SIZE], data[DATA_SIZE], stack[STACK_SIZE];
	struct state s;
	initial_state(&state_rng, &s, g.rsp0);
	random_bytes(&state_rng, ripdata, sizeof ripdata);
	random_bytes(&state_rng, data, sizeof data);
	random_bytes(&state_rng, stack, sizeof stack);
	memset(ripdata + RIPDATA_TABLE, 0, 8); /* the exit slot: the harness fills it */
	memset(code, 0xcc, sizeof code);
	size_t n = program_layout(&p, drop, g.code, code, sizeof code, ripdata + RIPDATA_TABLE);
	if (!n) {
		fprintf(stderr, "difffuzz_gen: seed %" PRIu64 ": the layout failed\n", o->seed);
		return 1;
	}
	FILE *out = stdout;
	fprintf(out, "difffuzz-case %d\nseed %" PRIu64 "\nslot %u\nfeatures", GEN_VERSION, o->seed,
		o->slot);
	for (size_t i = 0; i < NFEATURES; i++)
		if (*feature((struct features *)&o->f, i))
			fprintf(out, " %s", feature_names[i].name);
	uint32_t needs = 0;
	for (size_t i = 0; i < p.n; i++)
		if (!group_dropped(&p, p.v[i].group, drop))
			needs |= p.v[i].needs;
	fprintf(out, "\nneeds");
	for (size_t i = 0; i < NFEATURES; i++)
		if (needs & (1u << i))
			fprintf(out, " %s", feature_names[i].name);
	fprintf(out, "\nvec %d\ndrop %s\n", vector_mode(&o->f), o->drop ? o->drop : "");
	fprintf(out, "entry 0x%" PRIx64 "\nexit_slot 0x%" PRIx64 "\nrsp0 0x%" PRIx64 "\n",
		p.label_addr[g.main_label], g.ripdata + RIPDATA_TABLE, g.rsp0);
	write_state(out, &s);
	section(out, "code", g.code, code, (n + 4095) & ~4095ul, "rx");
	section(out, "ripdata", g.ripdata, ripdata, sizeof ripdata, "rw");
	section(out, "data", DATA_ADDR, data, sizeof data, "rw");
	section(out, "stack", STACK_ADDR, stack, sizeof stack, "rw");
	write_listing(out, &p, drop);
	fprintf(out, "end\n");
	free(drop);
	program_free(&p);
	return fflush(out) == 0 ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: difffuzz_gen --seed N [--slot N] [--drop G,G,...] "
			"[--features host|none|LIST]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	bool seeded = false;
	host_features(&o.f);
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		if (strcmp(argv[i], "--seed") == 0) {
			o.seed = strtoull(v, NULL, 0);
			seeded = true;
		} else if (strcmp(argv[i], "--slot") == 0) {
			o.slot = (unsigned)strtoul(v, NULL, 0);
		} else if (strcmp(argv[i], "--drop") == 0) {
			o.drop = argv[i + 1];
		} else if (strcmp(argv[i], "--features") == 0) {
			if (!parse_features(v, &o.f)) {
				fprintf(stderr, "difffuzz_gen: unknown feature in '%s'\n", v);
				return 2;
			}
		} else {
			usage();
		}
		i++;
	}
	if (!seeded || o.slot >= 64)
		usage();
	return write_case(&o);
}
