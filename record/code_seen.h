/* The bytes of anonymous executable code (JIT code, code a program writes
 * for itself) that prof decoded, per process image and code generation:
 * one copy per instruction, written when the image ends as runs of
 * adjacent instructions, so annotate can disassemble code that exists
 * nowhere after the run. */
#ifndef PROF_CODE_SEEN_H
#define PROF_CODE_SEEN_H

#include <stddef.h>
#include <stdint.h>

struct tracer;
struct proc;
struct code_seen;

/* Keeps len bytes at pc of generation gen (once per pc and generation). */
void code_seen_add(struct tracer *tr, struct proc *p, uint32_t gen, uint64_t pc,
		   const uint8_t *bytes, size_t len);
/* Sends what p's image decoded to the recording and frees it. */
void code_seen_flush(struct tracer *tr, struct proc *p);

#endif
