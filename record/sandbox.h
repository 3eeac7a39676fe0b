/* A program's seccomp filters, as far as prof must know them: prof runs
 * syscalls in the program (syscall injection: mmap, mprotect, munmap), and a
 * filter may kill the program for one it did not expect. The filters are
 * read where the program installs them (or at attach) and a syscall prof
 * wants to inject is first tried under the same filters in a throwaway
 * child of prof's: the kernel itself says whether it would be allowed. */
#ifndef PROF_SANDBOX_H
#define PROF_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sandbox;

struct sandbox *sandbox_copy(const struct sandbox *s);
void sandbox_free(struct sandbox *s);
/* At a syscall's entry in tid: a seccomp filter being installed (seccomp,
 * prctl(PR_SET_SECCOMP)) is read from the program's memory and kept. */
void sandbox_note_syscall(struct sandbox **s, pid_t tid, long nr, const uint64_t args[6]);
/* At attach: the filters the thread runs under already. */
void sandbox_read_attached(struct sandbox **s, pid_t tid);
/* Whether the program may make syscall nr(args) without its filters
 * refusing it with a signal or a kill (an error return is harmless). */
bool sandbox_allows(struct sandbox *s, long nr, const uint64_t args[6]);

#endif
