/* A program's address-space limit (ulimit -v, RLIMIT_AS) and the memory prof
 * maps into it (scratch page, code cache, data areas): prof raises the
 * limit by what it maps, so the program keeps exactly the room it had, and
 * shows the program its own limit. Where the limit cannot be raised
 * (CAP_SYS_RESOURCE is needed when the hard limit is set too, as ulimit -v
 * does), prof maps nothing: block mode, REP instructions single-stepped. */
#ifndef PROF_ASLIMIT_H
#define PROF_ASLIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct as_limit {
	bool checked;       /* the limit was read */
	bool limited;       /* it is finite */
	bool cannot;        /* raising it failed: prof maps nothing more */
	uint64_t extra;     /* bytes prof raised it by (what it mapped) */
};

/* prof is about to map bytes into process pid: false when it must not. */
bool aslimit_reserve(struct as_limit *l, pid_t pid, uint64_t bytes);
/* prof unmapped (or failed to map) bytes. */
void aslimit_release(struct as_limit *l, pid_t pid, uint64_t bytes);
/* The program's syscall nr returned ret in thread tid of process pid: a
 * query of its own RLIMIT_AS shows its own limit; a limit it sets gets
 * prof's share added. */
void aslimit_after_syscall(struct as_limit *l, pid_t tid, pid_t pid, long nr,
			   const uint64_t args[6], int64_t ret);

#endif
