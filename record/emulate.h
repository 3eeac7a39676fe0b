/* Emulating a control transfer from the registers: block mode never lets the
 * CPU execute the instruction it put a breakpoint on. */
#ifndef PROF_EMULATE_H
#define PROF_EMULATE_H

#include "prof/branch.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/user.h>

struct emu_effect {
	uint64_t rip, rsp;
	bool push;              /* a call: write push_value at the new rsp */
	uint64_t push_value;
	bool set_rcx;           /* loop: the decremented counter */
	uint64_t rcx;
	bool taken;             /* the branch went to its target */
};

/* Reads 8 bytes of the program's memory; false when unreadable. */
typedef bool (*emu_read_fn)(void *ctx, uint64_t addr, uint64_t *value);

bool emu_reg(const struct user_regs_struct *r, int reg, uint64_t *value);
/* The effect of the branch b at pc given the registers r; false when it
 * cannot be emulated (unknown register, unreadable memory). */
bool emulate_branch(const struct branch *b, uint64_t pc, const struct user_regs_struct *r,
		    emu_read_fn read, void *ctx, struct emu_effect *out);

#endif
