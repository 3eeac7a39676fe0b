#include "cache_emit.h"
#include "cache.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

void emit_init(struct emit *e, uint64_t base)
{
	memset(e, 0, sizeof *e);
	e->base = base;
}

void emit_free(struct emit *e)
{
	free(e->b);
	e->b = NULL;
}

uint64_t emit_here(const struct emit *e)
{
	return e->base + e->n;
}

void emit_bytes(struct emit *e, const void *p, size_t n)
{
	if (e->n + n > e->cap) {
		e->cap = (e->n + n) * 2 + 64;
		e->b = xrealloc(e->b, e->cap);
	}
	memcpy(e->b + e->n, p, n);
	e->n += n;
}

static void emit_u8(struct emit *e, uint8_t v)
{
	emit_bytes(e, &v, 1);
}

static void emit_u32(struct emit *e, uint32_t v)
{
	emit_bytes(e, &v, 4); /* x86: little-endian like the host */
}

/* Any of the 3-byte-opcode gs:[disp32] forms: 65, REX.W (or none), op, modrm, SIB 25. */
static void emit_gs_op(struct emit *e, bool rex_w, uint8_t op, uint8_t modrm_reg, uint32_t off)
{
	emit_u8(e, 0x65);
	if (rex_w)
		emit_u8(e, 0x48);
	emit_u8(e, op);
	emit_u8(e, (uint8_t)(0x04 | (modrm_reg << 3)));
	emit_u8(e, 0x25);
	emit_u32(e, off);
}

void emit_gs_store(struct emit *e, int reg, uint32_t off)
{
	emit_gs_op(e, true, 0x89, (uint8_t)reg, off);
}

void emit_gs_load(struct emit *e, int reg, uint32_t off)
{
	emit_gs_op(e, true, 0x8b, (uint8_t)reg, off);
}

static const uint8_t skip_red_zone[] = { 0x48, 0x8d, 0x64, 0x24, 0x80 };               /* lea rsp,[rsp-128] */
static const uint8_t back_from_red_zone[] = { 0x48, 0x8d, 0xa4, 0x24, 0x80, 0, 0, 0 }; /* lea rsp,[rsp+128] */

static void save_flags(struct emit *e)
{
	emit_bytes(e, skip_red_zone, sizeof skip_red_zone);
	emit_u8(e, 0x9c); /* pushfq */
}

static void restore_flags(struct emit *e)
{
	emit_u8(e, 0x9d); /* popfq */
	emit_bytes(e, back_from_red_zone, sizeof back_from_red_zone);
}

void emit_count(struct emit *e, uint32_t counter_off, uint32_t n, bool flags_live)
{
	if (flags_live)
		save_flags(e);
	if (n <= 127) {
		emit_gs_op(e, true, 0x83, 0, CD_ICOUNT); /* add qword gs:[icount], imm8 */
		emit_u8(e, (uint8_t)n);
	} else {
		emit_gs_op(e, true, 0x81, 0, CD_ICOUNT); /* add qword gs:[icount], imm32 */
		emit_u32(e, n);
	}
	emit_gs_op(e, true, 0xff, 0, counter_off); /* inc qword gs:[counter] */
	if (flags_live)
		restore_flags(e);
}

static uint32_t rel32(uint64_t from_end, uint64_t target)
{
	return (uint32_t)(int32_t)(int64_t)(target - from_end);
}

/* nops until the next instruction's byte `at` (its rel32) is 4-aligned:
 * patching it later is then one aligned store, which a thread running
 * through it sees whole. */
static void align_field(struct emit *e, unsigned at)
{
	while ((emit_here(e) + at) & 3)
		emit_u8(e, 0x90);
}

uint64_t emit_jmp(struct emit *e, uint64_t target)
{
	align_field(e, 1);
	emit_u8(e, 0xe9);
	uint64_t field = emit_here(e);
	emit_u32(e, rel32(field + 4, target));
	return field;
}

uint64_t emit_jcc(struct emit *e, unsigned cond, uint64_t target)
{
	align_field(e, 2);
	emit_u8(e, 0x0f);
	emit_u8(e, (uint8_t)(0x80 | (cond & 15)));
	uint64_t field = emit_here(e);
	emit_u32(e, rel32(field + 4, target));
	return field;
}

void emit_push_return(struct emit *e, uint64_t ret_addr)
{
	static const uint8_t lea_down[] = { 0x48, 0x8d, 0x64, 0x24, 0xf8 }; /* lea rsp,[rsp-8] */
	static const uint8_t store_lo[] = { 0xc7, 0x04, 0x24 };             /* mov dword [rsp], imm32 */
	static const uint8_t store_hi[] = { 0xc7, 0x44, 0x24, 0x04 };       /* mov dword [rsp+4], imm32 */
	emit_bytes(e, lea_down, sizeof lea_down);
	emit_bytes(e, store_lo, sizeof store_lo);
	emit_u32(e, (uint32_t)ret_addr);
	emit_bytes(e, store_hi, sizeof store_hi);
	emit_u32(e, (uint32_t)(ret_addr >> 32));
}

/* mov dword [rax+disp8], imm32 */
static void store_rax_dword(struct emit *e, uint8_t disp, uint32_t v)
{
	if (disp == 0) {
		emit_u8(e, 0xc7);
		emit_u8(e, 0x00);
	} else {
		emit_u8(e, 0xc7);
		emit_u8(e, 0x40);
		emit_u8(e, disp);
	}
	emit_u32(e, v);
}

/* push qword gs:[off]; pop qword [rax+disp8]: memory to memory, no flags. */
static void copy_gs_to_entry(struct emit *e, uint32_t off, uint8_t disp)
{
	emit_gs_op(e, false, 0xff, 6, off);
	emit_u8(e, 0x8f);
	emit_u8(e, 0x40);
	emit_u8(e, disp);
}

/* The entry's rsp field; then RSP goes below the red zone for the copies
 * from memory to memory (push, pop), whose push would otherwise write the
 * 8 bytes under RSP: the program's red zone, or under a return address
 * it pushed itself, data it may read back. */
static void start_copies(struct emit *e)
{
	static const uint8_t store_rsp[] = { 0x48, 0x89, 0x60, 0x10 };  /* mov [rax+16], rsp */
	emit_bytes(e, store_rsp, sizeof store_rsp);
	emit_bytes(e, skip_red_zone, sizeof skip_red_zone);
}

/* The entry's icount field, RSP back, then the log pointer moves on. */
static void finish_log_entry(struct emit *e)
{
	static const uint8_t next[] = { 0x48, 0x8d, 0x40, 0x20 };       /* lea rax, [rax+32] */
	copy_gs_to_entry(e, CD_ICOUNT, 24);
	emit_bytes(e, back_from_red_zone, sizeof back_from_red_zone);
	emit_bytes(e, next, sizeof next);
	emit_gs_store(e, R_RAX, CD_LOG_PTR);
}

size_t emit_log_call(struct emit *e, uint64_t site, uint64_t target, bool target_in_tmp)
{
	emit_gs_load(e, R_RAX, CD_LOG_PTR);
	size_t first_store = e->n;
	store_rax_dword(e, 0, (uint32_t)site);
	store_rax_dword(e, 4, (uint32_t)(site >> 32));
	if (!target_in_tmp) {
		store_rax_dword(e, 8, (uint32_t)target);
		store_rax_dword(e, 12, (uint32_t)(target >> 32));
	}
	start_copies(e);
	if (target_in_tmp)
		copy_gs_to_entry(e, CD_TMP_T, 8);
	finish_log_entry(e);
	return first_store;
}

size_t emit_log_ret(struct emit *e)
{
	static const uint8_t zero_site[] = { 0x48, 0xc7, 0x00, 0, 0, 0, 0 }; /* mov qword [rax], 0 */
	static const uint8_t copy_target[] = { 0xff, 0xb4, 0x24, 0x80, 0, 0, 0, /* push [rsp+128] */
					       0x8f, 0x40, 0x08 };              /* pop [rax+8] */
	emit_gs_load(e, R_RAX, CD_LOG_PTR);
	size_t first_store = e->n;
	emit_bytes(e, zero_site, sizeof zero_site);
	start_copies(e);
	emit_bytes(e, copy_target, sizeof copy_target);
	finish_log_entry(e);
	return first_store;
}

void emit_rep(struct emit *e, const uint8_t *code, size_t len, bool ecx, uint32_t counter_off)
{
	static const uint8_t sub64[] = { 0x48, 0x29, 0xc8 };        /* sub rax, rcx */
	static const uint8_t sub32[] = { 0x29, 0xc8 };              /* sub eax, ecx */
	static const uint8_t adc0[] = { 0x48, 0x83, 0xd0, 0x00 };   /* adc rax, 0 */
	emit_gs_store(e, R_RCX, CD_REP_BEFORE);
	emit_bytes(e, code, len);
	save_flags(e);
	emit_gs_store(e, R_RAX, CD_TMP_RAX);
	emit_gs_load(e, R_RAX, CD_REP_BEFORE);
	if (ecx)
		emit_bytes(e, sub32, sizeof sub32);
	else
		emit_bytes(e, sub64, sizeof sub64);
	/* cmp gs:[before], 1 sets CF when it was 0: that REP still counts once. */
	emit_gs_op(e, !ecx, 0x83, 7, CD_REP_BEFORE);
	emit_u8(e, 1);
	emit_bytes(e, adc0, sizeof adc0);
	emit_gs_op(e, true, 0x01, R_RAX, counter_off);  /* add gs:[counter], rax */
	emit_gs_op(e, true, 0x01, R_RAX, CD_ICOUNT);    /* add gs:[icount], rax */
	emit_gs_load(e, R_RAX, CD_TMP_RAX);
	restore_flags(e);
}

void emit_lookup(struct emit *e, uint64_t table, uint64_t *probe, uint64_t *miss)
{
	static const uint8_t hash_head[] = {
		0x48, 0x89, 0xc1,       /* mov rcx, rax */
		0x9f,                   /* lahf */
		0x0f, 0x90, 0xc0,       /* seto al */
	};
	static const uint8_t hash_mul[] = {
		0x48, 0x89, 0xca,       /* mov rdx, rcx */
		0x48, 0x69, 0xd2,       /* imul rdx, rdx, imm32 */
	};
	/* Bits 24 and up of the product: every bit of a code address's low
	 * 20 or so (where targets differ) reaches them. */
	static const uint8_t hash_tail[] = {
		0x48, 0xc1, 0xea, CD_HASH_SHIFT,      /* shr rdx, shift */
		0x81, 0xe2, (uint8_t)((1u << CR_TABLE_BITS) - 1),
		(uint8_t)(((1u << CR_TABLE_BITS) - 1) >> 8), 0, 0,   /* and edx, mask */
		0x48, 0xc1, 0xe2, 0x04,               /* shl rdx, 4 */
	};
	static const uint8_t lea_table[] = { 0x48, 0x8d, 0x05 };      /* lea rax, [rip+disp32] */
	static const uint8_t add_base[] = { 0x48, 0x01, 0xc2 };       /* add rdx, rax */
	static const uint8_t cmp_key[] = { 0x48, 0x39, 0x0a };        /* cmp [rdx], rcx */
	static const uint8_t cmp_empty[] = { 0x48, 0x83, 0x3a, 0x00 };/* cmp qword [rdx], 0 */
	static const uint8_t next_slot[] = { 0x48, 0x83, 0xc2, 0x10 };/* add rdx, 16 */
	static const uint8_t load_value[] = { 0x48, 0x8b, 0x52, 0x08 };/* mov rdx, [rdx+8] */
	static const uint8_t restore_of[] = { 0x04, 0x7f, 0x9e };     /* add al, 0x7f; sahf */
	emit_gs_store(e, R_RCX, CD_TMP_RCX);
	emit_gs_store(e, R_RDX, CD_TMP_RDX);
	emit_bytes(e, hash_head, sizeof hash_head);
	emit_gs_store(e, R_RAX, CD_TMP_FLAGS);
	emit_bytes(e, hash_mul, sizeof hash_mul);
	emit_u32(e, CD_HASH_MUL);
	emit_bytes(e, hash_tail, sizeof hash_tail);
	emit_bytes(e, lea_table, sizeof lea_table);
	emit_u32(e, rel32(emit_here(e) + 4, table));
	emit_bytes(e, add_base, sizeof add_base);
	*probe = emit_here(e);
	emit_bytes(e, cmp_key, sizeof cmp_key);
	size_t je_hit = e->n;
	emit_u8(e, 0x74);
	emit_u8(e, 0);
	emit_bytes(e, cmp_empty, sizeof cmp_empty);
	size_t je_miss = e->n;
	emit_u8(e, 0x74);
	emit_u8(e, 0);
	emit_bytes(e, next_slot, sizeof next_slot);
	emit_u8(e, 0xeb);                              /* jmp probe */
	emit_u8(e, (uint8_t)(int8_t)((int64_t)*probe - (int64_t)(emit_here(e) + 1)));
	e->b[je_hit + 1] = (uint8_t)(e->n - (je_hit + 2));
	emit_bytes(e, load_value, sizeof load_value);
	emit_gs_store(e, R_RDX, CD_TMP_TARGET);
	emit_gs_load(e, R_RAX, CD_TMP_FLAGS);
	emit_bytes(e, restore_of, sizeof restore_of);
	emit_gs_load(e, R_RAX, CD_TMP_RAX);
	emit_gs_load(e, R_RCX, CD_TMP_RCX);
	emit_gs_load(e, R_RDX, CD_TMP_RDX);
	emit_gs_op(e, false, 0xff, 4, CD_TMP_TARGET);  /* jmp qword gs:[target] */
	e->b[je_miss + 1] = (uint8_t)(e->n - (je_miss + 2));
	*miss = emit_here(e);
	emit_u8(e, 0xcc);
}

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	default:
		return false;
	}
}

bool emit_load_operand(struct emit *e, const uint8_t *code, size_t len, uint64_t from)
{
	uint8_t out[24];
	size_t i = 0, o = 0;
	for (; i < len && is_legacy_prefix(code[i]); i++) {
		if (code[i] == 0x66)
			return false; /* a 16-bit target */
		/* Segment and address-size prefixes still matter to the operand;
		 * notrack, bnd and branch hints do not. */
		if (code[i] == 0x64 || code[i] == 0x65 || code[i] == 0x67)
			out[o++] = code[i];
	}
	uint8_t rex = 0;
	if (i < len && (code[i] & 0xf0) == 0x40)
		rex = code[i++];
	if (i + 2 > len || code[i] != 0xff)
		return false;
	uint8_t modrm = code[i + 1];
	unsigned op = (modrm >> 3) & 7;
	if (op != 2 && op != 4)
		return false;
	out[o++] = (uint8_t)(0x48 | (rex & 0x03));      /* REX.W, the operand's X and B */
	out[o++] = 0x8b;                                /* mov rax, r/m64 */
	out[o++] = (uint8_t)(modrm & 0xc7);
	size_t rest = len - (i + 2);
	memcpy(out + o, code + i + 2, rest);
	size_t disp_at = o;
	o += rest;
	if ((modrm & 0xc7) == 0x05) { /* RIP-relative: disp32 right after modrm */
		int32_t disp;
		memcpy(&disp, out + disp_at, 4);
		int64_t target = (int64_t)(from + len) + disp;
		int64_t nd = target - (int64_t)(emit_here(e) + o);
		if (nd != (int32_t)nd)
			return false;
		disp = (int32_t)nd;
		memcpy(out + disp_at, &disp, 4);
	}
	emit_bytes(e, out, o);
	return true;
}

void emit_stub(struct emit *e)
{
	uint8_t b[16];
	memset(b, 0xcc, sizeof b);
	emit_bytes(e, b, sizeof b);
}

void encode_abs_jmp(uint8_t out[14], uint64_t target)
{
	static const uint8_t head[] = { 0xff, 0x25, 0, 0, 0, 0 }; /* jmp qword [rip+0] */
	memcpy(out, head, sizeof head);
	memcpy(out + 6, &target, 8);
}
