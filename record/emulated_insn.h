/* Instructions the tracer carries out itself instead of letting the CPU run
 * them (today: cpuid and xgetbv under record --cpu). The one hook every mode
 * asks:
 *   step   before stepping an instruction: emulate it instead;
 *   block  scan_block ends a block before it (END_EMULATE, an int3 there);
 *          at that int3, or when a block starts with it, the tracer emulates;
 *   cache  the translator treats it as untranslatable: the thread leaves the
 *          cache there and block mode emulates it, then re-enters.
 * An emulated instruction counts once, with its own class, as a single step
 * of it would. */
#ifndef PROF_EMULATED_INSN_H
#define PROF_EMULATED_INSN_H

#include <stdbool.h>
#include <stdint.h>

struct tracer;
struct tracee;
struct insn_info;

enum emulation {
	EMU_DONE,       /* t's registers hold its effect, RIP past it: count it, go on */
	EMU_FAULT,      /* the CPU would fault: the signal is queued; resume t at pc uncounted */
	EMU_FAILED,     /* t could not be read or written (it died) */
};

/* Whether the tracer carries out the instruction in, at pc in t's process. */
bool tracer_emulates(const struct tracer *tr, const struct tracee *t, uint64_t pc,
		     const struct insn_info *in);
/* Carries it out; t stands on it (not executed). */
enum emulation tracer_emulate(struct tracer *tr, struct tracee *t, uint64_t pc,
			      const struct insn_info *in);

#endif
