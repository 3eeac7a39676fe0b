/* Block mode's branch emulator: each control transfer decoded by capstone
 * and applied to a register file, as block mode does at a breakpoint. */
#include "emulate.h"
#include "prof/branch.h"
#include "prof/classes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define PC 0x401000ull

/* Memory the emulator may read: one table of 8-byte words. */
struct memory {
	uint64_t addr[4], value[4];
};

static bool read_mem(void *ctx, uint64_t addr, uint64_t *value)
{
	const struct memory *m = ctx;
	for (int i = 0; i < 4; i++)
		if (m->addr[i] == addr) {
			*value = m->value[i];
			return true;
		}
	return false;
}

static struct emu_effect emulate(const uint8_t *code, size_t len, const struct user_regs_struct *r,
				 struct memory *m, bool *ok)
{
	struct classifier *c = classifier_new();
	struct insn_info info;
	struct branch br;
	struct emu_effect e;
	assert_true(classifier_decode_branch(c, code, len, PC, &info, &br));
	assert_int_equal(br.len, len);
	*ok = emulate_branch(&br, PC, r, read_mem, m, &e);
	classifier_free(c);
	return e;
}

static void test_conditional(void **state)
{
	struct user_regs_struct r = { 0 };
	struct memory m = { { 0 }, { 0 } };
	bool ok;
	const uint8_t je[] = { 0x74, 0x10 };  /* je +0x10 */
	r.eflags = 0x40;                      /* ZF */
	struct emu_effect e = emulate(je, sizeof je, &r, &m, &ok);
	assert_true(ok && e.taken);
	assert_int_equal(e.rip, PC + 2 + 0x10);
	r.eflags = 0;
	e = emulate(je, sizeof je, &r, &m, &ok);
	assert_true(ok && !e.taken);
	assert_int_equal(e.rip, PC + 2);
	const uint8_t jl[] = { 0x0f, 0x8c, 0x00, 0x01, 0x00, 0x00 }; /* jl +0x100: SF != OF */
	r.eflags = 0x80;
	e = emulate(jl, sizeof jl, &r, &m, &ok);
	assert_true(ok && e.taken);
	assert_int_equal(e.rip, PC + 6 + 0x100);
	r.eflags = 0x880;                     /* SF and OF */
	e = emulate(jl, sizeof jl, &r, &m, &ok);
	assert_false(e.taken);
}

static void test_loop_and_jrcxz(void **state)
{
	struct user_regs_struct r = { 0 };
	struct memory m = { { 0 }, { 0 } };
	bool ok;
	const uint8_t loop[] = { 0xe2, 0xfe };  /* loop . */
	r.rcx = 2;
	struct emu_effect e = emulate(loop, sizeof loop, &r, &m, &ok);
	assert_true(ok && e.taken && e.set_rcx);
	assert_int_equal(e.rcx, 1);
	assert_int_equal(e.rip, PC);
	r.rcx = 1;
	e = emulate(loop, sizeof loop, &r, &m, &ok);
	assert_false(e.taken);
	assert_int_equal(e.rcx, 0);
	const uint8_t jrcxz[] = { 0xe3, 0x05 };
	r.rcx = 0;
	e = emulate(jrcxz, sizeof jrcxz, &r, &m, &ok);
	assert_true(ok && e.taken);
	assert_int_equal(e.rip, PC + 7);
	/* With the address-size prefix the count is ECX, and writing it clears
	 * RCX's upper half, as every 32-bit register write does. */
	const uint8_t loop32[] = { 0x67, 0xe2, 0xfd }; /* loop . (ecx) */
	r.rcx = 0x1234567800000002ull;
	e = emulate(loop32, sizeof loop32, &r, &m, &ok);
	assert_true(ok && e.taken && e.set_rcx);
	assert_int_equal(e.rcx, 1);
	r.rcx = 0x1234567800000001ull;
	e = emulate(loop32, sizeof loop32, &r, &m, &ok);
	assert_false(e.taken);
	assert_int_equal(e.rcx, 0);
}

static void test_calls_and_returns(void **state)
{
	struct user_regs_struct r = { 0 };
	struct memory m = { { 0x7ff0, 0x402000 }, { 0x401234, 0x405000 } };
	bool ok;
	r.rsp = 0x8000;
	const uint8_t call[] = { 0xe8, 0x00, 0x10, 0x00, 0x00 }; /* call +0x1000 */
	struct emu_effect e = emulate(call, sizeof call, &r, &m, &ok);
	assert_true(ok && e.push);
	assert_int_equal(e.push_value, PC + 5);
	assert_int_equal(e.rsp, 0x7ff8);
	assert_int_equal(e.rip, PC + 5 + 0x1000);
	/* call qword ptr [rip + 0xffb] reads its target at PC + 6 + 0xffb */
	const uint8_t call_mem[] = { 0xff, 0x15, 0xfa, 0x0f, 0x00, 0x00 };
	e = emulate(call_mem, sizeof call_mem, &r, &m, &ok);
	assert_true(ok);
	assert_int_equal(e.rip, 0x405000);
	/* ret 8 pops the return address and 8 more bytes */
	const uint8_t ret8[] = { 0xc2, 0x08, 0x00 };
	r.rsp = 0x7ff0;
	e = emulate(ret8, sizeof ret8, &r, &m, &ok);
	assert_true(ok);
	assert_int_equal(e.rip, 0x401234);
	assert_int_equal(e.rsp, 0x7ff0 + 16);
	/* An unreadable return address cannot be emulated. */
	r.rsp = 0x9000;
	emulate(ret8, sizeof ret8, &r, &m, &ok);
	assert_false(ok);
}

static void test_indirect_jumps(void **state)
{
	struct user_regs_struct r = { 0 };
	struct memory m = { { 0x600010 + 3 * 8 }, { 0x4010a0 } };
	bool ok;
	const uint8_t jmp_rax[] = { 0xff, 0xe0 };
	r.rax = 0x40abcd;
	struct emu_effect e = emulate(jmp_rax, sizeof jmp_rax, &r, &m, &ok);
	assert_true(ok);
	assert_int_equal(e.rip, 0x40abcd);
	/* jmp qword ptr [rbx + rcx*8 + 0x10]: a jump table */
	const uint8_t jmp_table[] = { 0xff, 0x64, 0xcb, 0x10 };
	r.rbx = 0x600000;
	r.rcx = 3;
	e = emulate(jmp_table, sizeof jmp_table, &r, &m, &ok);
	assert_true(ok);
	assert_int_equal(e.rip, 0x4010a0);
	/* jmp qword ptr fs:[0x28]: FS-relative */
	const uint8_t jmp_fs[] = { 0x64, 0xff, 0x24, 0x25, 0x28, 0x00, 0x00, 0x00 };
	r.fs_base = 0x600010 + 3 * 8 - 0x28;
	e = emulate(jmp_fs, sizeof jmp_fs, &r, &m, &ok);
	assert_true(ok);
	assert_int_equal(e.rip, 0x4010a0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conditional),
		cmocka_unit_test(test_loop_and_jrcxz),
		cmocka_unit_test(test_calls_and_returns),
		cmocka_unit_test(test_indirect_jumps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
