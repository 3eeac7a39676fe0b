/* Where a syscall will write the program's memory: the kernel's stores do
 * not fault like the program's own, they fail (EFAULT, or a short read) at
 * a page prof made read-only, so prof opens such pages before the call
 * runs (write_guard_syscall_entry). */
#ifndef PROF_SYSCALL_WRITES_H
#define PROF_SYSCALL_WRITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mem_range {
	uint64_t lo, hi;
};

/* The ranges syscall nr(args) of thread tid may write, into out (at most
 * max; the number is returned): exact for the calls that fill a buffer of
 * a given length (read, readv, recvmsg, getrandom, ...); for any other
 * call, except those known to write no memory of the program's, the first
 * bytes at each argument that could be a pointer. */
size_t syscall_writes(pid_t tid, long nr, const uint64_t args[6], struct mem_range *out,
		      size_t max);

#endif
