/* What a control-transfer instruction does, decoded once with capstone, so
 * block mode can emulate it from the registers instead of executing it. */
#ifndef PROF_BRANCH_H
#define PROF_BRANCH_H

#include <stdbool.h>
#include <stdint.h>

enum branch_kind {
	BR_NONE,      /* not a control transfer */
	BR_JCC,       /* conditional jump on RFLAGS */
	BR_JRCXZ,     /* jump if (e/r)cx is zero */
	BR_LOOP,      /* loop, loope, loopne: decrement (e/r)cx, then test */
	BR_JMP,       /* unconditional jump, direct or indirect */
	BR_CALL,      /* call, direct or indirect */
	BR_RET,       /* near return, with an optional immediate */
};

/* x86 condition codes in encoding order (the low nibble of 0x7X / 0x0F 0x8X). */
enum branch_cond {
	COND_O, COND_NO, COND_B, COND_AE, COND_E, COND_NE, COND_BE, COND_A,
	COND_S, COND_NS, COND_P, COND_NP, COND_L, COND_GE, COND_LE, COND_G,
};

enum loop_kind { LOOP_PLAIN, LOOP_E, LOOP_NE };

/* Where the target comes from. Registers are capstone x86_reg values. */
struct branch_target {
	bool direct;          /* target is known: `target` */
	uint64_t target;
	bool in_register;     /* jmp *%reg: the register's value */
	bool in_memory;       /* jmp *mem: 8 bytes at base + index*scale + disp */
	int reg, base, index, segment;
	int scale;
	int64_t disp;
	bool rip_relative;
};

struct branch {
	uint8_t kind;         /* enum branch_kind */
	uint8_t cond;         /* enum branch_cond (BR_JCC) or enum loop_kind (BR_LOOP) */
	uint8_t len;
	bool count32;         /* JRCXZ/LOOP on ecx (address-size prefix) */
	uint16_t ret_imm;     /* bytes popped after the return address */
	struct branch_target to;
};

/* Evaluates a condition code against RFLAGS. */
bool branch_cond_holds(unsigned cond, uint64_t rflags);

#endif
