/* Making a stopped tracee run one system call of ours (mmap, munmap), as gdb
 * and rr do: its registers are saved, pointed at a `syscall; int3` stub, the
 * thread runs to the int3, and everything is put back. */
#ifndef PROF_INJECT_H
#define PROF_INJECT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct tracer;
struct tracee;

/* The bytes of a stub: syscall; int3. */
#define INJECT_STUB_LEN 3
extern const uint8_t inject_stub_code[INJECT_STUB_LEN];

struct injection {
	int64_t ret;            /* the syscall's return value (-errno on failure) */
	int held_sig;           /* a signal that arrived meanwhile: the caller delivers it */
	siginfo_t held_si;
};

/* Runs syscall nr(args) in t, which stands at a ptrace stop that is not a
 * syscall-entry stop, or is at one (at_syscall_entry): the program's syscall
 * then runs after ours, from the start. stub is the address of a stub in the tracee, or 0 to
 * write one over t's current instruction for the duration (only while no
 * other thread of the process runs). Returns true with t stopped again at
 * its registers of before (at a SIGTRAP stop: resume it with signal 0).
 * False: ptrace failed, or t died: ret is then -ESRCH, and t's last status
 * waits in the loop's deferred queue (leave t alone). */
bool inject_syscall(struct tracer *tr, struct tracee *t, uint64_t stub, long nr,
		    const uint64_t args[6], bool at_syscall_entry, struct injection *out);

/* Queues sig for t again (its siginfo when the kernel lets prof send it,
 * the signal alone otherwise); false: it is lost. */
bool inject_requeue_signal(const struct tracee *t, int sig, const siginfo_t *si);

/* The signal held during an injection, queued again for t (a loss is one
 * of tracer_lost's events). */
void inject_queue_held(struct tracer *tr, struct tracee *t, const struct injection *inj);

#endif
