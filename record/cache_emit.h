/* The machine code cache mode writes around the program's own instructions:
 * counter updates, call and return logging, the indirect-target lookup.
 * None of it changes the program's flags or registers where the program
 * could see it (flags are saved unless the block overwrites them first;
 * registers borrowed go through the GS data area). */
#ifndef PROF_CACHE_EMIT_H
#define PROF_CACHE_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { R_RAX = 0, R_RCX = 1, R_RDX = 2, R_RSP = 4 };

struct emit {
	uint8_t *b;
	size_t n, cap;
	uint64_t base;          /* where b[0] will sit in the program */
};

void emit_init(struct emit *e, uint64_t base);
void emit_free(struct emit *e);
uint64_t emit_here(const struct emit *e);
void emit_bytes(struct emit *e, const void *p, size_t n);
/* mov gs:[off], reg  /  mov reg, gs:[off] */
void emit_gs_store(struct emit *e, int reg, uint32_t off);
void emit_gs_load(struct emit *e, int reg, uint32_t off);
/* The block's counter and the running instruction count; flags saved
 * around them when live (lea rsp, [rsp-128] first: the red zone). */
void emit_count(struct emit *e, uint32_t counter_off, uint32_t n, bool flags_live);
/* jmp rel32 to target; returns the address of its rel32 field. */
uint64_t emit_jmp(struct emit *e, uint64_t target);
/* jcc rel32 (cond: the low nibble of the opcode); returns its rel32 field. */
uint64_t emit_jcc(struct emit *e, unsigned cond, uint64_t target);
/* Writes a call's original return address on the stack, as `call` would. */
void emit_push_return(struct emit *e, uint64_t ret_addr);
/* Appends a call-log entry {site, target, rsp, icount}; target is the
 * immediate when target_in_tmp is false, else gs:[CD_TMP_T]. Clobbers rax
 * (saved in gs:[CD_TMP_RAX] by the caller). Returns the offset of the
 * first store, the one that faults on the guard page. */
size_t emit_log_call(struct emit *e, uint64_t site, uint64_t target, bool target_in_tmp);
size_t emit_log_ret(struct emit *e);
/* The REP string instruction (code, len), counted per iteration. */
void emit_rep(struct emit *e, const uint8_t *code, size_t len, bool ecx, uint32_t counter_off);
/* The indirect-target lookup in the table at `table` (target in rax, the
 * program's rax in gs:[CD_TMP_RAX]); *probe and *miss: where a miss resumes
 * (rdx: the empty slot) and its int3. */
void emit_lookup(struct emit *e, uint64_t table, uint64_t *probe, uint64_t *miss);
/* `mov rax, r/m64` from the operand of an indirect call or jump (FF /2, /4)
 * at from (len bytes), placed here; false when it cannot be rewritten. */
bool emit_load_operand(struct emit *e, const uint8_t *code, size_t len, uint64_t from);
/* A 16-byte exit stub: an int3, later an absolute jump. */
void emit_stub(struct emit *e);
/* jmp qword [rip+0]; .quad target (14 bytes). */
void encode_abs_jmp(uint8_t out[14], uint64_t target);

#endif
