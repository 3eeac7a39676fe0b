/* The code cache's hand-encoded glue, read back with the decoder: each
 * sequence is the instructions it claims to be, an indirect branch's operand
 * becomes the matching load into RAX (RIP-relative ones still naming the
 * same address), and exit jumps have their rel32 4-byte aligned. */
#include "cache.h"
#include "cache_emit.h"
#include "prof/branch.h"
#include "prof/classes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define BASE 0x7f0000001000ull

/* Decodes e's bytes into "insn; insn; ..." (Intel syntax). */
static void disassemble(const struct emit *e, char *out, size_t outlen)
{
	struct classifier *c = classifier_new();
	size_t at = 0;
	out[0] = 0;
	while (at < e->n) {
		struct insn_info info;
		char text[128];
		assert_true(classifier_decode(c, e->b + at, e->n - at, e->base + at, &info));
		assert_true(classifier_format(c, e->b + at, e->n - at, e->base + at, text, sizeof text));
		size_t used = strlen(out);
		snprintf(out + used, outlen - used, "%s%s", used ? "; " : "", text);
		at += info.len;
	}
	classifier_free(c);
}

static void test_count_saves_live_flags(void **state)
{
	(void)state;
	struct emit e;
	char text[1024];
	emit_init(&e, BASE);
	emit_count(&e, CD_COUNTERS + 8, 5, true);
	disassemble(&e, text, sizeof text);
	assert_string_equal(text, "lea rsp, [rsp - 0x80]; pushfq; add qword ptr gs:[0], 5; "
				  "inc qword ptr gs:[0x102008]; popfq; lea rsp, [rsp + 0x80]");
	emit_free(&e);
	emit_init(&e, BASE);
	emit_count(&e, CD_COUNTERS, 300, false);
	disassemble(&e, text, sizeof text);
	assert_string_equal(text, "add qword ptr gs:[0], 0x12c; inc qword ptr gs:[0x102000]");
	emit_free(&e);
}

struct operand_case {
	const char *what;
	uint8_t code[8];
	size_t len;
	const char *expect;   /* NULL: refused */
};

static void test_indirect_operand_becomes_a_load(void **state)
{
	(void)state;
	static const struct operand_case cases[] = {
		{ "call rax", { 0xff, 0xd0 }, 2, "mov rax, rax" },
		{ "jmp r11", { 0x41, 0xff, 0xe3 }, 3, "mov rax, r11" },
		{ "call [rbx+8]", { 0xff, 0x53, 0x08 }, 3, "mov rax, qword ptr [rbx + 8]" },
		{ "notrack jmp rax", { 0x3e, 0xff, 0xe0 }, 3, "mov rax, rax" },
		{ "jmp [rsp+r12*8]", { 0x42, 0xff, 0x24, 0xe4 }, 4, "mov rax, qword ptr [rsp + r12*8]" },
		{ "call fs:[0x28]", { 0x64, 0xff, 0x14, 0x25, 0x28, 0, 0, 0 }, 8,
		  "mov rax, qword ptr fs:[0x28]" },
		{ "lcall [rax] (far)", { 0xff, 0x18 }, 2, NULL },
		{ "16-bit jmp", { 0x66, 0xff, 0xe0 }, 3, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct emit e;
		char text[256];
		emit_init(&e, BASE);
		bool ok = emit_load_operand(&e, cases[i].code, cases[i].len, 0x401000);
		if (!cases[i].expect) {
			assert_false(ok);
		} else {
			assert_true(ok);
			disassemble(&e, text, sizeof text);
			if (strcmp(text, cases[i].expect) != 0)
				fail_msg("%s: got '%s', want '%s'", cases[i].what, text, cases[i].expect);
		}
		emit_free(&e);
	}
}

/* call [rip+0x10] at 0x401000 (6 bytes) reads 0x401016, wherever its load goes. */
static void test_rip_relative_operand_keeps_its_address(void **state)
{
	(void)state;
	const uint8_t call_mem[] = { 0xff, 0x15, 0x10, 0, 0, 0 };
	uint64_t places[] = { 0x401000 + 0x100000, 0x401000 - 0x200000 };
	for (size_t i = 0; i < 2; i++) {
		struct emit e;
		emit_init(&e, places[i]);
		assert_true(emit_load_operand(&e, call_mem, sizeof call_mem, 0x401000));
		assert_int_equal(e.n, 7); /* REX.W added */
		int32_t disp;
		memcpy(&disp, e.b + 3, 4);
		assert_int_equal(places[i] + 7 + (uint64_t)(int64_t)disp, 0x401016);
		emit_free(&e);
	}
	struct emit far;
	emit_init(&far, 0x7f0000000000ull);
	assert_false(emit_load_operand(&far, call_mem, sizeof call_mem, 0x401000));
	emit_free(&far);
}

static void test_exit_fields_are_aligned(void **state)
{
	(void)state;
	for (unsigned start = 0; start < 8; start++) {
		struct emit e;
		emit_init(&e, BASE + start);
		uint64_t jmp = emit_jmp(&e, BASE + 0x1000);
		uint64_t jcc = emit_jcc(&e, COND_NE, BASE + 0x2000);
		assert_int_equal(jmp % 4, 0);
		assert_int_equal(jcc % 4, 0);
		char text[256];
		disassemble(&e, text, sizeof text);
		assert_non_null(strstr(text, "jmp 0x7f0000002000"));
		assert_non_null(strstr(text, "jne 0x7f0000003000"));
		emit_free(&e);
	}
}

/* The lookup decodes whole, probes from `probe` and ends in its int3. */
static void test_lookup_is_whole(void **state)
{
	(void)state;
	struct emit e;
	uint64_t probe, miss;
	char text[4096];
	emit_init(&e, BASE);
	emit_lookup(&e, BASE + CR_TABLE, &probe, &miss);
	disassemble(&e, text, sizeof text);
	assert_non_null(strstr(text, "lahf; seto al"));
	assert_non_null(strstr(text, "add al, 0x7f; sahf"));
	assert_non_null(strstr(text, "jmp qword ptr gs:[0x28]"));
	assert_true(probe > BASE && probe < miss);
	assert_int_equal(miss, BASE + e.n - 1);
	assert_int_equal(e.b[e.n - 1], 0xcc);
	emit_free(&e);
}

/* A REP counts RCX before minus after, plus one from zero, flags saved. */
static void test_rep_counts_with_flags_saved(void **state)
{
	(void)state;
	const uint8_t rep_movsb[] = { 0xf3, 0xa4 };
	struct emit e;
	char text[1024];
	emit_init(&e, BASE);
	emit_rep(&e, rep_movsb, sizeof rep_movsb, false, CD_COUNTERS);
	disassemble(&e, text, sizeof text);
	assert_string_equal(text, "mov qword ptr gs:[0x30], rcx; rep movsb byte ptr [rdi], byte ptr [rsi]; "
				  "lea rsp, [rsp - 0x80]; pushfq; mov qword ptr gs:[0x10], rax; "
				  "mov rax, qword ptr gs:[0x30]; sub rax, rcx; cmp qword ptr gs:[0x30], 1; "
				  "adc rax, 0; add qword ptr gs:[0x102000], rax; add qword ptr gs:[0], rax; "
				  "mov rax, qword ptr gs:[0x10]; popfq; lea rsp, [rsp + 0x80]");
	emit_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_saves_live_flags),
		cmocka_unit_test(test_indirect_operand_becomes_a_load),
		cmocka_unit_test(test_rip_relative_operand_keeps_its_address),
		cmocka_unit_test(test_exit_fields_are_aligned),
		cmocka_unit_test(test_lookup_is_whole),
		cmocka_unit_test(test_rep_counts_with_flags_saved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
