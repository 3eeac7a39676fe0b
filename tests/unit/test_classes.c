/* Opcode classes: one hand-assembled instruction per class, plus the flags
 * the tracer relies on (is_rep, is_pushf, is_cpuid, is_syscall). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "prof/classes.h"

#include <stdio.h>
#include <string.h>

struct expect {
	const char *what;
	uint8_t bytes[15];
	uint8_t len;
	enum insn_class cls;
	unsigned flags; /* the insn_info flags expected to be true */
};

enum { REP = 1, PUSHF = 2, CPUID = 4, SYSCALL = 8 };

#define B(...) { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ })

static const struct expect cases[] = {
	/* control flow */
	{ "jne rel8",            B(0x75, 0xfe),                   CLASS_BRANCH, 0 },
	{ "jmp rel32",           B(0xe9, 0x00, 0x00, 0x00, 0x00), CLASS_BRANCH, 0 },
	{ "jmp rel8",            B(0xeb, 0x00),                   CLASS_BRANCH, 0 },
	{ "jmp rax",             B(0xff, 0xe0),                   CLASS_BRANCH, 0 },
	{ "jrcxz rel8",          B(0xe3, 0xfe),                   CLASS_BRANCH, 0 },
	{ "call rel32",          B(0xe8, 0x00, 0x00, 0x00, 0x00), CLASS_CALL, 0 },
	{ "call [rax]",          B(0xff, 0x10),                   CLASS_CALL, 0 },
	{ "ret",                 B(0xc3),                         CLASS_RET, 0 },
	{ "ret imm16",           B(0xc2, 0x08, 0x00),             CLASS_RET, 0 },
	/* system calls */
	{ "syscall",             B(0x0f, 0x05),                   CLASS_SYSCALL, SYSCALL },
	{ "int 0x80",            B(0xcd, 0x80),                   CLASS_SYSCALL, 0 },
	/* string ops: one count per iteration when REP-prefixed */
	{ "rep movsb",           B(0xf3, 0xa4),                   CLASS_STRING, REP },
	{ "movsb",               B(0xa4),                         CLASS_STRING, 0 },
	{ "rep stosq",           B(0xf3, 0x48, 0xab),             CLASS_STRING, REP },
	{ "repne scasb",         B(0xf2, 0xae),                   CLASS_STRING, REP },
	/* vector and x87 */
	{ "paddd xmm0, xmm1",    B(0x66, 0x0f, 0xfe, 0xc1),       CLASS_SIMD, 0 },
	{ "vaddps ymm0,ymm0,ymm1", B(0xc5, 0xfc, 0x58, 0xc1),     CLASS_SIMD, 0 },
	{ "movdqu xmm0, [rdi]",  B(0xf3, 0x0f, 0x6f, 0x07),       CLASS_SIMD, 0 },
	{ "fld st0",             B(0xd9, 0xc0),                   CLASS_FP, 0 },
	{ "faddp st1",           B(0xde, 0xc1),                   CLASS_FP, 0 },
	/* memory */
	{ "mov rax, [rdi]",      B(0x48, 0x8b, 0x07),             CLASS_LOAD, 0 },
	{ "mov [rdi], rax",      B(0x48, 0x89, 0x07),             CLASS_STORE, 0 },
	{ "add [rdi], rax",      B(0x48, 0x01, 0x07),             CLASS_STORE, 0 }, /* read-modify-write */
	{ "push rax",            B(0x50),                         CLASS_STORE, 0 },
	{ "push imm8",           B(0x6a, 0x03),                   CLASS_STORE, 0 },
	{ "pop rax",             B(0x58),                         CLASS_LOAD, 0 },
	{ "pushfq",              B(0x9c),                         CLASS_STORE, PUSHF },
	/* integer */
	{ "add rax, rbx",        B(0x48, 0x01, 0xd8),             CLASS_ALU, 0 },
	{ "mov rax, rbx",        B(0x48, 0x89, 0xd8),             CLASS_ALU, 0 },
	{ "lea rax, [rsp]",      B(0x48, 0x8d, 0x04, 0x24),       CLASS_ALU, 0 }, /* address only, no read */
	/* nops */
	{ "nop",                 B(0x90),                         CLASS_NOP, 0 },
	{ "nop dword [rax+rax]", B(0x0f, 0x1f, 0x44, 0x00, 0x00), CLASS_NOP, 0 },
	{ "endbr64",             B(0xf3, 0x0f, 0x1e, 0xfa),       CLASS_NOP, 0 },
	/* other */
	{ "cpuid",               B(0x0f, 0xa2),                   CLASS_OTHER, CPUID },
	{ "rdtsc",               B(0x0f, 0x31),                   CLASS_OTHER, 0 },
	/* capstone 4.0.2 puts LOOP in no jump group and marks the memory operand
	 * of CMPXCHG and of MOVBE m,r as read only: classes.c corrects both. */
	{ "loop rel8",             B(0xe2, 0xfe),                   CLASS_BRANCH, 0 },
	{ "loope rel8",            B(0xe1, 0xfe),                   CLASS_BRANCH, 0 },
	{ "loopne rel8",           B(0xe0, 0xfe),                   CLASS_BRANCH, 0 },
	{ "lock cmpxchg [rdi],rcx", B(0xf0, 0x48, 0x0f, 0xb1, 0x0f), CLASS_STORE, 0 },
	{ "cmpxchg16b [rdi]",      B(0x48, 0x0f, 0xc7, 0x0f),       CLASS_STORE, 0 },
	{ "movbe [rdi], eax",      B(0x0f, 0x38, 0xf1, 0x07),       CLASS_STORE, 0 },
	/* Decisions (README, "Opcode classes"): cache-line flushes and write-backs
	 * are `other` like the fences; crc32 is integer arithmetic on general
	 * registers (a load when it reads memory), not simd; the MXCSR control word
	 * belongs to the SSE unit as the x87 control word belongs to fp. */
	{ "clflush [rdi]",         B(0x0f, 0xae, 0x3f),             CLASS_OTHER, 0 },
	{ "clflushopt [rdi]",      B(0x66, 0x0f, 0xae, 0x3f),       CLASS_OTHER, 0 },
	{ "clwb [rdi]",            B(0x66, 0x0f, 0xae, 0x37),       CLASS_OTHER, 0 },
	{ "crc32 eax, ecx",        B(0xf2, 0x0f, 0x38, 0xf1, 0xc1), CLASS_ALU, 0 },
	{ "crc32 rax, qword [rdi]", B(0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x07), CLASS_LOAD, 0 },
	{ "crc32 eax, byte [rdi]", B(0xf2, 0x0f, 0x38, 0xf0, 0x07), CLASS_LOAD, 0 },
	{ "stmxcsr [rdi]",         B(0x0f, 0xae, 0x1f),             CLASS_SIMD, 0 },
	{ "ldmxcsr [rdi]",         B(0x0f, 0xae, 0x17),             CLASS_SIMD, 0 },
	{ "fnstcw [rdi]",          B(0xd9, 0x3f),                   CLASS_FP, 0 },
};


static int setup(void **state)
{
	*state = classifier_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	classifier_free(*state);
	return 0;
}

/* Decodes each case with trailing garbage after it (so the length must come
 * from the instruction, not from the buffer size); returns the mismatches. */
static int check_cases(struct classifier *c, const struct expect *cs, size_t n)
{
	int failures = 0;
	for (size_t i = 0; i < n; i++) {
		const struct expect *e = &cs[i];
		uint8_t buf[32];
		memset(buf, 0x90, sizeof buf);
		memcpy(buf, e->bytes, e->len);
		struct insn_info info;
		memset(&info, 0xff, sizeof info);
		if (!classifier_decode(c, buf, sizeof buf, 0x401000, &info)) {
			print_error("%s: does not decode\n", e->what);
			failures++;
			continue;
		}
		bool rep = e->flags & REP, pushf = e->flags & PUSHF;
		bool cpuid = e->flags & CPUID, syscall = e->flags & SYSCALL;
		if (info.len != e->len || info.cls != e->cls || info.is_rep != rep ||
		    info.is_pushf != pushf || info.is_cpuid != cpuid ||
		    info.is_syscall != syscall) {
			print_error("%s: got len %u class %s rep %d pushf %d cpuid %d syscall %d; "
				    "want len %u class %s rep %d pushf %d cpuid %d syscall %d\n",
				    e->what, info.len, class_name(info.cls), info.is_rep,
				    info.is_pushf, info.is_cpuid, info.is_syscall, e->len,
				    class_name(e->cls), rep, pushf, cpuid, syscall);
			failures++;
		}
	}
	return failures;
}

static void test_decode_table(void **state)
{
	assert_int_equal(check_cases(*state, cases, sizeof cases / sizeof *cases), 0);
}

/* capstone 4 marks the memory operand of 14 of the 16 SETcc and of every
 * ROL/ROR/RCL/RCR as read only. Every condition and every rotate encoding
 * (by 1, by CL, by imm8; byte, word, dword, qword), to memory and to a
 * register, against the shifts that capstone gets right. */
static size_t setcc_and_rotate_cases(struct expect *out)
{
	static const char *const cond[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
					      "s", "ns", "p", "np", "l", "ge", "le", "g" };
	static const char *const grp2[8] = { "rol", "ror", "rcl", "rcr",
					     "shl", "shr", "sal", "sar" };
	static const uint8_t shift_ops[] = { 0xd0, 0xd1, 0xd2, 0xd3, 0xc0, 0xc1 };
	static const uint8_t prefixes[] = { 0, 0x66, 0x48 }; /* dword, word, qword */
	static char names[1024][40];
	size_t n = 0;
	for (int cc = 0; cc < 16; cc++) {
		for (int to_mem = 0; to_mem < 2; to_mem++) {
			struct expect *e = &out[n];
			snprintf(names[n], sizeof names[n], "set%s %s", cond[cc],
				 to_mem ? "byte [rdi]" : "al");
			*e = (struct expect){ names[n], { 0x0f, (uint8_t)(0x90 + cc),
					      to_mem ? 0x07 : 0xc0 }, 3,
					      to_mem ? CLASS_STORE : CLASS_ALU, 0 };
			n++;
		}
	}
	for (size_t o = 0; o < sizeof shift_ops; o++) {
		uint8_t op = shift_ops[o];
		bool byte = !(op & 1), imm = op == 0xc0 || op == 0xc1;
		for (size_t p = 0; p < (byte ? 1 : sizeof prefixes); p++) {
			for (int r = 0; r < 8; r++) {
				for (int to_mem = 0; to_mem < 2; to_mem++) {
					struct expect *e = &out[n];
					uint8_t len = 0;
					if (prefixes[p])
						e->bytes[len++] = prefixes[p];
					e->bytes[len++] = op;
					e->bytes[len++] = (uint8_t)((to_mem ? 0x07 : 0xc0) | r << 3);
					if (imm)
						e->bytes[len++] = 3;
					e->len = len;
					e->cls = to_mem ? CLASS_STORE : CLASS_ALU;
					e->flags = 0;
					snprintf(names[n], sizeof names[n], "%s %02x %02x%s%s",
						 grp2[r], prefixes[p], op,
						 to_mem ? " [rdi]" : " reg",
						 op >= 0xd2 && op <= 0xd3 ? ", cl" : "");
					e->what = names[n];
					n++;
				}
			}
		}
	}
	return n;
}

static void test_setcc_and_rotates_to_memory_are_stores(void **state)
{
	static struct expect generated[1024];
	size_t n = setcc_and_rotate_cases(generated);
	assert_true(n > 32 + 4 * 2 * 6);
	assert_int_equal(check_cases(*state, generated, n), 0);
}


struct flag_case {
	const char *what;
	uint8_t bytes[15];
	uint8_t len;
	uint8_t must_read;      /* flags it reads: all must be reported */
	uint8_t may_write;      /* flags reported as always written must be among these */
};

/* Every instruction that reads a flag must say so, whatever capstone 4
 * leaves out: the code cache's counter update clobbers what is not read. */
static const struct flag_case flag_cases[] = {
	{ "adc rax, rbx",      B(0x48, 0x11, 0xd8),             FLAG_CF, FLAGS_STATUS },
	{ "sbb eax, eax",      B(0x19, 0xc0),                   FLAG_CF, FLAGS_STATUS },
	{ "sbb [rdi], al",     B(0x18, 0x07),                   FLAG_CF, FLAGS_STATUS },
	{ "rcl rax, 1",        B(0x48, 0xd1, 0xd0),             FLAG_CF, 0 },
	{ "rcr rax, cl",       B(0x48, 0xd3, 0xd8),             FLAG_CF, 0 },
	{ "cmc",               B(0xf5),                         FLAG_CF, FLAG_CF },
	{ "adcx rax, rbx",     B(0x66, 0x48, 0x0f, 0x38, 0xf6, 0xc3), FLAG_CF, FLAG_CF },
	{ "adox rax, rbx",     B(0xf3, 0x48, 0x0f, 0x38, 0xf6, 0xc3), FLAG_OF, FLAG_OF },
	{ "setb al",           B(0x0f, 0x92, 0xc0),             FLAG_CF, 0 },
	{ "cmovo rax, rbx",    B(0x48, 0x0f, 0x40, 0xc3),       FLAG_OF, 0 },
	{ "jp rel8",           B(0x7a, 0x00),                   FLAG_PF, 0 },
	{ "lahf",              B(0x9f),                         FLAGS_STATUS, 0 },
	{ "pushfq",            B(0x9c),                         FLAGS_STATUS, 0 },
	{ "inc rax",           B(0x48, 0xff, 0xc0),             0, FLAGS_STATUS & ~FLAG_CF },
	{ "shl rax, cl",       B(0x48, 0xd3, 0xe0),             0, 0 },
	{ "into-like ud2",     B(0x0f, 0x0b),                   0, 0 },
};

static void test_flags_read_never_missed(void **state)
{
	for (size_t i = 0; i < sizeof flag_cases / sizeof *flag_cases; i++) {
		const struct flag_case *f = &flag_cases[i];
		struct insn_info info;
		assert_true(classifier_decode(*state, f->bytes, f->len, 0x1000, &info));
		if ((info.flags_read & f->must_read) != f->must_read)
			fail_msg("%s: reads %#x, reported %#x", f->what, f->must_read, info.flags_read);
		if (info.flags_written & ~f->may_write)
			fail_msg("%s: reported as writing %#x, may write only %#x", f->what,
				 info.flags_written, f->may_write);
	}
	/* Plain arithmetic still frees the cache from saving the flags. */
	struct insn_info add;
	static const uint8_t add_rax[] = { 0x48, 0x01, 0xd8 };
	assert_true(classifier_decode(*state, add_rax, sizeof add_rax, 0x1000, &add));
	assert_int_equal(add.flags_written, FLAGS_STATUS);
	assert_int_equal(add.flags_read, 0);
}

static void test_every_class_covered(void **state)
{
	bool seen[CLASS_COUNT] = { false };
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		seen[cases[i].cls] = true;
	for (unsigned k = 0; k < CLASS_COUNT; k++)
		if (!seen[k])
			fail_msg("class %s has no decode case", class_name(k));
}

static void test_invalid_bytes(void **state)
{
	struct classifier *c = *state;
	struct insn_info info;
	/* 0x06 (push es) does not exist in 64-bit mode. */
	const uint8_t bad[] = { 0x06, 0x06, 0x06, 0x06 };
	assert_false(classifier_decode(c, bad, sizeof bad, 0, &info));
	assert_int_equal(info.len, 0);
	/* A truncated instruction: call rel32 with only two bytes of its offset. */
	const uint8_t truncated[] = { 0xe8, 0x00, 0x00 };
	assert_false(classifier_decode(c, truncated, sizeof truncated, 0, &info));
	/* No bytes at all. */
	assert_false(classifier_decode(c, bad, 0, 0, &info));
	assert_int_equal(info.cls, CLASS_OTHER);
	assert_false(classifier_decode(c, bad, sizeof bad, 0, &info));
	assert_int_equal(info.cls, CLASS_OTHER);
}

/* capstone 4 cannot decode AVX-512 instructions glibc's evex string functions
 * run (vptestnmb k0, ymm19, ymm19 from __strchrnul_evex; kmovd; vpcmpeqb into
 * a mask): the Zydis fallback gives their length and a text form, and the
 * EVEX/VEX prefix makes them simd. */
static void test_avx512_capstone_misses(void **state)
{
	static const struct {
		uint8_t code[8];
		uint8_t len;
		const char *text;
	} cases[] = {
		{ { 0x62, 0xb2, 0x66, 0x20, 0x26, 0xc3, 0x90, 0x90 }, 6, "vptestnmb k0, ymm19, ymm19" },
		{ { 0xc5, 0xfb, 0x93, 0xc0, 0x90, 0x90, 0x90, 0x90 }, 4, "kmovd eax, k0" },
		{ { 0x62, 0xf3, 0x7d, 0x20, 0x3f, 0x07, 0x00, 0x90 }, 7, "vpcmpb k0, ymm16, [rdi], 0x00" },
	};
	struct insn_info info;
	char buf[96];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		assert_true(classifier_decode(*state, cases[i].code, 8, 0x1000, &info));
		assert_int_equal(info.len, cases[i].len);
		assert_int_equal(info.cls, CLASS_SIMD);
		assert_false(info.is_rep);
		assert_true(classifier_format(*state, cases[i].code, 8, 0x1000, buf, sizeof buf));
		assert_string_equal(buf, cases[i].text);
	}
	/* Cut short, it decodes in neither. */
	assert_false(classifier_decode(*state, cases[2].code, 5, 0x1000, &info));
	assert_int_equal(info.len, 0);
	assert_int_equal(info.cls, CLASS_SIMD);
}

/* The flags the cache's counter update must keep: those read before
 * written. capstone 4 reports no read for the carry users; undefined flags
 * may keep their value (on AMD after imul and bt), except the AF of the
 * logical instructions. Where capstone and Zydis disagree (Zydis 4.0 says
 * sbb leaves AF undefined, the manuals that it sets it) the flag may be
 * counted as written or not: `unsure`. */
static void test_flags(void **state)
{
	enum { CF = FLAG_CF, ALL = FLAGS_STATUS };
	static const struct {
		const char *what;
		uint8_t bytes[8];
		uint8_t read, written, unsure;
	} cases[] = {
		{ "adc eax, ebx", { 0x11, 0xd8 }, CF, ALL, 0 },
		{ "sbb eax, eax", { 0x19, 0xc0 }, CF, ALL, FLAG_AF },
		{ "rcl eax, 1", { 0xd1, 0xd0 }, CF, 0, 0 },
		{ "rcr eax, cl", { 0xd3, 0xd8 }, CF, 0, 0 },
		{ "cmc", { 0xf5 }, CF, CF, 0 },
		{ "adcx r9, rax", { 0x66, 0x4c, 0x0f, 0x38, 0xf6, 0xc8 }, CF, CF, 0 },
		{ "adox r9, rax", { 0xf3, 0x4c, 0x0f, 0x38, 0xf6, 0xc8 }, FLAG_OF, FLAG_OF, 0 },
		{ "imul rax, rbx", { 0x48, 0x0f, 0xaf, 0xc3 }, 0, CF | FLAG_OF, 0 },
		{ "mul rbx", { 0x48, 0xf7, 0xe3 }, 0, CF | FLAG_OF, 0 },
		{ "bt eax, ebx", { 0x0f, 0xa3, 0xd8 }, 0, CF, 0 },
		{ "test eax, ebx", { 0x85, 0xd8 }, 0, ALL, 0 },
		{ "and eax, ebx", { 0x21, 0xd8 }, 0, ALL, 0 },
		{ "cmp eax, ebx", { 0x39, 0xd8 }, 0, ALL, 0 },
		{ "jb", { 0x72, 0x00 }, CF, 0, 0 },
	};
	struct insn_info info;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		assert_true(classifier_decode(*state, cases[i].bytes, 8, 0x1000, &info));
		uint8_t sure = (uint8_t)~cases[i].unsure;
		if (info.flags_read != cases[i].read ||
		    (info.flags_written & sure) != (cases[i].written & sure))
			fail_msg("%s: reads %#x writes %#x", cases[i].what, info.flags_read,
				 info.flags_written);
	}
}

static void test_format(void **state)
{
	struct classifier *c = *state;
	const uint8_t add[] = { 0x48, 0x01, 0xd8 };
	char buf[64];
	assert_true(classifier_format(c, add, sizeof add, 0, buf, sizeof buf));
	assert_string_equal(buf, "add rax, rbx");
	const uint8_t ret[] = { 0xc3 };
	assert_true(classifier_format(c, ret, sizeof ret, 0, buf, sizeof buf));
	assert_string_equal(buf, "ret");
}

static void test_class_names_round_trip(void **state)
{
	/* The names are user-visible (report columns, --by class, JSON keys). */
	static const char *const names[] = { "branch", "call", "ret", "syscall", "string",
		"simd", "fp", "load", "store", "alu", "nop", "other" };
	assert_int_equal(sizeof names / sizeof *names, CLASS_COUNT);
	for (unsigned k = 0; k < CLASS_COUNT; k++)
		assert_string_equal(class_name(k), names[k]);

	for (unsigned k = 0; k < CLASS_COUNT; k++) {
		const char *name = class_name(k);
		assert_non_null(name);
		assert_true(strlen(name) > 0);
		assert_string_not_equal(name, "?");
		assert_int_equal(class_from_name(name), (int)k);
		for (unsigned j = 0; j < k; j++)
			assert_string_not_equal(class_name(j), name);
	}
	assert_string_equal(class_name(CLASS_COUNT), "?");
	assert_int_equal(class_from_name("bogus"), -1);
	assert_int_equal(class_from_name(""), -1);
	assert_int_equal(class_from_name("Branch"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_setcc_and_rotates_to_memory_are_stores),
		cmocka_unit_test(test_every_class_covered),
		cmocka_unit_test(test_invalid_bytes),
		cmocka_unit_test(test_avx512_capstone_misses),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_class_names_round_trip),
		cmocka_unit_test(test_flags_read_never_missed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
