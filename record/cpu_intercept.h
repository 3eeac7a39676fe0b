/* record --cpu in a traced program: its cpuid and xgetbv answered from the
 * CPU model (cpu_model.h), and CPUID faulting (arch_prctl ARCH_SET_CPUID, as
 * rr uses it) turned on in each process image where the kernel offers it, so
 * that a cpuid no mode saw coming still stops the program (SIGSEGV) instead
 * of reading the host. See docs/cpu-model.md. */
#ifndef PROF_CPU_INTERCEPT_H
#define PROF_CPU_INTERCEPT_H

#include "cpu_model.h"
#include "emulated_insn.h"

#include <stdbool.h>
#include <stdint.h>

struct tracer;
struct tracee;
struct injection;
struct insn_info;

/* What record --cpu asked for, and how prof intercepts. */
struct cpu_view {
	int level;              /* enum cpu_level; CPU_HOST: nothing is intercepted */
	bool faulting;          /* the kernel traps cpuid for prof */
	bool fault_only;        /* PROF_CPUID_FAULT_ONLY (tests): exact modes leave cpuid to faulting */
	struct cpu_host host;
};

/* Whether this kernel and CPU offer CPUID faulting (false when
 * PROF_NO_CPUID_FAULTING is set, which the tests use). */
bool cpu_faulting_offered(void);

/* Whether the tracer answers t's instruction in (at pc) from the model. */
bool cpu_intercepts(const struct tracer *tr, const struct insn_info *in);
/* Answers cpuid or xgetbv at pc from the model: t's registers get its effect. */
enum emulation cpu_emulate(struct tracer *tr, struct tracee *t, uint64_t pc,
			   const struct insn_info *in);

/* When t's process image still needs CPUID faulting (t->proc->arm_cpuid:
 * a new program, or exec turned it off), turns it on; t stands at a stop
 * where syscalls can be injected, not an event stop (stub as
 * inject_syscall's). A signal that arrives meanwhile is queued to t again.
 * False only when t died meanwhile (the loop hears of it). */
bool cpu_arm(struct tracer *tr, struct tracee *t, uint64_t stub);
/* Turns it off again in a child prof lets go of (it would die at its next cpuid). */
void cpu_disarm(struct tracer *tr, struct tracee *t, uint64_t stub);
/* Whether t's signal stop (sig) is a cpuid that faulted because prof
 * turned faulting on: t stands on the cpuid, not executed. */
bool cpu_cpuid_faulted(const struct tracer *tr, struct tracee *t, int sig);

#endif
