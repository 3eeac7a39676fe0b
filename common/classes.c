/* Opcode classes decided with capstone. The class table lives here alone;
 * everything else prints class_name() and loops to CLASS_COUNT. */
#include "prof/classes.h"
#include "capstone_decode.h"
#include "zydis_fallback.h"
#include "prof/util.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <string.h>

static const char *const class_names[CLASS_COUNT] = {
	[CLASS_BRANCH] = "branch", [CLASS_CALL] = "call",   [CLASS_RET] = "ret",
	[CLASS_SYSCALL] = "syscall", [CLASS_STRING] = "string", [CLASS_SIMD] = "simd",
	[CLASS_FP] = "fp",           [CLASS_LOAD] = "load",     [CLASS_STORE] = "store",
	[CLASS_ALU] = "alu",         [CLASS_NOP] = "nop",       [CLASS_OTHER] = "other",
};

const char *class_name(unsigned cls)
{
	return cls < CLASS_COUNT ? class_names[cls] : "?";
}

int class_from_name(const char *name)
{
	for (int i = 0; i < CLASS_COUNT; i++)
		if (strcmp(class_names[i], name) == 0)
			return i;
	return -1;
}

struct classifier {
	csh handle;
	cs_insn *insn;
	struct zydis_fallback *fallback;
	bool att;
	/* What insn holds: the translator asks for an instruction's class and
	 * then its encoding, and capstone's decode was a tenth of prof's time
	 * on node. */
	bool held;
	uint64_t held_addr;
	uint8_t held_code[16];
};

struct classifier *classifier_new(void)
{
	struct classifier *c = xcalloc(1, sizeof *c);
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &c->handle) != CS_ERR_OK) {
		free(c);
		return NULL;
	}
	cs_option(c->handle, CS_OPT_DETAIL, CS_OPT_ON);
	c->insn = cs_malloc(c->handle);
	c->fallback = zydis_fallback_new();
	return c;
}

void classifier_free(struct classifier *c)
{
	if (!c)
		return;
	cs_free(c->insn, 1);
	cs_close(&c->handle);
	zydis_fallback_free(c->fallback);
	free(c);
}

/* Capstone's decode of the first instruction of code[0..size) at addr,
 * into c->insn (kept from the last call when the bytes are the same). */
static bool disasm(struct classifier *c, const uint8_t *code, size_t size, uint64_t addr)
{
	if (c->held && addr == c->held_addr && size >= c->insn->size &&
	    memcmp(code, c->held_code, c->insn->size) == 0)
		return true;
	const uint8_t *p = code;
	size_t n = size;
	uint64_t a = addr;
	c->held = cs_disasm_iter(c->handle, &p, &n, &a, c->insn) && c->insn->size <= 16;
	if (c->held) {
		c->held_addr = addr;
		memcpy(c->held_code, code, c->insn->size);
	}
	return c->held;
}

static bool has_group(const cs_insn *i, uint8_t group)
{
	for (int k = 0; k < i->detail->groups_count; k++)
		if (i->detail->groups[k] == group)
			return true;
	return false;
}

/* One-byte opcodes A4-A7, AA-AF, 6C-6F: movs, cmps, stos, lods, scas, ins, outs. */
static bool is_string_op(const cs_x86 *x)
{
	uint8_t op = x->opcode[0];
	if (x->opcode[1] != 0)
		return false;
	return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) ||
	       (op >= 0x6c && op <= 0x6f);
}

static bool is_x87(const cs_x86 *x)
{
	return x->opcode[1] == 0 && x->opcode[0] >= 0xd8 && x->opcode[0] <= 0xdf;
}

static bool uses_vector_register(const cs_x86 *x)
{
	for (int k = 0; k < x->op_count; k++) {
		const cs_x86_op *op = &x->operands[k];
		if (op->type != X86_OP_REG)
			continue;
		if ((op->reg >= X86_REG_XMM0 && op->reg <= X86_REG_XMM31) ||
		    (op->reg >= X86_REG_YMM0 && op->reg <= X86_REG_YMM31) ||
		    (op->reg >= X86_REG_ZMM0 && op->reg <= X86_REG_ZMM31) ||
		    (op->reg >= X86_REG_MM0 && op->reg <= X86_REG_MM7))
			return true;
	}
	return false;
}

static bool is_simd_group(const cs_insn *i)
{
	static const uint8_t groups[] = {
		X86_GRP_SSE1, X86_GRP_SSE2, X86_GRP_SSE3, X86_GRP_SSE41, X86_GRP_SSE42,
		X86_GRP_SSE4A, X86_GRP_SSSE3, X86_GRP_AVX, X86_GRP_AVX2, X86_GRP_AVX512,
		X86_GRP_MMX, X86_GRP_3DNOW, X86_GRP_FMA, X86_GRP_FMA4, X86_GRP_F16C,
		X86_GRP_AES, X86_GRP_SHA, X86_GRP_PCLMUL, X86_GRP_XOP, X86_GRP_CDI,
		X86_GRP_ERI, X86_GRP_DQI, X86_GRP_BWI, X86_GRP_PFI, X86_GRP_VLX,
	};
	for (size_t k = 0; k < sizeof groups; k++)
		if (has_group(i, groups[k]))
			return true;
	return false;
}

/* System, serializing and hint instructions that are none of the other kinds. */
static bool is_other(unsigned id)
{
	switch (id) {
	case X86_INS_CPUID: case X86_INS_RDTSC: case X86_INS_RDTSCP:
	case X86_INS_XGETBV: case X86_INS_HLT: case X86_INS_UD2: case X86_INS_PAUSE:
	case X86_INS_RDRAND: case X86_INS_RDSEED: case X86_INS_LFENCE:
	case X86_INS_MFENCE: case X86_INS_SFENCE: case X86_INS_PREFETCH:
	case X86_INS_PREFETCHNTA: case X86_INS_PREFETCHT0: case X86_INS_PREFETCHT1:
	case X86_INS_PREFETCHT2: case X86_INS_PREFETCHW: case X86_INS_XSAVE:
	case X86_INS_XSAVEC: case X86_INS_XSAVEOPT: case X86_INS_XRSTOR:
	case X86_INS_FXSAVE: case X86_INS_FXSAVE64: case X86_INS_FXRSTOR:
	case X86_INS_FXRSTOR64: case X86_INS_XSAVE64: case X86_INS_XRSTOR64:
	case X86_INS_XSAVEC64: case X86_INS_XSAVEOPT64: case X86_INS_CLFLUSH:
	case X86_INS_CLFLUSHOPT: case X86_INS_CLWB:
	case X86_INS_RDFSBASE: case X86_INS_RDGSBASE:
	case X86_INS_WRFSBASE: case X86_INS_WRGSBASE:
		return true;
	default:
		return false;
	}
}

/* capstone 4 marks the memory destination of SETcc (all but sete/setne)
 * and of ROL/ROR/RCL/RCR as read only, although each writes it. */
static bool writes_first_operand(unsigned id)
{
	switch (id) {
	case X86_INS_SETO: case X86_INS_SETNO: case X86_INS_SETB: case X86_INS_SETAE:
	case X86_INS_SETE: case X86_INS_SETNE: case X86_INS_SETBE: case X86_INS_SETA:
	case X86_INS_SETS: case X86_INS_SETNS: case X86_INS_SETP: case X86_INS_SETNP:
	case X86_INS_SETL: case X86_INS_SETGE: case X86_INS_SETLE: case X86_INS_SETG:
	case X86_INS_ROL: case X86_INS_ROR: case X86_INS_RCL: case X86_INS_RCR:
		return true;
	default:
		return false;
	}
}

static enum insn_class memory_class(const cs_insn *i)
{
	const cs_x86 *x = &i->detail->x86;
	bool reads = false, writes = false;
	for (int k = 0; k < x->op_count; k++) {
		if (x->operands[k].type != X86_OP_MEM)
			continue;
		if (x->operands[k].access & CS_AC_WRITE)
			writes = true;
		if (x->operands[k].access & CS_AC_READ)
			reads = true;
	}
	/* Implicit stack accesses are not listed as operands. */
	uint8_t op = x->opcode[1] == 0 ? x->opcode[0] : 0;
	if ((op >= 0x50 && op <= 0x57) || op == 0x68 || op == 0x6a || op == 0x9c)
		writes = true; /* push, push imm, pushf */
	if ((op >= 0x58 && op <= 0x5f) || op == 0x9d || op == 0xc9)
		reads = true;  /* pop, popf, leave */
	switch (i->id) {
	case X86_INS_PUSH:
	case X86_INS_ENTER:
		writes = true;
		break;
	case X86_INS_POP:
	case X86_INS_XLATB:
		reads = true;
		break;
	case X86_INS_CMPXCHG: /* capstone marks these memory operands read-only */
	case X86_INS_CMPXCHG8B:
	case X86_INS_CMPXCHG16B:
		writes = reads;
		break;
	case X86_INS_MOVBE:
		writes = x->op_count > 0 && x->operands[0].type == X86_OP_MEM;
		break;
	}
	if (writes_first_operand(i->id) && x->op_count > 0 && x->operands[0].type == X86_OP_MEM)
		writes = true;
	if (writes)
		return CLASS_STORE;
	if (reads && i->id != X86_INS_LEA)
		return CLASS_LOAD;
	return CLASS_ALU;
}

static enum insn_class classify(const cs_insn *i)
{
	const cs_x86 *x = &i->detail->x86;
	if (i->id == X86_INS_SYSCALL || i->id == X86_INS_SYSENTER ||
	    has_group(i, X86_GRP_INT))
		return CLASS_SYSCALL;
	if (has_group(i, X86_GRP_CALL))
		return CLASS_CALL;
	if (has_group(i, X86_GRP_RET) || has_group(i, X86_GRP_IRET))
		return CLASS_RET;
	/* capstone 4 does not put loop/loope/loopne in the jump group. */
	if (has_group(i, X86_GRP_JUMP) || i->id == X86_INS_LOOP || i->id == X86_INS_LOOPE ||
	    i->id == X86_INS_LOOPNE)
		return CLASS_BRANCH;
	if (is_string_op(x))
		return CLASS_STRING;
	if (i->id == X86_INS_NOP || i->id == X86_INS_ENDBR64 || i->id == X86_INS_ENDBR32)
		return CLASS_NOP;
	if (is_other(i->id))
		return CLASS_OTHER;
	if (is_x87(x) || has_group(i, X86_GRP_FPU))
		return CLASS_FP;
	if (i->id == X86_INS_MOVNTI) /* a non-temporal store of an integer register */
		return CLASS_STORE;
	/* crc32 computes on general registers (capstone files it under SSE4.2):
	 * integer arithmetic, or a load when it reads memory. */
	if (i->id == X86_INS_CRC32)
		return memory_class(i);
	if (is_simd_group(i) || uses_vector_register(x))
		return CLASS_SIMD;
	return memory_class(i);
}

static uint8_t flag_bits(uint64_t ef, uint64_t cf, uint64_t pf, uint64_t af, uint64_t zf,
			 uint64_t sf, uint64_t of)
{
	return (uint8_t)((ef & cf ? FLAG_CF : 0) | (ef & pf ? FLAG_PF : 0) | (ef & af ? FLAG_AF : 0) |
			 (ef & zf ? FLAG_ZF : 0) | (ef & sf ? FLAG_SF : 0) | (ef & of ? FLAG_OF : 0));
}

/* A shift or rotate by zero leaves every flag as it was: it overwrites none for sure. */
static bool may_keep_flags(unsigned id)
{
	switch (id) {
	case X86_INS_SHL: case X86_INS_SHR: case X86_INS_SAR: case X86_INS_SAL:
	case X86_INS_ROL: case X86_INS_ROR: case X86_INS_RCL: case X86_INS_RCR:
	case X86_INS_SHLD: case X86_INS_SHRD:
		return true;
	default:
		return false;
	}
}

/* Instructions that read the carry (or overflow) flag although capstone 4
 * reports no flag read for them: a table of our own, from the manuals, so
 * that no single source's gap can make the code cache clobber a flag. */
static uint8_t known_flag_reads(unsigned id)
{
	switch (id) {
	case X86_INS_ADC: case X86_INS_SBB: case X86_INS_RCL: case X86_INS_RCR:
	case X86_INS_CMC: case X86_INS_ADCX:
		return FLAG_CF;
	case X86_INS_ADOX:
		return FLAG_OF;
	default:
		return 0;
	}
}

/* The AF the manuals leave undefined after and, or, xor and test: every
 * CPU and emulator we know of clears it. They are the commonest flag
 * setters at a block's start: with it, the counter update there needs no
 * saved flags. */
static bool undefined_is_written(unsigned id)
{
	return id == X86_INS_AND || id == X86_INS_OR || id == X86_INS_XOR || id == X86_INS_TEST;
}

/* Other undefined flags are not counted as written: some CPUs leave them
 * as they were (AMD Zen 4: SF, ZF, AF, PF of mul and imul; OF, SF, AF, PF
 * of bt, bts, btr, btc; OF of lzcnt and tzcnt), and what prof's counter
 * update left there must not be what the program then sees. capstone 4
 * also says imul sets SF, which it leaves undefined. */
static uint8_t surely_written(const cs_insn *i)
{
	uint64_t ef = i->detail->x86.eflags;
	if (may_keep_flags(i->id))
		return 0;
	if (i->id == X86_INS_MUL || i->id == X86_INS_IMUL)
		return flag_bits(ef, X86_EFLAGS_MODIFY_CF, 0, 0, 0, 0, X86_EFLAGS_MODIFY_OF);
	uint64_t u = undefined_is_written(i->id) ? ~0ull : 0;
	uint64_t cf = X86_EFLAGS_MODIFY_CF | X86_EFLAGS_RESET_CF | X86_EFLAGS_SET_CF | (u & X86_EFLAGS_UNDEFINED_CF);
	uint64_t pf = X86_EFLAGS_MODIFY_PF | X86_EFLAGS_RESET_PF | X86_EFLAGS_SET_PF | (u & X86_EFLAGS_UNDEFINED_PF);
	uint64_t af = X86_EFLAGS_MODIFY_AF | X86_EFLAGS_RESET_AF | X86_EFLAGS_SET_AF | (u & X86_EFLAGS_UNDEFINED_AF);
	uint64_t zf = X86_EFLAGS_MODIFY_ZF | X86_EFLAGS_RESET_ZF | X86_EFLAGS_SET_ZF | (u & X86_EFLAGS_UNDEFINED_ZF);
	uint64_t sf = X86_EFLAGS_MODIFY_SF | X86_EFLAGS_RESET_SF | X86_EFLAGS_SET_SF | (u & X86_EFLAGS_UNDEFINED_SF);
	uint64_t of = X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_OF | X86_EFLAGS_SET_OF | (u & X86_EFLAGS_UNDEFINED_OF);
	return flag_bits(ef, cf, pf, af, zf, sf, of);
}

/* Flags read are the union of what capstone, Zydis and our table say; flags
 * written only what capstone and Zydis both say is always overwritten
 * (undefined flags not, but the logical instructions' AF: see above).
 * Where a source is silent the instruction reads everything and writes
 * nothing, so the code cache saves the flags around its own updates. */
static void describe_flags(struct classifier *c, const cs_insn *i, const uint8_t *code,
			   size_t size, struct insn_info *out)
{
	uint64_t ef = i->detail->x86.eflags;
	out->flags_read = flag_bits(ef, X86_EFLAGS_TEST_CF, X86_EFLAGS_TEST_PF, X86_EFLAGS_TEST_AF,
				    X86_EFLAGS_TEST_ZF, X86_EFLAGS_TEST_SF, X86_EFLAGS_TEST_OF);
	out->flags_read |= known_flag_reads(i->id);
	out->flags_written = surely_written(i);
	uint8_t zread, zwritten;
	if (zydis_status_flags(c->fallback, code, size, &zread, &zwritten)) {
		out->flags_read |= zread;
		out->flags_written &= zwritten | (undefined_is_written(i->id) ? FLAG_AF : 0);
	} else {
		out->flags_read = FLAGS_STATUS;
		out->flags_written = 0;
	}
	/* Whatever capstone 4 leaves out: these read RFLAGS whole. */
	if (i->id == X86_INS_PUSHF || i->id == X86_INS_PUSHFQ || i->id == X86_INS_LAHF ||
	    i->id == X86_INS_INTO || out->cls == CLASS_SYSCALL || out->cls == CLASS_OTHER)
		out->flags_read = FLAGS_STATUS;
}

static bool writes_rsp(const cs_insn *i)
{
	for (uint8_t k = 0; k < i->detail->regs_write_count; k++)
		if (i->detail->regs_write[k] == X86_REG_RSP)
			return true;
	for (int k = 0; k < i->detail->x86.op_count; k++) {
		const cs_x86_op *op = &i->detail->x86.operands[k];
		if (op->type == X86_OP_REG && op->reg == X86_REG_RSP && (op->access & CS_AC_WRITE))
			return true;
	}
	return false;
}

/* RSP's change, for the stack pointer of calls a block runs through. */
static void describe_stack(const cs_insn *i, const struct insn_info *info, int32_t *delta,
			   bool *unknown)
{
	const cs_x86 *x = &i->detail->x86;
	const cs_x86_op *op = x->operands;
	*delta = 0;
	*unknown = false;
	bool to_rsp = x->op_count >= 1 && op[0].type == X86_OP_REG && op[0].reg == X86_REG_RSP;
	switch (i->id) {
	case X86_INS_PUSH: case X86_INS_PUSHFQ:
		*delta = x->prefix[2] == 0x66 ? -2 : -8;
		return;
	case X86_INS_POP: case X86_INS_POPFQ:
		*unknown = to_rsp;
		*delta = x->prefix[2] == 0x66 ? 2 : 8;
		return;
	case X86_INS_CALL:
		*delta = -8;
		return;
	case X86_INS_RET:
		*delta = 8 + info->ret_imm;
		return;
	case X86_INS_SUB: case X86_INS_ADD:
		if (to_rsp && x->op_count == 2 && op[1].type == X86_OP_IMM) {
			*delta = (int32_t)(i->id == X86_INS_SUB ? -op[1].imm : op[1].imm);
			return;
		}
		break;
	case X86_INS_LEA:
		if (to_rsp && op[1].mem.base == X86_REG_RSP && op[1].mem.index == X86_REG_INVALID &&
		    op[1].mem.segment == X86_REG_INVALID) {
			*delta = (int32_t)op[1].mem.disp;
			return;
		}
		break;
	default:
		break;
	}
	*unknown = writes_rsp(i);
}

bool classifier_decode(struct classifier *c, const uint8_t *code, size_t size,
		       uint64_t addr, struct insn_info *out)
{
	return classifier_decode_branch(c, code, size, addr, out, NULL);
}

bool classifier_decode_branch(struct classifier *c, const uint8_t *code, size_t size,
			      uint64_t addr, struct insn_info *out, struct branch *br)
{
	if (br)
		memset(br, 0, sizeof *br);
	memset(out, 0, sizeof *out);
	if (!disasm(c, code, size, addr)) {
		if (zydis_fallback_decode(c->fallback, code, size, out))
			return true;
		/* Nobody decodes it: an EVEX (62) or VEX (c4, c5) prefix still says
		 * what kind of instruction it is. */
		out->cls = size && (code[0] == 0x62 || code[0] == 0xc4 || code[0] == 0xc5)
				   ? CLASS_SIMD : CLASS_OTHER;
		return false;
	}
	const cs_insn *i = c->insn;
	const cs_x86 *x = &i->detail->x86;
	out->len = (uint8_t)i->size;
	out->cls = (uint8_t)classify(i);
	out->is_rep = out->cls == CLASS_STRING &&
		      (x->prefix[0] == X86_PREFIX_REP || x->prefix[0] == X86_PREFIX_REPNE);
	out->rep_ecx = out->is_rep && x->prefix[3] == X86_PREFIX_ADDRSIZE;
	out->is_pushf = x->opcode[0] == 0x9c && x->opcode[1] == 0;
	out->is_popf = x->opcode[0] == 0x9d && x->opcode[1] == 0;
	out->is_cpuid = i->id == X86_INS_CPUID;
	out->is_xgetbv = i->id == X86_INS_XGETBV;
	out->is_syscall = i->id == X86_INS_SYSCALL;
	out->is_creq_marker = i->size == 3 && code[0] == 0x48 && code[1] == 0x87 && code[2] == 0xdb;
	describe_flags(c, i, code, size, out);
	if (out->cls == CLASS_RET && x->op_count == 1 && x->operands[0].type == X86_OP_IMM)
		out->ret_imm = (uint16_t)x->operands[0].imm;
	describe_stack(i, out, &out->sp_delta, &out->sp_unknown);
	if (br && (out->cls == CLASS_BRANCH || out->cls == CLASS_CALL || out->cls == CLASS_RET))
		branch_describe(i, br);
	return true;
}

static bool has_rip_operand(const cs_x86 *x)
{
	for (int k = 0; k < x->op_count; k++)
		if (x->operands[k].type == X86_OP_MEM && x->operands[k].mem.base == X86_REG_RIP)
			return true;
	return false;
}

bool classifier_encoding(struct classifier *c, const uint8_t *code, size_t size,
			 uint64_t addr, struct insn_encoding *out)
{
	memset(out, 0, sizeof *out);
	if (!disasm(c, code, size, addr))
		return zydis_fallback_encoding(c->fallback, code, size, out);
	const cs_insn *i = c->insn;
	const cs_x86 *x = &i->detail->x86;
	out->len = (uint8_t)i->size;
	out->is_syscall = classify(i) == CLASS_SYSCALL;
	out->gs_prefix = x->prefix[1] == X86_PREFIX_GS;
	if (has_rip_operand(x))
		out->rip_disp_offset = x->encoding.disp_offset;
	/* A relative branch's displacement is capstone's immediate field. */
	if (has_group(i, X86_GRP_BRANCH_RELATIVE)) {
		out->rel_offset = x->encoding.imm_offset;
		out->rel_size = x->encoding.imm_size;
	}
	return true;
}

void classifier_set_syntax(struct classifier *c, bool att)
{
	cs_option(c->handle, CS_OPT_SYNTAX, att ? CS_OPT_SYNTAX_ATT : CS_OPT_SYNTAX_INTEL);
	c->att = att;
	c->held = false; /* its operands' order and text differ */
}

bool classifier_format(struct classifier *c, const uint8_t *code, size_t size,
		       uint64_t addr, char *buf, size_t buflen)
{
	if (!disasm(c, code, size, addr))
		return zydis_fallback_format(c->fallback, code, size, addr, c->att, buf, buflen);
	snprintf(buf, buflen, "%s%s%s", c->insn->mnemonic,
		 c->insn->op_str[0] ? " " : "", c->insn->op_str);
	return true;
}
