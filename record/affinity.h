/* Pinning the tracer and the program to one CPU (stops cost less) without
 * the program noticing: its sched_getaffinity reports the mask it had
 * before prof pinned it, and its own sched_setaffinity is honoured. */
#ifndef PROF_AFFINITY_H
#define PROF_AFFINITY_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct affinity {
	bool pinned;
	cpu_set_t own;             /* the mask before pinning: the program's */
	cpu_set_t pin;             /* the one CPU prof runs on */
};

/* Pins the calling thread (and so the program it will start) to the CPU it
 * runs on, where a ptrace stop costs several times less than across CPUs;
 * remembers the mask it had. */
void affinity_pin(struct affinity *a);
/* prof's own helper thread (the store's writer, the line tables opened
 * ahead) leaves the pinned CPU for
 * the others the process may use: it never waits on a stop, and on the
 * pinned CPU it would take turns with the tracer and the program. */
void affinity_unpin_helper(const struct affinity *a, pthread_t thread);
/* Whether affinity_before_syscall needs the syscalls' entries. */
bool affinity_watches_reads(const struct affinity *a);
/* Thread tid is about to make syscall nr. A read of its process's status
 * file (/proc/self/status and the like) runs with the program's own mask,
 * so that Cpus_allowed and Cpus_allowed_list show it (the kernel writes the
 * file at the read: rewriting the list afterwards would change its length);
 * the thread is pinned again when the call returns. False when the
 * program may see prof's pin (the mask could not be changed). */
bool affinity_before_syscall(const struct affinity *a, pid_t tid, pid_t pid, bool own_mask,
			     long nr, const uint64_t args[6]);
/* Thread tid's syscall nr returned ret. A sched_getaffinity of itself that
 * found prof's pin gets its own mask written over the result; a successful
 * sched_setaffinity of itself sets *own_mask: the thread runs where it asked
 * and its later queries are left alone. False when the program sees prof's
 * pin (its result could not be rewritten). */
bool affinity_after_syscall(const struct affinity *a, pid_t tid, pid_t pid, bool *own_mask,
			    long nr, const uint64_t args[6], int64_t ret);

#endif
