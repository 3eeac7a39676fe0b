/* Copying one instruction to another address (a scratch-page slot, later a
 * code cache) so that it does there what it did at home: a RIP-relative
 * operand still names the same memory, a relative branch the same target. */
#ifndef PROF_RELOCATE_H
#define PROF_RELOCATE_H

#include "prof/classes.h"

#include <stdint.h>

enum relocate_result {
	RELOCATE_OK,
	RELOCATE_OUT_OF_RANGE,  /* the new displacement does not fit its field */
	RELOCATE_REFUSED,       /* syscall, sysenter, int: never runs out of line */
};

/* Writes enc->len bytes to out: code (the instruction as it is at from)
 * adjusted to run at to. */
enum relocate_result relocate_insn(const uint8_t *code, const struct insn_encoding *enc,
				   uint64_t from, uint64_t to, uint8_t *out);

#endif
