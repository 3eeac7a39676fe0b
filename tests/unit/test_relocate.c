/* Relocation of copied instructions, checked byte for byte: RIP-relative
 * operands (with an immediate after the displacement), relative branches,
 * REP string instructions (nothing to change), and what must be refused. */
#include "relocate.h"
#include "prof/classes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

struct reloc_case {
	const char *what;
	uint8_t code[15];
	uint8_t len;
	uint64_t from, to;
	enum relocate_result result;
	uint8_t expect[15];
};

#define FROM 0x401000ull
#define NEAR 0x7000ull + FROM       /* the copy lies 0x7000 bytes higher */
#define FAR 0x7f0000000000ull       /* beyond +-2 GB */

static const struct reloc_case cases[] = {
	{ "lea rax, [rip+0x10]", { 0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00 }, 7, FROM, NEAR,
	  RELOCATE_OK, { 0x48, 0x8d, 0x05, 0x10, 0x90, 0xff, 0xff } },
	{ "mov eax, [rip-0x20]", { 0x8b, 0x05, 0xe0, 0xff, 0xff, 0xff }, 6, FROM, NEAR,
	  RELOCATE_OK, { 0x8b, 0x05, 0xe0, 0x8f, 0xff, 0xff } },
	/* cmp byte [rip+0x100], 5: the immediate follows the displacement. */
	{ "cmp byte ptr [rip+0x100], 5", { 0x80, 0x3d, 0x00, 0x01, 0x00, 0x00, 0x05 }, 7, FROM,
	  NEAR, RELOCATE_OK, { 0x80, 0x3d, 0x00, 0x91, 0xff, 0xff, 0x05 } },
	/* Moving down makes the displacement grow. */
	{ "movsd xmm0, [rip+0x8]", { 0xf2, 0x0f, 0x10, 0x05, 0x08, 0x00, 0x00, 0x00 }, 8, NEAR,
	  FROM, RELOCATE_OK, { 0xf2, 0x0f, 0x10, 0x05, 0x08, 0x70, 0x00, 0x00 } },
	{ "jmp rel32", { 0xe9, 0x00, 0x01, 0x00, 0x00 }, 5, FROM, NEAR, RELOCATE_OK,
	  { 0xe9, 0x00, 0x91, 0xff, 0xff } },
	{ "call rel32", { 0xe8, 0xfb, 0xff, 0xff, 0xff }, 5, FROM, NEAR, RELOCATE_OK,
	  { 0xe8, 0xfb, 0x8f, 0xff, 0xff } },
	{ "jne rel32", { 0x0f, 0x85, 0x10, 0x00, 0x00, 0x00 }, 6, FROM, NEAR, RELOCATE_OK,
	  { 0x0f, 0x85, 0x10, 0x90, 0xff, 0xff } },
	{ "jmp rel8, moved 4 bytes", { 0xeb, 0x10 }, 2, FROM, FROM + 4, RELOCATE_OK, { 0xeb, 0x0c } },
	{ "jmp rel8, moved too far", { 0xeb, 0x10 }, 2, FROM, NEAR, RELOCATE_OUT_OF_RANGE, { 0 } },
	{ "lea beyond 2 GB", { 0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00 }, 7, FROM, FAR,
	  RELOCATE_OUT_OF_RANGE, { 0 } },
	{ "rep movsb", { 0xf3, 0xa4 }, 2, FROM, FAR, RELOCATE_OK, { 0xf3, 0xa4 } },
	{ "rep stosq", { 0xf3, 0x48, 0xab }, 3, FROM, FAR, RELOCATE_OK, { 0xf3, 0x48, 0xab } },
	{ "addr32 rep stosb", { 0x67, 0xf3, 0xaa }, 3, FROM, FAR, RELOCATE_OK, { 0x67, 0xf3, 0xaa } },
	{ "repne scasb", { 0xf2, 0xae }, 2, FROM, FAR, RELOCATE_OK, { 0xf2, 0xae } },
	{ "rep movsq with fs", { 0x64, 0xf3, 0x48, 0xa5 }, 4, FROM, FAR, RELOCATE_OK,
	  { 0x64, 0xf3, 0x48, 0xa5 } },
	{ "add rax, rbx", { 0x48, 0x01, 0xd8 }, 3, FROM, FAR, RELOCATE_OK, { 0x48, 0x01, 0xd8 } },
	{ "syscall", { 0x0f, 0x05 }, 2, FROM, NEAR, RELOCATE_REFUSED, { 0 } },
	{ "int 0x80", { 0xcd, 0x80 }, 2, FROM, NEAR, RELOCATE_REFUSED, { 0 } },
};

static void test_relocation_table(void **state)
{
	struct classifier *c = classifier_new();
	assert_non_null(c);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct reloc_case *k = &cases[i];
		struct insn_encoding enc;
		uint8_t out[15];
		if (!classifier_encoding(c, k->code, k->len, k->from, &enc))
			fail_msg("%s: does not decode", k->what);
		if (enc.len != k->len)
			fail_msg("%s: length %u, expected %u", k->what, enc.len, k->len);
		enum relocate_result r = relocate_insn(k->code, &enc, k->from, k->to, out);
		if (r != k->result)
			fail_msg("%s: result %d, expected %d", k->what, r, k->result);
		if (r == RELOCATE_OK && memcmp(out, k->expect, k->len) != 0)
			fail_msg("%s: bytes differ from the expected copy", k->what);
	}
	classifier_free(c);
}

/* The copy reaches the same absolute address from its new place. */
static void test_same_target(void **state)
{
	struct classifier *c = classifier_new();
	const uint8_t lea[] = { 0x48, 0x8d, 0x05, 0x34, 0x12, 0x00, 0x00 };
	struct insn_encoding enc;
	assert_true(classifier_encoding(c, lea, sizeof lea, FROM, &enc));
	assert_int_equal(enc.rip_disp_offset, 3);
	for (uint64_t to = FROM - 0x100000; to < FROM + 0x100000; to += 0x1357) {
		uint8_t out[7];
		assert_int_equal(relocate_insn(lea, &enc, FROM, to, out), RELOCATE_OK);
		int32_t disp;
		memcpy(&disp, out + 3, 4);
		assert_int_equal(to + 7 + (int64_t)disp, FROM + 7 + 0x1234);
	}
	classifier_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relocation_table),
		cmocka_unit_test(test_same_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
