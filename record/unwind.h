/* Call stacks of a stopped thread: elfutils' unwinder (CFI from .eh_frame and
 * .debug_frame) over a snapshot of the stack, frame pointers as fallback. */
#ifndef PROF_UNWIND_H
#define PROF_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct unwinder;

struct unwinder *unwinder_new(pid_t pid);
void unwinder_free(struct unwinder *u);
/* The process mapped new code: modules are read again on the next unwind. */
void unwinder_invalidate(struct unwinder *u);
/* Copies what unwinding needs of a stopped thread: its registers and the
 * top of its stack. The thread may run on before unwind_captured. */
void unwind_capture(struct unwinder *u, pid_t tid, const struct user_regs_struct *regs);
/* The same from a copy taken earlier (a kernel sample): frames deeper than
 * the copy are left out, the thread having run on since. */
void unwind_load(struct unwinder *u, pid_t tid, const struct user_regs_struct *regs,
		 const uint8_t *stack, size_t len);
/* Fills pcs with the captured leaf PC, then each caller's call site (return
 * address minus one), at most max. Returns how many. Frames deeper than the
 * captured stack are read from the live thread. */
size_t unwind_captured(struct unwinder *u, uint64_t *pcs, size_t max);

#endif
