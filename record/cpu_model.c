/* The CPU models of record --cpu: one table of features, and the CPUID and
 * XGETBV answers built from it. Every model is the same CPU on every host:
 * vendor GenuineIntel, family 6 model 0 (a model no glibc release tunes
 * for), a fixed brand string, fixed cache descriptors, and exactly the
 * features of its psABI level. glibc branches on the vendor (AMD and Intel
 * hosts would get different tunings, non-temporal thresholds and memcpy
 * variants) and, for an unknown vendor, does not even read leaf 1, so one
 * fixed Intel identity is what makes its choices the same everywhere (as
 * valgrind, which shows an Intel CPU on every host). Only the XSAVE area's
 * layout is the host's: XSAVE stores every state component the kernel
 * enabled in the real XCR0, whatever the program was told, so a smaller
 * size would let it overflow its buffer, and the CPU puts each component
 * where it does (AMD's AVX-512 state sits lower than Intel's). */
#include "cpu_model.h"
#include "prof/util.h"

#include <cpuid.h>
#include <stdio.h>
#include <string.h>

/* XCR0 state components. */
#define XS_X87     0x1ull
#define XS_SSE     0x2ull
#define XS_AVX     0x4ull
#define XS_AVX512  0xe0ull   /* opmask, ZMM0-15 upper halves, ZMM16-31 */

#define NEVER 0xff   /* a feature no model shows (listed for the host's description) */

struct cpu_feature {
	const char *name;     /* as /proc/cpuinfo spells it, but sse3 and lzcnt (pni, abm) */
	uint32_t leaf;
	uint8_t subleaf, reg, bit;
	uint8_t level;        /* the first level that has it, or NEVER */
	uint64_t xcr0;        /* register state the kernel must enable for it */
};

/* The psABI levels (x86-64 psABI 1.0, section 3.1.1), plus what every
 * x86-64 CPU has that user code checks (tsc, clflush, nx). In each level,
 * the feature a host is most likely to lack comes first: it is the one the
 * error line names. */
static const struct cpu_feature features[] = {
	{ "fpu",      1, 0, CPUID_EDX, 0,  CPU_X86_64, 0 },
	{ "tsc",      1, 0, CPUID_EDX, 4,  CPU_X86_64, 0 },
	{ "cx8",      1, 0, CPUID_EDX, 8,  CPU_X86_64, 0 },
	{ "cmov",     1, 0, CPUID_EDX, 15, CPU_X86_64, 0 },
	{ "clflush",  1, 0, CPUID_EDX, 19, CPU_X86_64, 0 },
	{ "mmx",      1, 0, CPUID_EDX, 23, CPU_X86_64, 0 },
	{ "fxsr",     1, 0, CPUID_EDX, 24, CPU_X86_64, 0 },
	{ "sse",      1, 0, CPUID_EDX, 25, CPU_X86_64, 0 },
	{ "sse2",     1, 0, CPUID_EDX, 26, CPU_X86_64, 0 },
	{ "syscall",  0x80000001, 0, CPUID_EDX, 11, CPU_X86_64, 0 },
	{ "nx",       0x80000001, 0, CPUID_EDX, 20, CPU_X86_64, 0 },
	{ "lm",       0x80000001, 0, CPUID_EDX, 29, CPU_X86_64, 0 },
	{ "sse3",     1, 0, CPUID_ECX, 0,  CPU_X86_64_V2, 0 },
	{ "ssse3",    1, 0, CPUID_ECX, 9,  CPU_X86_64_V2, 0 },
	{ "cx16",     1, 0, CPUID_ECX, 13, CPU_X86_64_V2, 0 },
	{ "sse4_1",   1, 0, CPUID_ECX, 19, CPU_X86_64_V2, 0 },
	{ "sse4_2",   1, 0, CPUID_ECX, 20, CPU_X86_64_V2, 0 },
	{ "popcnt",   1, 0, CPUID_ECX, 23, CPU_X86_64_V2, 0 },
	{ "lahf_lm",  0x80000001, 0, CPUID_ECX, 0, CPU_X86_64_V2, 0 },
	{ "avx",      1, 0, CPUID_ECX, 28, CPU_X86_64_V3, XS_SSE | XS_AVX },
	{ "avx2",     7, 0, CPUID_EBX, 5,  CPU_X86_64_V3, XS_SSE | XS_AVX },
	{ "bmi1",     7, 0, CPUID_EBX, 3,  CPU_X86_64_V3, 0 },
	{ "bmi2",     7, 0, CPUID_EBX, 8,  CPU_X86_64_V3, 0 },
	{ "f16c",     1, 0, CPUID_ECX, 29, CPU_X86_64_V3, XS_AVX },
	{ "fma",      1, 0, CPUID_ECX, 12, CPU_X86_64_V3, XS_AVX },
	{ "lzcnt",    0x80000001, 0, CPUID_ECX, 5, CPU_X86_64_V3, 0 },
	{ "movbe",    1, 0, CPUID_ECX, 22, CPU_X86_64_V3, 0 },
	{ "xsave",    1, 0, CPUID_ECX, 26, CPU_X86_64_V3, 0 },
	{ "osxsave",  1, 0, CPUID_ECX, 27, CPU_X86_64_V3, 0 },
	{ "avx512f",  7, 0, CPUID_EBX, 16, CPU_X86_64_V4, XS_SSE | XS_AVX | XS_AVX512 },
	{ "avx512dq", 7, 0, CPUID_EBX, 17, CPU_X86_64_V4, XS_SSE | XS_AVX | XS_AVX512 },
	{ "avx512cd", 7, 0, CPUID_EBX, 28, CPU_X86_64_V4, XS_SSE | XS_AVX | XS_AVX512 },
	{ "avx512bw", 7, 0, CPUID_EBX, 30, CPU_X86_64_V4, XS_SSE | XS_AVX | XS_AVX512 },
	{ "avx512vl", 7, 0, CPUID_EBX, 31, CPU_X86_64_V4, XS_SSE | XS_AVX | XS_AVX512 },
	/* Never shown; they tell hosts apart (libraries choose code by them). */
	{ "hypervisor", 1, 0, CPUID_ECX, 31, NEVER, 0 },
	{ "pclmulqdq", 1, 0, CPUID_ECX, 1,  NEVER, 0 },
	{ "aes",      1, 0, CPUID_ECX, 25, NEVER, 0 },
	{ "rdrand",   1, 0, CPUID_ECX, 30, NEVER, 0 },
	{ "erms",     7, 0, CPUID_EBX, 9,  NEVER, 0 },
	{ "rtm",      7, 0, CPUID_EBX, 11, NEVER, 0 },
	{ "rdseed",   7, 0, CPUID_EBX, 18, NEVER, 0 },
	{ "adx",      7, 0, CPUID_EBX, 19, NEVER, 0 },
	{ "avx512ifma", 7, 0, CPUID_EBX, 21, NEVER, XS_AVX512 },
	{ "sha_ni",   7, 0, CPUID_EBX, 29, NEVER, 0 },
	{ "avx512vbmi", 7, 0, CPUID_ECX, 1, NEVER, XS_AVX512 },
	{ "avx512_vbmi2", 7, 0, CPUID_ECX, 6, NEVER, XS_AVX512 },
	{ "gfni",     7, 0, CPUID_ECX, 8,  NEVER, 0 },
	{ "vaes",     7, 0, CPUID_ECX, 9,  NEVER, XS_AVX },
	{ "vpclmulqdq", 7, 0, CPUID_ECX, 10, NEVER, XS_AVX },
	{ "avx512_vnni", 7, 0, CPUID_ECX, 11, NEVER, XS_AVX512 },
	{ "avx512_bitalg", 7, 0, CPUID_ECX, 12, NEVER, XS_AVX512 },
	{ "avx512_vpopcntdq", 7, 0, CPUID_ECX, 14, NEVER, XS_AVX512 },
	{ "fsrm",     7, 0, CPUID_EDX, 4,  NEVER, 0 },
	{ "xsavec",   0xd, 1, CPUID_EAX, 1, NEVER, 0 },
	{ "sse4a",    0x80000001, 0, CPUID_ECX, 6, NEVER, 0 },
	{ "fma4",     0x80000001, 0, CPUID_ECX, 16, NEVER, XS_AVX },
	{ "rdtscp",   0x80000001, 0, CPUID_EDX, 27, NEVER, 0 },
};

#define NFEATURES (sizeof features / sizeof features[0])

static const char *const level_names[CPU_LEVELS] = {
	"host", "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4",
};

int cpu_level_parse(const char *name)
{
	for (int l = 0; l < CPU_LEVELS; l++)
		if (strcmp(name, level_names[l]) == 0)
			return l;
	return -1;
}

const char *cpu_level_name(int level)
{
	return level >= 0 && level < CPU_LEVELS ? level_names[level] : "?";
}

const char *cpu_level_list(void)
{
	return "host, x86-64, x86-64-v2, x86-64-v3, x86-64-v4";
}

/* ---- the host ---- */

static void read_brand(struct cpu_host *h)
{
	uint32_t r[12];
	if (h->max_ext < 0x80000004)
		return;
	for (uint32_t i = 0; i < 3; i++)
		__cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
	char raw[49];
	memcpy(raw, r, 48);
	raw[48] = '\0';
	const char *s = raw;
	while (*s == ' ')
		s++;
	snprintf(h->name, sizeof h->name, "%s", s);
	for (size_t n = strlen(h->name); n > 0 && h->name[n - 1] == ' '; n--)
		h->name[n - 1] = '\0';
}

void cpu_host_read(struct cpu_host *h)
{
	memset(h, 0, sizeof *h);
	uint32_t v[3];
	__cpuid(0, h->max_leaf, v[0], v[2], v[1]); /* EBX, EDX, ECX spell the vendor */
	memcpy(h->vendor, v, 12);
	__cpuid(0x80000000, h->max_ext, v[0], v[1], v[2]);
	if (h->max_ext < 0x80000000 || h->max_ext > 0x8000ffff)
		h->max_ext = 0;
	if (h->max_leaf >= 1)
		__cpuid(1, h->leaf1[0], h->leaf1[1], h->leaf1[2], h->leaf1[3]);
	if (h->max_leaf >= 7)
		__cpuid_count(7, 0, h->leaf7[0], h->leaf7[1], h->leaf7[2], h->leaf7[3]);
	if (h->max_ext >= 0x80000001)
		__cpuid(0x80000001, h->ext1[0], h->ext1[1], h->ext1[2], h->ext1[3]);
	for (uint32_t i = 0; h->max_leaf >= 0xd && i < 32; i++)
		__cpuid_count(0xd, i, h->xsave[i][0], h->xsave[i][1], h->xsave[i][2], h->xsave[i][3]);
	if (h->leaf1[CPUID_ECX] & (1u << 27)) { /* OSXSAVE: xgetbv may run */
		uint32_t lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		h->xcr0 = (uint64_t)hi << 32 | lo;
	}
	read_brand(h);
}

static uint32_t host_reg(const struct cpu_host *h, uint32_t leaf, uint32_t subleaf, int reg)
{
	switch (leaf) {
	case 1:
		return h->leaf1[reg];
	case 7:
		return subleaf == 0 ? h->leaf7[reg] : 0;
	case 0xd:
		return subleaf < 32 ? h->xsave[subleaf][reg] : 0;
	case 0x80000001:
		return h->ext1[reg];
	default:
		return 0;
	}
}

static bool host_has(const struct cpu_host *h, const struct cpu_feature *f)
{
	return (host_reg(h, f->leaf, f->subleaf, f->reg) >> f->bit & 1) &&
	       (h->xcr0 & f->xcr0) == f->xcr0;
}

const char *cpu_host_lacks(const struct cpu_host *h, int level)
{
	for (size_t i = 0; i < NFEATURES; i++)
		if (features[i].level <= level && !host_has(h, &features[i]))
			return features[i].name;
	return NULL;
}

int cpu_host_level(const struct cpu_host *h)
{
	int level = CPU_HOST;
	while (level + 1 < CPU_LEVELS && !cpu_host_lacks(h, level + 1))
		level++;
	return level;
}

char *cpu_host_features(const struct cpu_host *h)
{
	size_t len = 1;
	for (size_t i = 0; i < NFEATURES; i++)
		len += strlen(features[i].name) + 1;
	char *s = xcalloc(len, 1);
	for (size_t i = 0; i < NFEATURES; i++) {
		if (!host_has(h, &features[i]))
			continue;
		if (*s)
			strcat(s, " ");
		strcat(s, features[i].name);
	}
	return s;
}

/* ---- the model's answers ---- */

#define MODEL_MAX_LEAF 0xd
#define MODEL_MAX_EXT  0x80000008u
#define MODEL_SIGNATURE 0x600   /* family 6, model 0, stepping 0 */

/* The state components the model's XCR0 holds. */
static uint64_t model_xcr0(int level)
{
	uint64_t shown = XS_X87 | XS_SSE;
	if (level >= CPU_X86_64_V3)
		shown |= XS_AVX;
	if (level >= CPU_X86_64_V4)
		shown |= XS_AVX512;
	return shown;
}

static void shown_features(int level, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	for (size_t i = 0; i < NFEATURES; i++) {
		const struct cpu_feature *f = &features[i];
		if (f->level <= level && f->leaf == leaf && f->subleaf == subleaf)
			out[f->reg] |= 1u << f->bit;
	}
}

/* Leaf 4: L1d and L1i 32 KiB 8-way, L2 1 MiB 16-way, L3 16 MiB 16-way, 64-byte
 * lines, each cache private to the one logical processor (no HTT). */
static void cache_leaf(uint32_t subleaf, uint32_t out[4])
{
	static const struct { uint8_t type, level; uint32_t kib, ways; } caches[] = {
		{ 1, 1, 32, 8 }, { 2, 1, 32, 8 }, { 3, 2, 1024, 16 }, { 3, 3, 16384, 16 },
	};
	if (subleaf >= sizeof caches / sizeof caches[0])
		return;
	uint32_t line = 64, sets = caches[subleaf].kib * 1024 / (caches[subleaf].ways * line);
	out[CPUID_EAX] = caches[subleaf].type | (uint32_t)caches[subleaf].level << 5 | 1u << 8;
	out[CPUID_EBX] = (line - 1) | (caches[subleaf].ways - 1) << 22;
	out[CPUID_ECX] = sets - 1;
}

/* Leaf 0xd: the components of the model's XCR0, at the host's sizes and
 * offsets. Subleaf 0's EBX and ECX (the area XSAVE fills for the real XCR0,
 * and its largest size) stay the host's: see the top of this file. XSAVEOPT,
 * XSAVEC, XGETBV with ECX=1 and XSAVES (subleaf 1) are not shown: glibc
 * then saves registers with XSAVE, the same code on every host. */
static void xsave_leaf(const struct cpu_host *h, int level, uint32_t subleaf, uint32_t out[4])
{
	if (level < CPU_X86_64_V3 || subleaf >= 32 || subleaf == 1)
		return; /* XSAVE is not shown below x86-64-v3 */
	uint64_t shown = model_xcr0(level);
	if (subleaf == 0) {
		out[CPUID_EAX] = h->xsave[0][CPUID_EAX] & (uint32_t)shown;
		out[CPUID_EBX] = h->xsave[0][CPUID_EBX];
		out[CPUID_ECX] = h->xsave[0][CPUID_ECX];
		out[CPUID_EDX] = h->xsave[0][CPUID_EDX] & (uint32_t)(shown >> 32);
	} else if (shown >> subleaf & 1) {
		memcpy(out, h->xsave[subleaf], 4 * sizeof *out);
	}
}

static void brand_leaf(int level, uint32_t leaf, uint32_t out[4])
{
	char brand[48] = { 0 };
	snprintf(brand, sizeof brand, "prof virtual CPU (%s)", cpu_level_name(level));
	memcpy(out, brand + 16 * (leaf - 0x80000002), 16);
}

void cpu_model_cpuid(const struct cpu_host *h, int level, uint32_t leaf, uint32_t subleaf,
		     uint32_t out[4])
{
	memset(out, 0, 4 * sizeof *out);
	switch (leaf) {
	case 0:
		out[CPUID_EAX] = MODEL_MAX_LEAF;
		memcpy(&out[CPUID_EBX], "Genu", 4);
		memcpy(&out[CPUID_EDX], "ineI", 4);
		memcpy(&out[CPUID_ECX], "ntel", 4);
		break;
	case 1:
		shown_features(level, 1, 0, out);
		out[CPUID_EAX] = MODEL_SIGNATURE;
		out[CPUID_EBX] = 1u << 16 | 8u << 8; /* one logical processor, 64-byte clflush */
		break;
	case 2:
		out[CPUID_EAX] = 0xff01; /* one round; descriptor 0xff: see leaf 4 */
		break;
	case 4:
		cache_leaf(subleaf, out);
		break;
	case 7:
		shown_features(level, 7, subleaf, out); /* EAX 0: subleaf 0 is the last */
		break;
	case 0xd:
		xsave_leaf(h, level, subleaf, out);
		break;
	case 0x80000000:
		out[CPUID_EAX] = MODEL_MAX_EXT;
		break;
	case 0x80000001:
		shown_features(level, 0x80000001, 0, out);
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		brand_leaf(level, leaf, out);
		break;
	case 0x80000006: /* L2: 1 MiB, 16-way (code 8), 64-byte lines */
		out[CPUID_ECX] = 1024u << 16 | 0x8u << 12 | 64;
		break;
	case 0x80000008: /* 48 physical and 48 virtual address bits */
		out[CPUID_EAX] = 0x3030;
		break;
	default:
		break; /* every other leaf reads as absent */
	}
}

bool cpu_model_xgetbv(const struct cpu_host *h, int level, uint32_t xcr, uint64_t *value)
{
	/* ECX=1 reads which components are in use: answered as "maybe all of
	 * XCR0", always true, where the host knows it. */
	bool xinuse = h->xsave[1][CPUID_EAX] >> 2 & 1;
	if (xcr != 0 && !(xcr == 1 && xinuse))
		return false;
	*value = h->xcr0 & model_xcr0(level);
	return true;
}
