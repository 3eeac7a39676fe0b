/* record --cpu's models: the same answers on an AMD host with AVX-512 and on
 * an Intel host with AVX2 only (every leaf glibc reads), exactly the level's
 * features, the host's XSAVE sizes, XGETBV, and which host lacks what. The
 * hosts are snapshots of CPUID as two such machines answer it. */
#include "cpu_model.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* CPUID bits the tests name. */
#define L1C_SSE42   (1u << 20)
#define L1C_OSXSAVE (1u << 27)
#define L1C_AVX     (1u << 28)
#define L1C_HYPERVISOR (1u << 31)
#define L7B_AVX2    (1u << 5)
#define L7B_BMI2    (1u << 8)
#define L7B_ERMS    (1u << 9)
#define L7B_AVX512F (1u << 16)
#define L7B_AVX512BW (1u << 30)
#define L7B_AVX512VL (1u << 31)

static void set_vendor(struct cpu_host *h, const char *v)
{
	memcpy(h->vendor, v, 12);
	h->vendor[12] = '\0';
}

/* An AMD EPYC (Zen 4) guest: AVX-512, XSAVEC, XGETBV with ECX=1. */
static struct cpu_host amd_zen4(void)
{
	struct cpu_host h = { .max_leaf = 0x10, .max_ext = 0x80000028, .xcr0 = 0xe7 };
	set_vendor(&h, "AuthenticAMD");
	strcpy(h.name, "AMD EPYC 9R14");
	uint32_t l1[4] = { 0x00a10f11, 0x00020800, 0xfef83203, 0x178bfbff };
	uint32_t l7[4] = { 0, 0xf1bf0fa9, 0x00405f4e, 0x00000010 };
	uint32_t e1[4] = { 0x00a10f11, 0x40000000, 0x75c237ff, 0x2fd3fbff };
	memcpy(h.leaf1, l1, sizeof l1);
	memcpy(h.leaf7, l7, sizeof l7);
	memcpy(h.ext1, e1, sizeof e1);
	/* No MPX: its AVX-512 state sits lower in the XSAVE area than Intel's. */
	uint32_t x[8][4] = { { 0xe7, 0x980, 0x980, 0 }, { 0xf, 0x9a8, 0x1800, 0 },
			     { 256, 576, 0, 0 }, { 0 }, { 0 }, { 64, 832, 0, 0 },
			     { 512, 896, 0, 0 }, { 1024, 1408, 0, 0 } };
	memcpy(h.xsave, x, sizeof x);
	return h;
}

/* An Intel Haswell: AVX2, no AVX-512, XSAVEOPT only. */
static struct cpu_host intel_haswell(void)
{
	struct cpu_host h = { .max_leaf = 0xd, .max_ext = 0x80000008, .xcr0 = 0x7 };
	set_vendor(&h, "GenuineIntel");
	strcpy(h.name, "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz");
	uint32_t l1[4] = { 0x000306c3, 0x02100800, 0x7ffafbff, 0xbfebfbff };
	uint32_t l7[4] = { 0, 0x000027ab, 0, 0x9c000000 };
	uint32_t e1[4] = { 0, 0, 0x00000021, 0x2c100800 };
	memcpy(h.leaf1, l1, sizeof l1);
	memcpy(h.leaf7, l7, sizeof l7);
	memcpy(h.ext1, e1, sizeof e1);
	uint32_t x[3][4] = { { 0x7, 0x340, 0x340, 0 }, { 0x1, 0, 0, 0 }, { 256, 576, 0, 0 } };
	memcpy(h.xsave, x, sizeof x);
	return h;
}

/* An Intel Ice Lake server: AVX-512 too, XSAVEC. */
static struct cpu_host intel_icelake(void)
{
	struct cpu_host h = intel_haswell();
	strcpy(h.name, "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz");
	h.max_leaf = 0x1b;
	h.leaf1[CPUID_EAX] = 0x000606a6;
	h.leaf7[CPUID_EBX] = 0xd3ffffff & ~(1u << 27);
	h.xcr0 = 0xe7;
	uint32_t x[8][4] = { { 0xe7, 0xa80, 0xa88, 0 }, { 0xf, 0xa80, 0, 0 }, { 256, 576, 0, 0 },
			     { 0 }, { 0 }, { 64, 1088, 0, 0 }, { 512, 1152, 0, 0 },
			     { 1024, 1664, 0, 0 } };
	memcpy(h.xsave, x, sizeof x);
	return h;
}

static void answer(const struct cpu_host *h, int level, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	cpu_model_cpuid(h, level, leaf, sub, r);
}

/* Every leaf and subleaf glibc's init_cpu_features, its cache information
 * and libgcc's __cpu_indicator_init read, and more. */
static void test_same_answers_on_amd_and_intel(void **state)
{
	static const uint32_t leaves[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 0xb, 0xd, 0xf, 0x10, 0x14, 0x19, 0x1f, 0x24, 0x40000000,
		0x80000000, 0x80000001, 0x80000002, 0x80000003, 0x80000004, 0x80000005,
		0x80000006, 0x80000007, 0x80000008, 0x8000001d, 0x80000021,
	};
	struct cpu_host amd = amd_zen4(), haswell = intel_haswell(), icelake = intel_icelake();
	for (int level = CPU_X86_64; level <= CPU_X86_64_V4; level++) {
		/* An Intel host that has the level. */
		struct cpu_host *intel = level == CPU_X86_64_V4 ? &icelake : &haswell;
		for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
			for (uint32_t sub = 0; sub < 8; sub++) {
				uint32_t a[4], b[4];
				answer(&amd, level, leaves[i], sub, a);
				answer(intel, level, leaves[i], sub, b);
				if (leaves[i] == 0xd && sub == 0) {
					/* The XSAVE area the host's XCR0 fills: the host's. */
					assert_int_equal(a[CPUID_EBX], level >= CPU_X86_64_V3 ? 0x980 : 0);
					assert_int_equal(b[CPUID_EBX], level >= CPU_X86_64_V3 ? intel->xsave[0][1] : 0);
					assert_int_equal(a[CPUID_ECX], level >= CPU_X86_64_V3 ? 0x980 : 0);
					a[CPUID_EBX] = b[CPUID_EBX] = a[CPUID_ECX] = b[CPUID_ECX] = 0;
				}
				if (leaves[i] == 0xd && sub >= 2) {
					/* Where the CPU stores a component: the host's. */
					assert_int_equal(a[CPUID_EBX], a[CPUID_EAX] ? amd.xsave[sub][1] : 0);
					assert_int_equal(b[CPUID_EBX], b[CPUID_EAX] ? intel->xsave[sub][1] : 0);
					a[CPUID_EBX] = b[CPUID_EBX] = 0;
				}
				if (memcmp(a, b, sizeof a) != 0)
					fail_msg("level %d leaf %#x subleaf %u: %08x %08x %08x %08x on AMD, "
						 "%08x %08x %08x %08x on Intel", level, leaves[i], sub,
						 a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
			}
		}
	}
}

static void test_one_intel_identity(void **state)
{
	struct cpu_host amd = amd_zen4();
	uint32_t r[4];
	answer(&amd, CPU_X86_64_V3, 0, 0, r);
	char vendor[13];
	memcpy(vendor, &r[CPUID_EBX], 4);
	memcpy(vendor + 4, &r[CPUID_EDX], 4);
	memcpy(vendor + 8, &r[CPUID_ECX], 4);
	vendor[12] = '\0';
	assert_string_equal(vendor, "GenuineIntel");
	assert_int_equal(r[CPUID_EAX], 0xd); /* no leaf 0x14, 0x19 or 0x24 to read */
	answer(&amd, CPU_X86_64_V3, 1, 0, r);
	assert_int_equal(r[CPUID_EAX], 0x600); /* family 6, model 0: no glibc tuning */
	assert_int_equal(r[CPUID_ECX] & L1C_HYPERVISOR, 0);
	char brand[49] = { 0 };
	for (uint32_t i = 0; i < 3; i++) {
		answer(&amd, CPU_X86_64_V3, 0x80000002 + i, 0, r);
		memcpy(brand + 16 * i, r, 16);
	}
	assert_string_equal(brand, "prof virtual CPU (x86-64-v3)");
}

static void test_features_of_each_level(void **state)
{
	struct cpu_host amd = amd_zen4();
	uint32_t l1[4], l7[4];
	answer(&amd, CPU_X86_64, 1, 0, l1);
	assert_int_equal(l1[CPUID_ECX], 0);
	answer(&amd, CPU_X86_64_V2, 1, 0, l1);
	answer(&amd, CPU_X86_64_V2, 7, 0, l7);
	assert_true(l1[CPUID_ECX] & L1C_SSE42);
	assert_false(l1[CPUID_ECX] & (L1C_AVX | L1C_OSXSAVE));
	assert_int_equal(l7[CPUID_EBX], 0);
	answer(&amd, CPU_X86_64_V3, 1, 0, l1);
	answer(&amd, CPU_X86_64_V3, 7, 0, l7);
	assert_true((l1[CPUID_ECX] & (L1C_AVX | L1C_OSXSAVE)) == (L1C_AVX | L1C_OSXSAVE));
	assert_true((l7[CPUID_EBX] & (L7B_AVX2 | L7B_BMI2)) == (L7B_AVX2 | L7B_BMI2));
	assert_false(l7[CPUID_EBX] & (L7B_AVX512F | L7B_ERMS));
	answer(&amd, CPU_X86_64_V4, 7, 0, l7);
	uint32_t v4 = L7B_AVX512F | L7B_AVX512BW | L7B_AVX512VL;
	assert_true((l7[CPUID_EBX] & v4) == v4);
	assert_false(l7[CPUID_EBX] & L7B_ERMS); /* in no level: never shown */
	answer(&amd, CPU_X86_64_V4, 7, 1, l7);
	assert_int_equal(l7[CPUID_EAX] | l7[CPUID_EBX] | l7[CPUID_ECX] | l7[CPUID_EDX], 0);
}

/* Leaf 4's caches, as glibc's handle_intel computes their sizes. */
static void test_cache_leaves(void **state)
{
	struct cpu_host amd = amd_zen4();
	static const uint32_t kib[] = { 32, 32, 1024, 16384 };
	uint32_t r[4];
	for (uint32_t sub = 0; sub < 4; sub++) {
		answer(&amd, CPU_X86_64_V3, 4, sub, r);
		uint32_t size = ((r[CPUID_EBX] >> 22) + 1) * (((r[CPUID_EBX] >> 12) & 0x3ff) + 1) *
				((r[CPUID_EBX] & 0xfff) + 1) * (r[CPUID_ECX] + 1);
		assert_int_equal(size, kib[sub] * 1024);
	}
	answer(&amd, CPU_X86_64_V3, 4, 4, r);
	assert_int_equal(r[CPUID_EAX] & 0x1f, 0); /* the end */
	answer(&amd, CPU_X86_64_V3, 2, 0, r);
	assert_int_equal(r[CPUID_EAX], 0xff01); /* descriptor 0xff: see leaf 4 */
}

static void test_xsave_components(void **state)
{
	struct cpu_host amd = amd_zen4();
	uint32_t r[4];
	answer(&amd, CPU_X86_64_V3, 0xd, 0, r);
	assert_int_equal(r[CPUID_EAX], 0x7);
	answer(&amd, CPU_X86_64_V3, 0xd, 1, r); /* no XSAVEC, XGETBV1, XSAVES */
	assert_int_equal(r[CPUID_EAX], 0);
	answer(&amd, CPU_X86_64_V3, 0xd, 2, r);
	assert_int_equal(r[CPUID_EAX], 256);
	assert_int_equal(r[CPUID_EBX], 576);
	answer(&amd, CPU_X86_64_V3, 0xd, 5, r);
	assert_int_equal(r[CPUID_EAX], 0);
	answer(&amd, CPU_X86_64_V4, 0xd, 0, r);
	assert_int_equal(r[CPUID_EAX], 0xe7);
	answer(&amd, CPU_X86_64_V4, 0xd, 7, r);
	assert_int_equal(r[CPUID_EAX], 1024);
	assert_int_equal(r[CPUID_EBX], 1408);
	answer(&amd, CPU_X86_64_V2, 0xd, 0, r); /* no XSAVE below v3 */
	assert_int_equal(r[CPUID_EAX] | r[CPUID_EBX], 0);
}

static void test_xgetbv(void **state)
{
	struct cpu_host amd = amd_zen4(), intel = intel_haswell();
	uint64_t v = 0;
	assert_true(cpu_model_xgetbv(&amd, CPU_X86_64_V3, 0, &v));
	assert_int_equal(v, 0x7);
	assert_true(cpu_model_xgetbv(&amd, CPU_X86_64_V4, 0, &v));
	assert_int_equal(v, 0xe7);
	assert_true(cpu_model_xgetbv(&amd, CPU_X86_64_V2, 0, &v));
	assert_int_equal(v, 0x3);
	assert_true(cpu_model_xgetbv(&amd, CPU_X86_64_V3, 1, &v)); /* the host has XGETBV1 */
	assert_int_equal(v, 0x7);
	assert_false(cpu_model_xgetbv(&intel, CPU_X86_64_V3, 1, &v)); /* #GP there */
	assert_false(cpu_model_xgetbv(&amd, CPU_X86_64_V3, 2, &v));
}

static void test_what_a_host_lacks(void **state)
{
	struct cpu_host amd = amd_zen4(), intel = intel_haswell();
	assert_null(cpu_host_lacks(&amd, CPU_X86_64_V4));
	assert_int_equal(cpu_host_level(&amd), CPU_X86_64_V4);
	assert_null(cpu_host_lacks(&intel, CPU_X86_64_V3));
	assert_string_equal(cpu_host_lacks(&intel, CPU_X86_64_V4), "avx512f");
	assert_int_equal(cpu_host_level(&intel), CPU_X86_64_V3);
	/* AVX-512 in CPUID, but the kernel left its registers off. */
	amd.xcr0 = 0x7;
	assert_string_equal(cpu_host_lacks(&amd, CPU_X86_64_V4), "avx512f");
	/* A Sandy Bridge: AVX, none of AVX2 and the rest. */
	intel.leaf7[CPUID_EBX] = 0;
	assert_string_equal(cpu_host_lacks(&intel, CPU_X86_64_V3), "avx2");
	assert_int_equal(cpu_host_level(&intel), CPU_X86_64_V2);
	char *f = cpu_host_features(&intel);
	assert_non_null(strstr(f, "sse4_2"));
	assert_null(strstr(f, "avx2"));
	free(f);
}

static void test_level_names(void **state)
{
	assert_int_equal(cpu_level_parse("x86-64-v3"), CPU_X86_64_V3);
	assert_int_equal(cpu_level_parse("host"), CPU_HOST);
	assert_int_equal(cpu_level_parse("x86-64-v5"), -1);
	assert_string_equal(cpu_level_name(CPU_X86_64), "x86-64");
	for (int l = 0; l < CPU_LEVELS; l++)
		assert_non_null(strstr(cpu_level_list(), cpu_level_name(l)));
}

/* The machine running the tests: read through the instructions. */
static void test_this_host(void **state)
{
	struct cpu_host h;
	cpu_host_read(&h);
	assert_int_equal(strlen(h.vendor), 12);
	assert_true(cpu_host_level(&h) >= CPU_X86_64);
	assert_null(cpu_host_lacks(&h, cpu_host_level(&h)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_answers_on_amd_and_intel),
		cmocka_unit_test(test_one_intel_identity),
		cmocka_unit_test(test_features_of_each_level),
		cmocka_unit_test(test_cache_leaves),
		cmocka_unit_test(test_xsave_components),
		cmocka_unit_test(test_xgetbv),
		cmocka_unit_test(test_what_a_host_lacks),
		cmocka_unit_test(test_level_names),
		cmocka_unit_test(test_this_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
