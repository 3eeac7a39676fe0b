/* Control transfers described from capstone's decoding (see prof/branch.h). */
#include "prof/branch.h"
#include "prof/classes.h"
#include "capstone_decode.h"

#include <string.h>

#define FLAG_CF 0x001
#define FLAG_PF 0x004
#define FLAG_ZF 0x040
#define FLAG_SF 0x080
#define FLAG_OF 0x800

bool branch_cond_holds(unsigned cond, uint64_t f)
{
	bool cf = f & FLAG_CF, pf = f & FLAG_PF, zf = f & FLAG_ZF, sf = f & FLAG_SF,
	     of = f & FLAG_OF;
	bool holds;
	switch (cond >> 1) {
	case 0: holds = of; break;               /* O */
	case 1: holds = cf; break;               /* B */
	case 2: holds = zf; break;               /* E */
	case 3: holds = cf || zf; break;         /* BE */
	case 4: holds = sf; break;               /* S */
	case 5: holds = pf; break;               /* P */
	case 6: holds = sf != of; break;         /* L */
	default: holds = zf || sf != of; break;  /* LE */
	}
	return cond & 1 ? !holds : holds;         /* odd codes negate */
}

static int jcc_cond(unsigned id)
{
	static const struct { unsigned id; int cond; } table[] = {
		{ X86_INS_JO, COND_O },   { X86_INS_JNO, COND_NO }, { X86_INS_JB, COND_B },
		{ X86_INS_JAE, COND_AE }, { X86_INS_JE, COND_E },   { X86_INS_JNE, COND_NE },
		{ X86_INS_JBE, COND_BE }, { X86_INS_JA, COND_A },   { X86_INS_JS, COND_S },
		{ X86_INS_JNS, COND_NS }, { X86_INS_JP, COND_P },   { X86_INS_JNP, COND_NP },
		{ X86_INS_JL, COND_L },   { X86_INS_JGE, COND_GE }, { X86_INS_JLE, COND_LE },
		{ X86_INS_JG, COND_G },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].id == id)
			return table[i].cond;
	return -1;
}

static void describe_target(const cs_insn *i, struct branch_target *to)
{
	const cs_x86 *x = &i->detail->x86;
	memset(to, 0, sizeof *to);
	if (x->op_count < 1)
		return;
	const cs_x86_op *op = &x->operands[0];
	if (op->type == X86_OP_IMM) {
		to->direct = true;
		to->target = (uint64_t)op->imm;
	} else if (op->type == X86_OP_REG) {
		to->in_register = true;
		to->reg = op->reg;
	} else if (op->type == X86_OP_MEM) {
		to->in_memory = true;
		to->segment = op->mem.segment;
		to->base = op->mem.base;
		to->index = op->mem.index;
		to->scale = op->mem.scale;
		to->disp = op->mem.disp;
		to->rip_relative = op->mem.base == X86_REG_RIP;
	}
}

/* Fills *br for control transfers capstone decoded as i. */
void branch_describe(const cs_insn *i, struct branch *br)
{
	const cs_x86 *x = &i->detail->x86;
	memset(br, 0, sizeof *br);
	br->len = (uint8_t)i->size;
	br->count32 = x->addr_size == 4;
	int cond = jcc_cond(i->id);
	switch (i->id) {
	case X86_INS_JMP:
		br->kind = BR_JMP;
		break;
	case X86_INS_CALL:
		br->kind = BR_CALL;
		break;
	case X86_INS_RET:
		br->kind = BR_RET;
		if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM)
			br->ret_imm = (uint16_t)x->operands[0].imm;
		return;
	case X86_INS_JRCXZ:
	case X86_INS_JECXZ:
		br->kind = BR_JRCXZ;
		br->count32 = i->id == X86_INS_JECXZ;
		break;
	case X86_INS_LOOP:
	case X86_INS_LOOPE:
	case X86_INS_LOOPNE:
		br->kind = BR_LOOP;
		br->cond = i->id == X86_INS_LOOP ? LOOP_PLAIN : i->id == X86_INS_LOOPE ? LOOP_E : LOOP_NE;
		break;
	default:
		if (cond < 0)
			return; /* far jumps, iret, ...: not emulated */
		br->kind = BR_JCC;
		br->cond = (uint8_t)cond;
		break;
	}
	describe_target(i, &br->to);
}
