/* Operands: registers the code may write, immediates, and memory operands
 * that address the case's own memory (with the instructions that set their
 * base and index registers up). */
#include "gen.h"

#include <string.h>

static const ZydisRegister gpr64[16] = {
	ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_RDX, ZYDIS_REGISTER_RBX,
	ZYDIS_REGISTER_RSP, ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_RSI, ZYDIS_REGISTER_RDI,
	ZYDIS_REGISTER_R8,  ZYDIS_REGISTER_R9,  ZYDIS_REGISTER_R10, ZYDIS_REGISTER_R11,
	ZYDIS_REGISTER_R12, ZYDIS_REGISTER_R13, ZYDIS_REGISTER_R14, ZYDIS_REGISTER_R15,
};
static const ZydisRegister gpr32[16] = {
	ZYDIS_REGISTER_EAX,  ZYDIS_REGISTER_ECX,  ZYDIS_REGISTER_EDX,  ZYDIS_REGISTER_EBX,
	ZYDIS_REGISTER_ESP,  ZYDIS_REGISTER_EBP,  ZYDIS_REGISTER_ESI,  ZYDIS_REGISTER_EDI,
	ZYDIS_REGISTER_R8D,  ZYDIS_REGISTER_R9D,  ZYDIS_REGISTER_R10D, ZYDIS_REGISTER_R11D,
	ZYDIS_REGISTER_R12D, ZYDIS_REGISTER_R13D, ZYDIS_REGISTER_R14D, ZYDIS_REGISTER_R15D,
};
static const ZydisRegister gpr16[16] = {
	ZYDIS_REGISTER_AX,   ZYDIS_REGISTER_CX,   ZYDIS_REGISTER_DX,   ZYDIS_REGISTER_BX,
	ZYDIS_REGISTER_SP,   ZYDIS_REGISTER_BP,   ZYDIS_REGISTER_SI,   ZYDIS_REGISTER_DI,
	ZYDIS_REGISTER_R8W,  ZYDIS_REGISTER_R9W,  ZYDIS_REGISTER_R10W, ZYDIS_REGISTER_R11W,
	ZYDIS_REGISTER_R12W, ZYDIS_REGISTER_R13W, ZYDIS_REGISTER_R14W, ZYDIS_REGISTER_R15W,
};
static const ZydisRegister gpr8[16] = {
	ZYDIS_REGISTER_AL,   ZYDIS_REGISTER_CL,   ZYDIS_REGISTER_DL,   ZYDIS_REGISTER_BL,
	ZYDIS_REGISTER_SPL,  ZYDIS_REGISTER_BPL,  ZYDIS_REGISTER_SIL,  ZYDIS_REGISTER_DIL,
	ZYDIS_REGISTER_R8B,  ZYDIS_REGISTER_R9B,  ZYDIS_REGISTER_R10B, ZYDIS_REGISTER_R11B,
	ZYDIS_REGISTER_R12B, ZYDIS_REGISTER_R13B, ZYDIS_REGISTER_R14B, ZYDIS_REGISTER_R15B,
};
static const ZydisRegister high8[4] = {
	ZYDIS_REGISTER_AH, ZYDIS_REGISTER_CH, ZYDIS_REGISTER_DH, ZYDIS_REGISTER_BH,
};

/* bits 8 with index 16-19: ah, ch, dh, bh (part of registers 0-3). */
ZydisRegister gpr(int index, int bits)
{
	if (index >= 16)
		return high8[index - 16];
	switch (bits) {
	case 8: return gpr8[index];
	case 16: return gpr16[index];
	case 32: return gpr32[index];
	default: return gpr64[index];
	}
}

bool is_writable(const struct gen *g, int reg)
{
	if (g->dead)
		return reg != REG_RSP;
	return reg != REG_RSP && !(g->reserved & (1u << reg));
}

int writable_reg_except(struct gen *g, uint32_t also_avoid)
{
	int ok[16], n = 0;
	for (int r = 0; r < 16; r++)
		if (is_writable(g, r) && !(also_avoid & (1u << r)))
			ok[n++] = r;
	return n ? ok[rng_below(&g->rng, (uint64_t)n)] : -1;
}

int writable_reg(struct gen *g)
{
	return writable_reg_except(g, 0);
}

void request(ZydisEncoderRequest *r, ZydisMnemonic m, int nops)
{
	memset(r, 0, sizeof *r);
	r->machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	r->mnemonic = m;
	r->operand_count = (ZyanU8)nops;
}

void set_reg(ZydisEncoderOperand *op, ZydisRegister reg)
{
	op->type = ZYDIS_OPERAND_TYPE_REGISTER;
	op->reg.value = reg;
}

void set_imm(ZydisEncoderOperand *op, uint64_t v)
{
	op->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
	op->imm.u = v;
}

/* Values that sit on the edges of what arithmetic does, and some noise. */
uint64_t random_imm(struct gen *g, int bits)
{
	static const int64_t edges[] = { 0, 1, -1, 2, 0x7f, 0x80, -0x80, 0xff, 0x7fff, -0x8000,
					 0xffff, 0x7fffffff, -0x7fffffff - 1, 31, 32, 63, 64 };
	int64_t v = rng_chance(&g->rng, 40)
			    ? edges[rng_below(&g->rng, sizeof edges / sizeof edges[0])]
			    : (int64_t)rng_next(&g->rng);
	if (bits >= 32)
		return (uint64_t)(int64_t)(int32_t)v;
	return (uint64_t)v & ((1ull << bits) - 1);
}

void count_insns(struct gen *g, long n)
{
	if (!g->dead)
		g->spent += g->mult * n;
}

bool emit(struct gen *g, const ZydisEncoderRequest *r)
{
	if (!program_insn(g->p, g->group, r, -1, LU_NONE, 0))
		return false;
	count_insns(g, 1);
	return true;
}

/* m reg, imm */
bool emit2(struct gen *g, ZydisMnemonic m, ZydisRegister a, uint64_t imm)
{
	ZydisEncoderRequest r;
	request(&r, m, 2);
	set_reg(&r.operands[0], a);
	set_imm(&r.operands[1], imm);
	return emit(g, &r);
}

bool set_register(struct gen *g, int reg, uint64_t value)
{
	if (value >> 32 == 0 && rng_chance(&g->rng, 80))
		return emit2(g, ZYDIS_MNEMONIC_MOV, gpr(reg, 32), value);
	return emit2(g, ZYDIS_MNEMONIC_MOV, gpr(reg, 64), value);
}

static bool reaches(const struct gen *g, uint64_t addr)
{
	uint64_t d = addr > g->code ? addr - g->code : g->code - addr;
	return d < (1ull << 30);
}

/* lea reg, [rip + addr]: the address relative to the code. */
bool lea_rip(struct gen *g, int reg, uint64_t addr)
{
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_LEA, 2);
	set_reg(&r.operands[0], gpr(reg, 64));
	r.operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
	r.operands[1].mem.base = ZYDIS_REGISTER_RIP;
	r.operands[1].mem.displacement = (ZyanI64)addr;
	r.operands[1].mem.size = 8;
	return emit(g, &r);
}

/* reg = value, through a RIP-relative lea when the value is an address near
 * the code (a lea whose operand prof must relocate). */
static bool point(struct gen *g, int reg, uint64_t value)
{
	if (reaches(g, value) && rng_chance(&g->rng, 50))
		return lea_rip(g, reg, value);
	return set_register(g, reg, value);
}

static int64_t random_disp(struct gen *g)
{
	switch (rng_below(&g->rng, 4)) {
	case 0: return 0;
	case 1: return (int64_t)rng_below(&g->rng, 256) - 128;
	case 2: return (int64_t)rng_below(&g->rng, 8192) - 4096;
	default: return (int64_t)(int32_t)rng_next(&g->rng) / 4;
	}
}

static void set_mem(ZydisEncoderOperand *op, ZydisRegister base, ZydisRegister index, int scale,
		    int64_t disp, unsigned size)
{
	op->type = ZYDIS_OPERAND_TYPE_MEMORY;
	op->mem.base = base;
	op->mem.index = index;
	op->mem.scale = (ZyanU8)(index ? scale : 0);
	op->mem.displacement = disp;
	op->mem.size = (ZyanU16)size;
}

/* [base + disp], base set to addr - disp. */
static bool based(struct gen *g, ZydisEncoderOperand *op, uint64_t addr, unsigned size)
{
	int b = writable_reg(g);
	int64_t disp = random_disp(g);
	if (b < 0 || !point(g, b, addr - (uint64_t)disp))
		return false;
	set_mem(op, gpr(b, 64), ZYDIS_REGISTER_NONE, 0, disp, size);
	return true;
}

/* [base + index*scale + disp] (or no base when addr fits a disp32). */
static bool indexed(struct gen *g, ZydisEncoderOperand *op, uint64_t addr, unsigned size,
		    bool with_base)
{
	int i = writable_reg(g);
	int b = i < 0 ? -1 : writable_reg_except(g, 1u << i);
	if (i < 0 || (with_base && b < 0))
		return false;
	int scale = 1 << rng_below(&g->rng, 4);
	int64_t v = (int64_t)rng_below(&g->rng, 32) - 8;
	int64_t disp = with_base ? random_disp(g) : (int64_t)(addr - (uint64_t)(v * scale));
	if (!with_base && (disp < INT32_MIN || disp > INT32_MAX))
		return false;
	if (!emit2(g, ZYDIS_MNEMONIC_MOV, gpr(i, 64), (uint64_t)v))
		return false;
	if (with_base && !point(g, b, addr - (uint64_t)(v * scale) - (uint64_t)disp))
		return false;
	set_mem(op, with_base ? gpr(b, 64) : ZYDIS_REGISTER_NONE, gpr(i, 64), scale, disp, size);
	return true;
}

/* [ebase + disp] with an address-size prefix: the register's upper half
 * is noise the CPU ignores. */
static bool based32(struct gen *g, ZydisEncoderOperand *op, uint64_t addr, unsigned size)
{
	int b = writable_reg(g);
	int64_t disp = (int64_t)rng_below(&g->rng, 256) - 128;
	if (b < 0 || addr >> 32)
		return false;
	uint64_t low = (uint32_t)(addr - (uint64_t)disp);
	if (!set_register(g, b, (rng_next(&g->rng) << 32) | low))
		return false;
	set_mem(op, gpr(b, 32), ZYDIS_REGISTER_NONE, 0, disp, size);
	return true;
}

bool memory_at(struct gen *g, ZydisEncoderOperand *op, uint64_t addr, unsigned size, bool store)
{
	(void)store;
	size_t mark = g->p->n;
	long spent = g->spent;
	bool ok = false;
	switch (rng_below(&g->rng, 8)) {
	case 0:
	case 1:
		break;
	case 2:
		ok = addr < (1ull << 31);
		if (ok)
			set_mem(op, ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE, 0, (int64_t)addr, size);
		break;
	case 3:
	case 4:
		ok = based(g, op, addr, size);
		break;
	case 5:
		ok = indexed(g, op, addr, size, true);
		break;
	case 6:
		ok = addr < (1ull << 31) && indexed(g, op, addr, size, false);
		break;
	default:
		ok = based32(g, op, addr, size);
		break;
	}
	if (ok)
		return true;
	g->p->n = mark; /* whatever setup was emitted goes */
	g->spent = spent;
	if (!reaches(g, addr))
		return false;
	set_mem(op, ZYDIS_REGISTER_RIP, ZYDIS_REGISTER_NONE, 0, (int64_t)addr, size);
	return true;
}

/* A random place of the case's data the code may read or write: the data
 * buffer or the ripdata page (before its tables). */
uint64_t random_address(struct gen *g, unsigned align)
{
	unsigned a = align ? align : 1;
	uint64_t off = rng_below(&g->rng, (DATA_SIZE - 64) / a) * a;
	return (rng_chance(&g->rng, 50) ? g->ripdata : DATA_ADDR) + off;
}

/* [rsp + d], 8-aligned as RSP is, for loads of what is above RSP in this
 * frame. The red zone (the 128 bytes below RSP) is only stored to by mov
 * and read back by red_zone_pair: anything else there (a read-modify-write
 * included) reads what earlier, deeper code left, where prof's saved flags
 * may lie as a signal frame's would. */
static bool stack_operand(struct gen *g, ZydisEncoderOperand *op, unsigned size, unsigned align,
			  bool store)
{
	if (store || align > 8 || size > 64 || g->above < (int)size)
		return false;
	int64_t d = 8 * (int64_t)rng_below(&g->rng, (uint64_t)(g->above - (int)size) / 8 + 1);
	set_mem(op, ZYDIS_REGISTER_RSP, ZYDIS_REGISTER_NONE, 0, d, size);
	return true;
}

bool memory_operand(struct gen *g, ZydisEncoderOperand *op, unsigned size, unsigned align,
		    bool store)
{
	if (g->dead) {
		address_operand(g, op, size);
		return true;
	}
	if (rng_chance(&g->rng, 15) && stack_operand(g, op, size, align, store))
		return true;
	return memory_at(g, op, random_address(g, align), size, store);
}

/* An address that is only computed (lea) or not even that (nop): any
 * registers. */
void address_operand(struct gen *g, ZydisEncoderOperand *op, unsigned size)
{
	if (rng_chance(&g->rng, 20)) {
		set_mem(op, ZYDIS_REGISTER_RIP, ZYDIS_REGISTER_NONE, 0,
			(int64_t)(g->code + rng_below(&g->rng, 1u << 20)), size);
		return;
	}
	int bits = rng_chance(&g->rng, 15) ? 32 : 64;
	int b = (int)rng_below(&g->rng, 17), i = (int)rng_below(&g->rng, 17);
	ZydisRegister base = b < 16 ? gpr(b, bits) : ZYDIS_REGISTER_NONE;
	ZydisRegister index = i < 16 && i != REG_RSP ? gpr(i, bits) : ZYDIS_REGISTER_NONE;
	set_mem(op, base, index, 1 << rng_below(&g->rng, 4), random_disp(g), size);
}
