/* Plain instructions from a table of templates with random operands, and
 * the few that need their registers set up first (string instructions,
 * division, a system call). */
#include "gen.h"

#include <string.h>

/* In the order of gen_main.c's feature list, from 1. */
enum feature {
	F_BASE, F_SSE3, F_SSSE3, F_SSE41, F_SSE42, F_AVX, F_AVX2, F_FMA, F_AVX512, F_ADX,
	F_BMI1, F_BMI2, F_LZCNT, F_POPCNT, F_MOVBE, F_PCLMUL, F_AES,
};

enum encoding { INT, SSE, VEX, EVEX };

/* Integer widths, and vector widths (the same bits). */
#define B8 1
#define B16 2
#define B32 4
#define B64 8
#define BALL (B8 | B16 | B32 | B64)
#define BWIDE (B16 | B32 | B64)
#define BDQ (B32 | B64)
#define V128 1
#define V256 2
#define V512 4
#define VALL (V128 | V256 | V512)

/* Template flags. */
#define T_LOCK 1        /* may take LOCK when its destination is memory */
#define T_READS 2       /* reads the status flags */
#define T_WRITES 4      /* sets the status flags from its operands (a test before a jcc) */
#define T_MASK 8        /* EVEX: may be masked ({k1}-{k7}, zeroing when a register) */
#define T_IMM64 16      /* 'i' may be a full 64-bit immediate */

/* Implicitly written general registers. */
#define W_RAX (1u << 0)
#define W_RCX (1u << 1)
#define W_RDX (1u << 2)

/* Operands, one letter each, an optional width digit after integer ones
 * (1, 2, 4, 8 bytes; else the instruction's width) or 'x'/'y' after vector
 * ones (128, 256 bits; else the instruction's width):
 *   R r   general register written / read       E e  register or memory written / read
 *   M m   memory written / read                  i    immediate, b imm8, s shift count, c CL
 *   A     address of lea, N address of a nop     V v  vector register written / read
 *   u     vector register or memory read         n    vector memory read
 *   W     vector memory written                  O    vector register or memory written
 *   K k   opmask register written / read */
struct tmpl {
	ZydisMnemonic m;
	const char *ops;
	uint8_t widths, feat, enc, implicit, flags;
};

#define I(m, ops, w, fl) { ZYDIS_MNEMONIC_##m, ops, w, F_BASE, INT, 0, fl }
#define IF(m, ops, w, f, fl) { ZYDIS_MNEMONIC_##m, ops, w, F_##f, INT, 0, fl }
#define IW(m, ops, w, imp, fl) { ZYDIS_MNEMONIC_##m, ops, w, F_BASE, INT, imp, fl }
#define S(m, ops, f) { ZYDIS_MNEMONIC_##m, ops, V128, F_##f, SSE, 0, 0 }
#define SF(m, ops, f, fl) { ZYDIS_MNEMONIC_##m, ops, V128, F_##f, SSE, 0, fl }
#define X(m, ops, w, f) { ZYDIS_MNEMONIC_##m, ops, w, F_##f, VEX, 0, 0 }
#define XF(m, ops, w, f, fl) { ZYDIS_MNEMONIC_##m, ops, w, F_##f, VEX, 0, fl }
#define Z(m, ops, w) { ZYDIS_MNEMONIC_##m, ops, w, F_AVX512, EVEX, 0, T_MASK }
#define ZN(m, ops, w, fl) { ZYDIS_MNEMONIC_##m, ops, w, F_AVX512, EVEX, 0, fl }

#define ARITH(m, fl) I(m, "E r", BALL, T_LOCK | T_WRITES | (fl)), I(m, "R m", BALL, T_WRITES | (fl)), \
	I(m, "E i", BALL, T_LOCK | T_WRITES | (fl))
#define SHIFT(m, fl) I(m, "E s", BALL, fl), I(m, "E c", BALL, fl)
#define SETCC(c) I(SET##c, "E1", B8, T_READS), I(CMOV##c, "R e", BWIDE, T_READS)

static const struct tmpl templates[] = {
	ARITH(ADD, 0), ARITH(OR, 0), ARITH(AND, 0), ARITH(SUB, 0), ARITH(XOR, 0),
	ARITH(ADC, T_READS), ARITH(SBB, T_READS),
	I(CMP, "e r", BALL, T_WRITES), I(CMP, "r m", BALL, T_WRITES), I(CMP, "e i", BALL, T_WRITES),
	I(TEST, "e r", BALL, T_WRITES), I(TEST, "e i", BALL, T_WRITES),
	I(MOV, "E r", BALL, 0), I(MOV, "R m", BALL, 0), I(MOV, "E i", BALL, T_IMM64),
	I(INC, "E", BALL, T_LOCK), I(DEC, "E", BALL, T_LOCK), I(NEG, "E", BALL, T_LOCK | T_WRITES),
	I(NOT, "E", BALL, T_LOCK),
	SHIFT(SHL, 0), SHIFT(SHR, 0), SHIFT(SAR, 0), SHIFT(ROL, 0), SHIFT(ROR, 0),
	SHIFT(RCL, T_READS), SHIFT(RCR, T_READS),
	I(SHLD, "E r s", BWIDE, 0), I(SHLD, "E r c", BWIDE, 0),
	I(SHRD, "E r s", BWIDE, 0), I(SHRD, "E r c", BWIDE, 0),
	I(BT, "e b", BWIDE, T_WRITES), I(BT, "r r", BWIDE, T_WRITES),
	I(BTS, "E b", BWIDE, T_LOCK), I(BTS, "R r", BWIDE, 0), I(BTR, "E b", BWIDE, T_LOCK),
	I(BTR, "R r", BWIDE, 0), I(BTC, "E b", BWIDE, T_LOCK), I(BTC, "R r", BWIDE, 0),
	I(BSF, "R e", BWIDE, 0), I(BSR, "R e", BWIDE, 0),
	IF(LZCNT, "R e", BWIDE, LZCNT, 0), IF(TZCNT, "R e", BWIDE, BMI1, 0),
	IF(POPCNT, "R e", BWIDE, POPCNT, 0),
	I(IMUL, "R e", BWIDE, 0), I(IMUL, "R e i", BWIDE, 0),
	IW(MUL, "e", BALL, W_RAX | W_RDX, 0), IW(IMUL, "e", BALL, W_RAX | W_RDX, 0),
	I(MOVZX, "R e1", BWIDE, 0), I(MOVZX, "R e2", BDQ, 0), I(MOVSX, "R e1", BWIDE, 0),
	I(MOVSX, "R e2", BDQ, 0), I(MOVSXD, "R8 e4", B64, 0),
	I(LEA, "R A", BWIDE, 0),
	I(XCHG, "E R", BALL, 0), I(XADD, "E R", BALL, T_LOCK),
	IW(CMPXCHG, "E r", BALL, W_RAX, T_LOCK),
	I(BSWAP, "R", BDQ, 0),
	IW(CBW, "", 0, W_RAX, 0), IW(CWDE, "", 0, W_RAX, 0), IW(CDQE, "", 0, W_RAX, 0),
	IW(CWD, "", 0, W_RDX, 0), IW(CDQ, "", 0, W_RDX, 0), IW(CQO, "", 0, W_RDX, 0),
	SETCC(O), SETCC(NO), SETCC(B), SETCC(NB), SETCC(Z), SETCC(NZ), SETCC(BE), SETCC(NBE),
	SETCC(S), SETCC(NS), SETCC(P), SETCC(NP), SETCC(L), SETCC(NL), SETCC(LE), SETCC(NLE),
	IF(ADCX, "R e", BDQ, ADX, T_READS), IF(ADOX, "R e", BDQ, ADX, T_READS),
	IF(ANDN, "R r e", BDQ, BMI1, 0), IF(BEXTR, "R e r", BDQ, BMI1, 0),
	IF(BLSI, "R e", BDQ, BMI1, 0), IF(BLSMSK, "R e", BDQ, BMI1, 0),
	IF(BLSR, "R e", BDQ, BMI1, 0), IF(BZHI, "R e r", BDQ, BMI2, 0),
	IF(PDEP, "R r e", BDQ, BMI2, 0), IF(PEXT, "R r e", BDQ, BMI2, 0),
	IF(RORX, "R e b", BDQ, BMI2, 0), IF(SARX, "R e r", BDQ, BMI2, 0),
	IF(SHLX, "R e r", BDQ, BMI2, 0), IF(SHRX, "R e r", BDQ, BMI2, 0),
	IF(MULX, "R R e", BDQ, BMI2, 0),
	I(CLC, "", 0, 0), I(STC, "", 0, 0), I(CMC, "", 0, T_READS), I(CLD, "", 0, 0),
	I(STD, "", 0, 0), IW(LAHF, "", 0, W_RAX, T_READS), I(SAHF, "", 0, 0),
	I(NOP, "", 0, 0), I(NOP, "N", BWIDE & ~B64, 0),
	IF(MOVBE, "R m", BWIDE, MOVBE, 0), IF(MOVBE, "M r", BWIDE, MOVBE, 0),
	IF(CRC32, "R4 e1", B32, SSE42, 0), IF(CRC32, "R4 e4", B32, SSE42, 0),
	IF(CRC32, "R8 e8", B64, SSE42, 0),

	/* SSE */
	S(PADDB, "V u", BASE), S(PADDW, "V u", BASE), S(PADDD, "V u", BASE), S(PADDQ, "V u", BASE),
	S(PSUBB, "V u", BASE), S(PSUBQ, "V u", BASE), S(PMULLW, "V u", BASE),
	S(PMULUDQ, "V u", BASE), S(PAND, "V u", BASE), S(PANDN, "V u", BASE), S(POR, "V u", BASE),
	S(PXOR, "V u", BASE), S(PCMPEQB, "V u", BASE), S(PCMPGTW, "V u", BASE),
	S(PUNPCKLBW, "V u", BASE), S(PUNPCKHDQ, "V u", BASE), S(PACKSSWB, "V u", BASE),
	S(PSADBW, "V u", BASE), S(PAVGB, "V u", BASE), S(PMAXUB, "V u", BASE),
	S(PSLLD, "V b", BASE), S(PSRLQ, "V b", BASE), S(PSRAW, "V b", BASE),
	S(PSRLDQ, "V b", BASE), S(PSLLD, "V u", BASE),
	S(PSHUFD, "V u b", BASE), S(PSHUFLW, "V u b", BASE),
	S(ADDPS, "V u", BASE), S(SUBPS, "V u", BASE), S(MULPS, "V u", BASE), S(DIVPS, "V u", BASE),
	S(MINPS, "V u", BASE), S(MAXPD, "V u", BASE), S(SQRTPS, "V u", BASE), S(ADDPD, "V u", BASE),
	S(MULSD, "V u", BASE), S(ADDSS, "V u", BASE), S(CVTDQ2PS, "V u", BASE),
	S(CVTPS2DQ, "V u", BASE), S(CVTTPS2DQ, "V u", BASE), S(SHUFPS, "V u b", BASE),
	S(UNPCKLPS, "V u", BASE), S(XORPS, "V u", BASE),
	S(MOVDQA, "V u", BASE), S(MOVDQU, "V u", BASE), S(MOVAPS, "W v", BASE),
	S(MOVUPS, "W v", BASE), S(MOVDQU, "W v", BASE),
	S(MOVD, "V e4", BASE), S(MOVD, "E4 v", BASE), S(MOVQ, "V e8", BASE), S(MOVQ, "E8 v", BASE),
	S(PMOVMSKB, "R4 v", BASE), S(MOVMSKPS, "R4 v", BASE),
	SF(COMISS, "v u", BASE, T_WRITES), SF(UCOMISD, "v u", BASE, T_WRITES),
	S(CVTSI2SD, "V e4", BASE), S(CVTTSD2SI, "R8 u", BASE),
	S(PSHUFB, "V u", SSSE3), S(PALIGNR, "V u b", SSSE3), S(PHADDD, "V u", SSSE3),
	S(PABSB, "V u", SSSE3),
	S(PMAXSD, "V u", SSE41), S(PMINUD, "V u", SSE41), S(PMULLD, "V u", SSE41),
	SF(PTEST, "v u", SSE41, T_WRITES), S(PBLENDW, "V u b", SSE41),
	S(PEXTRD, "E4 v b", SSE41), S(PEXTRQ, "E8 v b", SSE41), S(PINSRD, "V e4 b", SSE41),
	S(PINSRB, "V r4 b", SSE41), S(ROUNDPS, "V u b", SSE41), S(DPPS, "V u b", SSE41),
	S(PCMPGTQ, "V u", SSE42),
	{ ZYDIS_MNEMONIC_PCMPISTRI, "v u b", V128, F_SSE42, SSE, W_RCX, T_WRITES },
	S(PCLMULQDQ, "V u b", PCLMUL), S(AESENC, "V u", AES),

	/* AVX, AVX2, FMA */
	X(VADDPS, "V v u", V128 | V256, AVX), X(VMULPD, "V v u", V128 | V256, AVX),
	X(VXORPS, "V v u", V128 | V256, AVX), X(VMAXPS, "V v u", V128 | V256, AVX),
	X(VSQRTPD, "V u", V128 | V256, AVX), X(VPERMILPS, "V u b", V128 | V256, AVX),
	X(VMOVUPS, "V u", V128 | V256, AVX), X(VMOVDQU, "W v", V128 | V256, AVX),
	XF(VPTEST, "v u", V128 | V256, AVX, T_WRITES), XF(VTESTPS, "v u", V128 | V256, AVX, T_WRITES),
	X(VZEROUPPER, "", V128, AVX), X(VZEROALL, "", V128, AVX),
	X(VINSERTF128, "V v ux b", V256, AVX), X(VEXTRACTF128, "Ox v b", V256, AVX),
	X(VBLENDVPS, "V v u v", V128 | V256, AVX),
	X(VPADDD, "V v u", V128 | V256, AVX2), X(VPSUBQ, "V v u", V128 | V256, AVX2),
	X(VPXOR, "V v u", V128 | V256, AVX2), X(VPSHUFB, "V v u", V128 | V256, AVX2),
	X(VPMULLD, "V v u", V128 | V256, AVX2), X(VPCMPEQB, "V v u", V128 | V256, AVX2),
	X(VPSLLVD, "V v u", V128 | V256, AVX2), X(VPSRAVD, "V v u", V128 | V256, AVX2),
	X(VPERMQ, "V u b", V256, AVX2), X(VPERMD, "V v u", V256, AVX2),
	X(VPBLENDD, "V v u b", V128 | V256, AVX2), X(VPSLLD, "V v b", V128 | V256, AVX2),
	X(VPBLENDVB, "V v u v", V128 | V256, AVX2), X(VPMOVMSKB, "R4 v", V128 | V256, AVX2),
	X(VPALIGNR, "V v u b", V128 | V256, AVX2), X(VPBROADCASTD, "V vx", V128 | V256, AVX2),
	X(VPMASKMOVD, "W v v", V128 | V256, AVX2), X(VPMASKMOVD, "V v n", V128 | V256, AVX2),
	X(VFMADD231PS, "V v u", V128 | V256, FMA), X(VFNMADD213PD, "V v u", V128 | V256, FMA),

	/* AVX-512 (F, VL, BW, DQ, CD as the host has them all or none here) */
	Z(VPADDD, "V v u", VALL), Z(VPADDQ, "V v u", VALL), Z(VPSUBD, "V v u", VALL),
	Z(VPMULLD, "V v u", VALL), Z(VPXORD, "V v u", VALL), Z(VPANDQ, "V v u", VALL),
	Z(VPORD, "V v u", VALL), Z(VPMAXSD, "V v u", VALL), Z(VPMINUQ, "V v u", VALL),
	Z(VPSLLVQ, "V v u", VALL), Z(VPTERNLOGD, "V v u b", VALL), Z(VPTERNLOGQ, "V v u b", VALL),
	Z(VPERMT2D, "V v u", VALL), Z(VPERMI2Q, "V v u", VALL), Z(VALIGND, "V v u b", VALL),
	Z(VPSHUFD, "V u b", VALL), Z(VADDPS, "V v u", VALL), Z(VMULPD, "V v u", VALL),
	Z(VFMADD231PS, "V v u", VALL), Z(VMOVDQU32, "V u", VALL), Z(VMOVDQU64, "W v", VALL),
	Z(VMOVDQU8, "V u", VALL), Z(VPADDB, "V v u", VALL),
	Z(VPCMPD, "K v u b", VALL), Z(VPCMPUQ, "K v u b", VALL), Z(VPCMPEQD, "K v u", VALL),
	Z(VPTESTMD, "K v u", VALL), Z(VPCOMPRESSD, "O v", VALL), Z(VPEXPANDD, "V u", VALL),
	Z(VPBROADCASTD, "V r4", VALL), Z(VPBROADCASTQ, "V r8", VALL),
	Z(VEXTRACTI32X4, "Ox v b", V256 | V512), Z(VINSERTI32X4, "V v ux b", V256 | V512),
	Z(VPCONFLICTD, "V u", VALL), Z(VPLZCNTD, "V u", VALL),
	ZN(KANDW, "K k k", V128, 0), ZN(KORW, "K k k", V128, 0), ZN(KXORW, "K k k", V128, 0),
	ZN(KANDNQ, "K k k", V128, 0), ZN(KNOTW, "K k", V128, 0), ZN(KSHIFTLW, "K k b", V128, 0),
	ZN(KMOVW, "K r4", V128, 0), ZN(KMOVW, "R4 k", V128, 0), ZN(KMOVQ, "K k", V128, 0),
	ZN(KMOVQ, "K r8", V128, 0), ZN(KMOVD, "M4 k", V128, 0), ZN(KMOVB, "K m1", V128, 0),
	ZN(KADDW, "K k k", V128, 0),
	ZN(KORTESTW, "k k", V128, T_WRITES), ZN(KORTESTQ, "k k", V128, T_WRITES),
	ZN(KTESTW, "k k", V128, T_WRITES),
	ZN(VPMOVM2D, "V k", VALL, 0), ZN(VPMOVD2M, "K v", VALL, 0),
};

#define NTEMPLATES (sizeof templates / sizeof templates[0])

static bool has(const struct features *f, int feat)
{
	switch (feat) {
	case F_BASE: return true;
	case F_SSE3: return f->sse3;
	case F_SSSE3: return f->ssse3;
	case F_SSE41: return f->sse41;
	case F_SSE42: return f->sse42;
	case F_AVX: return f->avx;
	case F_AVX2: return f->avx2;
	case F_FMA: return f->fma;
	case F_AVX512: return f->avx512;
	case F_ADX: return f->adx;
	case F_BMI1: return f->bmi1;
	case F_BMI2: return f->bmi2;
	case F_LZCNT: return f->lzcnt;
	case F_POPCNT: return f->popcnt;
	case F_MOVBE: return f->movbe;
	case F_PCLMUL: return f->pclmul;
	case F_AES: return f->aes;
	default: return false;
	}
}

/* What is chosen for one instruction. */
struct pick {
	const struct tmpl *t;
	int bits, vbits;
	bool has_mem, mem_dest;
	ZydisEncoderRequest r;
};

static int pick_width(struct gen *g, uint8_t widths, const int *sizes)
{
	int n = 0, ok[4];
	for (int i = 0; i < 4; i++)
		if (widths & (1 << i))
			ok[n++] = sizes[i];
	return n ? ok[rng_below(&g->rng, (uint64_t)n)] : sizes[0];
}

static ZydisRegister vector_reg(struct gen *g, const struct pick *pk, int vbits)
{
	int n = pk->t->enc == EVEX ? 32 : 16;
	ZydisRegisterClass c = vbits == 512 ? ZYDIS_REGCLASS_ZMM
			       : vbits == 256 ? ZYDIS_REGCLASS_YMM : ZYDIS_REGCLASS_XMM;
	return ZydisRegisterEncode(c, (ZyanU8)rng_below(&g->rng, (uint64_t)n));
}

static ZydisRegister int_reg(struct gen *g, int bits, bool write)
{
	if (bits == 8 && rng_chance(&g->rng, 10)) {
		int h = (int)rng_below(&g->rng, 4);
		if (!write || is_writable(g, h))
			return gpr(16 + h, 8);
	}
	int r = write ? writable_reg(g) : (int)rng_below(&g->rng, 16);
	return r < 0 ? ZYDIS_REGISTER_NONE : gpr(r, bits);
}

static uint64_t shift_count(struct gen *g, int bits)
{
	const uint64_t counts[] = { 0, 1, 1, 2, (uint64_t)bits - 1, (uint64_t)bits, (uint64_t)bits + 1,
				    31, 32, 33, 63, 64, rng_below(&g->rng, 256) };
	return counts[rng_below(&g->rng, sizeof counts / sizeof counts[0])];
}

/* One operand from its letter; false when it cannot be made here. */
static bool operand(struct gen *g, struct pick *pk, char kind, char size, ZydisEncoderOperand *op)
{
	static const int int_sizes[4] = { 8, 16, 32, 64 };
	int bits = size >= '1' && size <= '8' ? 8 * (size - '0') : pk->bits;
	int vbits = size == 'x' ? 128 : size == 'y' ? 256 : pk->vbits;
	bool mem_ok = !pk->has_mem;
	(void)int_sizes;
	switch (kind) {
	case 'E':
	case 'e':
		if (mem_ok && rng_chance(&g->rng, 35))
			kind = kind == 'E' ? 'M' : 'm';
		else
			kind = kind == 'E' ? 'R' : 'r';
		break;
	case 'u':
		kind = mem_ok && rng_chance(&g->rng, 35) ? 'n' : 'v';
		break;
	case 'O':
		kind = mem_ok && rng_chance(&g->rng, 35) ? 'W' : 'V';
		break;
	}
	switch (kind) {
	case 'R':
	case 'r':
		set_reg(op, int_reg(g, bits, kind == 'R'));
		return op->reg.value != ZYDIS_REGISTER_NONE;
	case 'M':
	case 'm':
	case 'n':
	case 'W': {
		bool vec = kind == 'n' || kind == 'W';
		unsigned bytes = (unsigned)(vec ? vbits : bits) / 8;
		pk->has_mem = true;
		pk->mem_dest = kind == 'M' || kind == 'W';
		return memory_operand(g, op, bytes, vec ? bytes : 1, pk->mem_dest);
	}
	case 'i':
		set_imm(op, (pk->t->flags & T_IMM64) && bits == 64 && rng_chance(&g->rng, 30)
				    ? rng_next(&g->rng) : random_imm(g, bits));
		return true;
	case 'b':
		set_imm(op, rng_below(&g->rng, 256));
		return true;
	case 's':
		set_imm(op, shift_count(g, bits));
		return true;
	case 'c':
		set_reg(op, ZYDIS_REGISTER_CL);
		return true;
	case 'A':
	case 'N':
		address_operand(g, op, (unsigned)bits / 8);
		return true;
	case 'V':
	case 'v':
		set_reg(op, vector_reg(g, pk, vbits));
		return true;
	case 'K':
	case 'k':
		set_reg(op, ZydisRegisterEncode(ZYDIS_REGCLASS_MASK, (ZyanU8)rng_below(&g->rng, 8)));
		return true;
	default:
		return false;
	}
}

/* {k1}-{k7} after the destination, and maybe zeroing. */
static void add_mask(struct gen *g, struct pick *pk)
{
	ZydisEncoderRequest *r = &pk->r;
	memmove(&r->operands[2], &r->operands[1], (r->operand_count - 1) * sizeof r->operands[0]);
	set_reg(&r->operands[1], ZydisRegisterEncode(ZYDIS_REGCLASS_MASK,
						     (ZyanU8)(1 + rng_below(&g->rng, 7))));
	r->operand_count++;
	bool vector_dest = r->operands[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
			   ZydisRegisterGetClass(r->operands[0].reg.value) != ZYDIS_REGCLASS_MASK;
	r->evex.zeroing_mask = vector_dest && rng_chance(&g->rng, 40);
}

static bool build(struct gen *g, struct pick *pk)
{
	static const int int_sizes[4] = { 8, 16, 32, 64 }, vec_sizes[4] = { 128, 256, 512, 512 };
	const struct tmpl *t = pk->t;
	request(&pk->r, t->m, 0);
	pk->bits = t->enc == INT ? pick_width(g, t->widths, int_sizes) : 32;
	pk->vbits = t->enc == INT ? 128 : pick_width(g, t->widths, vec_sizes);
	pk->r.allowed_encodings = t->enc == SSE ? ZYDIS_ENCODABLE_ENCODING_LEGACY
				  : t->enc == VEX ? ZYDIS_ENCODABLE_ENCODING_VEX
				  : t->enc == EVEX ? ZYDIS_ENCODABLE_ENCODING_EVEX
				  : ZYDIS_ENCODABLE_ENCODING_DEFAULT;
	for (const char *o = t->ops; *o; o++) {
		if (*o == ' ')
			continue;
		char size = o[1] && o[1] != ' ' ? o[1] : 0;
		if (!operand(g, pk, *o, size, &pk->r.operands[pk->r.operand_count++]))
			return false;
		if (size)
			o++;
	}
	if ((t->flags & T_MASK) && rng_chance(&g->rng, 50))
		add_mask(g, pk);
	if ((t->flags & T_LOCK) && pk->mem_dest && rng_chance(&g->rng, 30))
		pk->r.prefixes |= ZYDIS_ATTRIB_HAS_LOCK;
	return true;
}

static bool usable(const struct gen *g, const struct tmpl *t, bool flags_reader)
{
	if (!has(&g->f, t->feat) || (flags_reader && !(t->flags & T_READS)))
		return false;
	for (int r = 0; r < 3; r++)
		if ((t->implicit & (1u << r)) && !is_writable(g, r))
			return false;
	return true;
}

static const struct tmpl *choose(struct gen *g, bool flags_reader, unsigned need)
{
	/* Integer, flag-reading and vector instructions in about equal measure
	 * whatever the table's proportions. */
	int want = flags_reader ? 1 : (int)rng_below(&g->rng, 3);
	for (int tries = 0; tries < 200; tries++) {
		const struct tmpl *t = &templates[rng_below(&g->rng, NTEMPLATES)];
		int kind = t->enc != INT ? 2 : (t->flags & T_READS) ? 1 : 0;
		if ((kind == want || tries > 100) && usable(g, t, flags_reader) &&
		    (t->flags & need) == need)
			return t;
	}
	return NULL;
}

static bool one_of(struct gen *g, bool flags_reader, unsigned need)
{
	for (int tries = 0; tries < 50; tries++) {
		size_t mark = g->p->n;
		long spent = g->spent;
		struct pick pk = { .t = choose(g, flags_reader, need) };
		if (!pk.t)
			return false;
		if (build(g, &pk) && emit(g, &pk.r)) {
			if (pk.t->feat != F_BASE)
				g->p->v[g->p->n - 1].needs = 1u << (pk.t->feat - 1);
			return true;
		}
		g->p->n = mark;
		g->spent = spent;
	}
	return false;
}

bool plain_insn(struct gen *g, bool flags_reader)
{
	return one_of(g, flags_reader, 0);
}

/* Something whose flags a jcc then tests. */
bool flag_test(struct gen *g)
{
	return one_of(g, false, T_WRITES);
}

static bool free_regs(const struct gen *g, uint32_t regs)
{
	for (int r = 0; r < 16; r++)
		if ((regs & (1u << r)) && !is_writable(g, r))
			return false;
	return true;
}

#define R_RAX 0
#define R_RCX 1
#define R_RDX 2
#define R_RSI 6
#define R_RDI 7

/* A pointer with room for 320 bytes either way (the direction flag may be
 * set); with the address-size prefix, noise in the upper half. */
static bool string_pointer(struct gen *g, int reg, bool addr32)
{
	uint64_t a = (rng_chance(&g->rng, 50) ? g->ripdata : DATA_ADDR) + 512 +
		     rng_below(&g->rng, DATA_SIZE - 1024);
	if (addr32) {
		if (a >> 32)
			a = DATA_ADDR + 512 + rng_below(&g->rng, DATA_SIZE - 1024);
		return set_register(g, reg, (rng_next(&g->rng) << 32) | a);
	}
	return rng_chance(&g->rng, 50) && a - g->code < (1ull << 30) ? lea_rip(g, reg, a)
								     : set_register(g, reg, a);
}

/* movs/stos/lods/cmps/scas, with or without a REP prefix (counts of 0
 * included), with or without the address-size prefix. */
bool string_op(struct gen *g)
{
	static const ZydisMnemonic ops[5][4] = {
		{ ZYDIS_MNEMONIC_MOVSB, ZYDIS_MNEMONIC_MOVSW, ZYDIS_MNEMONIC_MOVSD, ZYDIS_MNEMONIC_MOVSQ },
		{ ZYDIS_MNEMONIC_STOSB, ZYDIS_MNEMONIC_STOSW, ZYDIS_MNEMONIC_STOSD, ZYDIS_MNEMONIC_STOSQ },
		{ ZYDIS_MNEMONIC_LODSB, ZYDIS_MNEMONIC_LODSW, ZYDIS_MNEMONIC_LODSD, ZYDIS_MNEMONIC_LODSQ },
		{ ZYDIS_MNEMONIC_CMPSB, ZYDIS_MNEMONIC_CMPSW, ZYDIS_MNEMONIC_CMPSD, ZYDIS_MNEMONIC_CMPSQ },
		{ ZYDIS_MNEMONIC_SCASB, ZYDIS_MNEMONIC_SCASW, ZYDIS_MNEMONIC_SCASD, ZYDIS_MNEMONIC_SCASQ },
	};
	int op = (int)rng_below(&g->rng, 5);
	bool rep = rng_chance(&g->rng, 75), addr32 = rng_chance(&g->rng, 25);
	bool src = op == 0 || op == 2 || op == 3, dst = op != 2;
	uint32_t regs = (rep ? 1u << R_RCX : 0) | (src ? 1u << R_RSI : 0) | (dst ? 1u << R_RDI : 0) |
			(op == 2 ? 1u << R_RAX : 0);
	if (!free_regs(g, regs))
		return false;
	if (rep) {
		uint64_t n = rng_chance(&g->rng, 25) ? 0 : rng_chance(&g->rng, 80)
			     ? rng_below(&g->rng, 9) : rng_below(&g->rng, 41);
		if (!set_register(g, R_RCX, addr32 ? (rng_next(&g->rng) << 32) | n : n))
			return false;
		count_insns(g, n ? (long)n - 1 : 0);
	}
	if ((src && !string_pointer(g, R_RSI, addr32)) || (dst && !string_pointer(g, R_RDI, addr32)))
		return false;
	ZydisEncoderRequest r;
	request(&r, ops[op][rng_below(&g->rng, 4)], 0);
	if (rep)
		r.prefixes = op >= 3 ? (rng_chance(&g->rng, 50) ? ZYDIS_ATTRIB_HAS_REPE
								 : ZYDIS_ATTRIB_HAS_REPNE)
				     : ZYDIS_ATTRIB_HAS_REP;
	if (addr32)
		r.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_32;
	return emit(g, &r);
}

/* div/idiv (32 or 64 bits) with the dividend and divisor made safe: RDX
 * zero, RAX halved for idiv, the divisor odd. */
bool divide(struct gen *g)
{
	if (!free_regs(g, (1u << R_RAX) | (1u << R_RDX)))
		return false;
	int d = writable_reg_except(g, (1u << R_RAX) | (1u << R_RDX));
	bool is_signed = rng_chance(&g->rng, 50);
	int bits = rng_chance(&g->rng, 50) ? 32 : 64;
	if (d < 0)
		return false;
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_XOR, 2);
	set_reg(&r.operands[0], gpr(R_RDX, 32));
	set_reg(&r.operands[1], gpr(R_RDX, 32));
	if (!emit(g, &r) || (is_signed && !emit2(g, ZYDIS_MNEMONIC_SHR, gpr(R_RAX, bits), 1)) ||
	    !emit2(g, ZYDIS_MNEMONIC_OR, gpr(d, bits), 1))
		return false;
	request(&r, is_signed ? ZYDIS_MNEMONIC_IDIV : ZYDIS_MNEMONIC_DIV, 1);
	set_reg(&r.operands[0], gpr(d, bits));
	return emit(g, &r);
}

/* getuid: the same answer natively and under prof; RCX and R11 are
 * written by the CPU (R11 gets RFLAGS). */
bool system_call(struct gen *g)
{
	if (!free_regs(g, (1u << R_RAX) | (1u << R_RCX) | (1u << 11)))
		return false;
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_SYSCALL, 0);
	return emit2(g, ZYDIS_MNEMONIC_MOV, gpr(R_RAX, 32), 102) && emit(g, &r);
}
