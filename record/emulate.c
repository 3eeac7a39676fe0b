#include "emulate.h"

#include <capstone/capstone.h>
#include <stddef.h>
#include <string.h>

#define OFF(field) offsetof(struct user_regs_struct, field)

static const struct {
	int reg;
	unsigned short offset, size;
} reg_table[] = {
	{ X86_REG_RAX, OFF(rax), 8 }, { X86_REG_RBX, OFF(rbx), 8 }, { X86_REG_RCX, OFF(rcx), 8 },
	{ X86_REG_RDX, OFF(rdx), 8 }, { X86_REG_RSI, OFF(rsi), 8 }, { X86_REG_RDI, OFF(rdi), 8 },
	{ X86_REG_RBP, OFF(rbp), 8 }, { X86_REG_RSP, OFF(rsp), 8 }, { X86_REG_R8, OFF(r8), 8 },
	{ X86_REG_R9, OFF(r9), 8 },   { X86_REG_R10, OFF(r10), 8 }, { X86_REG_R11, OFF(r11), 8 },
	{ X86_REG_R12, OFF(r12), 8 }, { X86_REG_R13, OFF(r13), 8 }, { X86_REG_R14, OFF(r14), 8 },
	{ X86_REG_R15, OFF(r15), 8 }, { X86_REG_RIP, OFF(rip), 8 },
	{ X86_REG_EAX, OFF(rax), 4 }, { X86_REG_EBX, OFF(rbx), 4 }, { X86_REG_ECX, OFF(rcx), 4 },
	{ X86_REG_EDX, OFF(rdx), 4 }, { X86_REG_ESI, OFF(rsi), 4 }, { X86_REG_EDI, OFF(rdi), 4 },
	{ X86_REG_EBP, OFF(rbp), 4 }, { X86_REG_ESP, OFF(rsp), 4 }, { X86_REG_R8D, OFF(r8), 4 },
	{ X86_REG_R9D, OFF(r9), 4 },  { X86_REG_R10D, OFF(r10), 4 }, { X86_REG_R11D, OFF(r11), 4 },
	{ X86_REG_R12D, OFF(r12), 4 }, { X86_REG_R13D, OFF(r13), 4 }, { X86_REG_R14D, OFF(r14), 4 },
	{ X86_REG_R15D, OFF(r15), 4 },
};

bool emu_reg(const struct user_regs_struct *r, int reg, uint64_t *value)
{
	for (size_t i = 0; i < sizeof reg_table / sizeof reg_table[0]; i++) {
		if (reg_table[i].reg != reg)
			continue;
		uint64_t v;
		memcpy(&v, (const char *)r + reg_table[i].offset, 8);
		*value = reg_table[i].size == 4 ? (uint32_t)v : v;
		return true;
	}
	return false;
}

static bool target_of(const struct branch *b, uint64_t pc, const struct user_regs_struct *r,
		      emu_read_fn read, void *ctx, uint64_t *target)
{
	const struct branch_target *to = &b->to;
	if (to->direct) {
		*target = to->target;
		return true;
	}
	if (to->in_register)
		return emu_reg(r, to->reg, target);
	if (!to->in_memory)
		return false;
	uint64_t addr = (uint64_t)to->disp, v;
	if (to->rip_relative)
		addr += pc + b->len;
	else if (to->base != X86_REG_INVALID) {
		if (!emu_reg(r, to->base, &v))
			return false;
		addr += v;
	}
	if (to->index != X86_REG_INVALID) {
		if (!emu_reg(r, to->index, &v))
			return false;
		addr += v * (uint64_t)to->scale;
	}
	if (b->count32)
		addr = (uint32_t)addr;
	if (to->segment == X86_REG_FS)
		addr += r->fs_base;
	else if (to->segment == X86_REG_GS)
		addr += r->gs_base;
	return read(ctx, addr, target);
}

bool emulate_branch(const struct branch *b, uint64_t pc, const struct user_regs_struct *r,
		    emu_read_fn read, void *ctx, struct emu_effect *out)
{
	memset(out, 0, sizeof *out);
	uint64_t next = pc + b->len, target = 0;
	out->rsp = r->rsp;
	out->rip = next;
	if (b->kind == BR_RET) {
		if (!read(ctx, r->rsp, &out->rip))
			return false;
		out->rsp = r->rsp + 8 + b->ret_imm;
		out->taken = true;
		return true;
	}
	if (!target_of(b, pc, r, read, ctx, &target))
		return false;
	uint64_t count = b->count32 ? (uint32_t)r->rcx : r->rcx;
	switch (b->kind) {
	case BR_JCC:
		out->taken = branch_cond_holds(b->cond, r->eflags);
		break;
	case BR_JRCXZ:
		out->taken = count == 0;
		break;
	case BR_LOOP:
		/* With ECX as the count, its write clears RCX's upper half. */
		count = b->count32 ? (uint32_t)(count - 1) : count - 1;
		out->set_rcx = true;
		out->rcx = count;
		out->taken = count != 0 &&
			     (b->cond == LOOP_PLAIN || (b->cond == LOOP_E) == !!(r->eflags & 0x40));
		break;
	case BR_CALL:
		out->push = true;
		out->push_value = next;
		out->rsp = r->rsp - 8;
		out->taken = true;
		break;
	case BR_JMP:
		out->taken = true;
		break;
	default:
		return false;
	}
	if (out->taken)
		out->rip = target;
	return true;
}
