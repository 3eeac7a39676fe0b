/* What the generator, the harness and the driver agree on: the register
 * state block and the batch file the harness reads. Included by C and by
 * the harness's assembly. All numbers little-endian, every field 8 bytes.
 *
 * Batch file: BATCH_MAGIC, number of cases, vector mode, the period of a
 * SIGALRM timer in microseconds (0: none); then per case:
 *   number of memory sections, address of the exit slot,
 *   the input state (STATE_SIZE bytes),
 *   per section: address, size, PROT_* bits, then size bytes.
 * Dump file (harness output), per case run: DUMP_MAGIC, case index, the
 *   output state (STATE_SIZE bytes), then each section's bytes in order. */
#ifndef DIFFFUZZ_ABI_H
#define DIFFFUZZ_ABI_H

#define BATCH_MAGIC 0x3248435441425a46 /* "FZBATCH2" */
#define DUMP_MAGIC 0x31504d55445a46    /* "FZDUMP1" */

/* The state block: general registers in encoding order (rax rcx rdx rbx
 * rsp rbp rsi rdi r8..r15), RFLAGS, MXCSR, the entry point (input only),
 * 32 vector registers of 64 bytes (as many as the vector mode has, and as
 * wide), 8 opmask registers. */
#define ST_GPR 0
#define ST_RFLAGS 128
#define ST_MXCSR 136
#define ST_ENTRY 144
#define ST_VEC 192
#define ST_K 2240
#define STATE_SIZE 2304

/* Vector modes: xmm0-15; ymm0-15; zmm0-31 and k0-7. */
#define VEC_SSE 0
#define VEC_AVX 1
#define VEC_AVX512 2

#endif
