/* Code written in place: once prof has translated or decoded code from a
 * page the program may write (a writable and executable mapping, as JITs
 * keep), the page is made read-only for the program (mprotect injected
 * through a stopped thread). The program's next write there faults; prof
 * takes the SIGSEGV before the program sees it, drops what it made of the
 * page's code (tracer_discard_code: a new code generation, translations and
 * blocks gone), gives the page its rights back and lets the write run
 * again. The page is protected again when code is next read from it.
 * See docs/code-cache.md, "Code written in place". */
#ifndef PROF_WRITE_GUARD_H
#define PROF_WRITE_GUARD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct tracer;
struct tracee;
struct aspace;

/* Before prof reads code at [pc, pc + len) of t's process: the writable
 * pages there are protected first (t stopped, not at a syscall-entry stop;
 * the process's scratch page holds the injection stub). Returns true when
 * a page was protected now: code read from it before must be read again. */
bool write_guard_code(struct tracer *tr, struct tracee *t, uint64_t pc, uint64_t len);

/* t stands at a signal-delivery stop for sig with si. True when the signal
 * is a write to a page prof protected (or one it gave back the rights to
 * since, the fault raised before): t must go on without it, the write runs
 * again. False: the program's own signal. */
bool write_guard_fault(struct tracer *tr, struct tracee *t, int sig, const siginfo_t *si);

/* Whether the fault is a write to a page prof protected (now or before). */
bool write_guard_owns(const struct aspace *as, int sig, const siginfo_t *si);

/* The program mapped, unmapped or protected [lo, hi) itself: what prof
 * knew of the pages there is void. */
void write_guard_forget(struct aspace *as, uint64_t lo, uint64_t hi);

/* What prof made of the code in [lo, hi) is gone (invalidated): a write
 * there needs no new code generation until code is read there again. */
void write_guard_unused(struct aspace *as, uint64_t lo, uint64_t hi);

/* t's mremap (t at its exit) moved [from, from + len) to to: the pages
 * prof protected there took its protection along; they get back theirs. */
void write_guard_moved(struct tracer *tr, struct tracee *t, uint64_t from, uint64_t len,
		       uint64_t to);

/* t stands at the entry stop of syscall nr(args), in a process where
 * prof protected pages: the kernel's writes would fail there (EFAULT, a
 * short read) where they succeed natively, so the pages the call may
 * write (syscall_writes) are opened first, as at a fault of the program's.
 * Returns true when t is still at its entry stop; false when an injection
 * ran: t then stands before its syscall instruction, the call not begun,
 * to be resumed as if it had never stopped. */
bool write_guard_syscall_entry(struct tracer *tr, struct tracee *t, long nr, const uint64_t args[6]);

/* Detaching: every protected page gets its rights back through injector
 * (at a syscall-entry stop when entry, for the first injection only).
 * Returns entry, or false once an injection ran. */
bool write_guard_release(struct tracer *tr, struct aspace *as, struct tracee *injector, bool entry);

#endif
