/* Which instructions the tracer carries out itself, and who does it. */
#include "emulated_insn.h"
#include "cpu_intercept.h"

bool tracer_emulates(const struct tracer *tr, const struct tracee *t, uint64_t pc,
		     const struct insn_info *in)
{
	return cpu_intercepts(tr, in);
}

enum emulation tracer_emulate(struct tracer *tr, struct tracee *t, uint64_t pc,
			      const struct insn_info *in)
{
	return cpu_emulate(tr, t, pc, in);
}
