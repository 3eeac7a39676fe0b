/* Opcode classes: the one place that defines them (see DESIGN.md). */
#ifndef PROF_CLASSES_H
#define PROF_CLASSES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum insn_class {
	CLASS_BRANCH,
	CLASS_CALL,
	CLASS_RET,
	CLASS_SYSCALL,
	CLASS_STRING,
	CLASS_SIMD,
	CLASS_FP,
	CLASS_LOAD,
	CLASS_STORE,
	CLASS_ALU,
	CLASS_NOP,
	CLASS_OTHER,
	CLASS_COUNT
};

/* What the tracer needs to know about one decoded instruction. */
struct insn_info {
	uint8_t len;          /* bytes; 0 when the bytes do not decode */
	uint8_t cls;          /* enum insn_class */
	bool is_rep;          /* REP/REPE/REPNE string op: counted per iteration */
	bool rep_ecx;         /* ... that counts in ECX (address-size prefix 0x67) */
	bool is_pushf;        /* pushes RFLAGS: the trap flag leaks when stepped */
	bool is_popf;         /* pops RFLAGS: stepped, the kernel leaves it the trap flag */
	bool is_cpuid;        /* some hypervisors step two instructions over it */
	bool is_xgetbv;       /* reads XCR0: record --cpu answers it */
	bool is_syscall;      /* the `syscall` instruction */
	bool is_creq_marker;  /* `xchg rbx, rbx`: ends valgrind's client request sequence */
	uint16_t ret_imm;     /* bytes a `ret imm16` pops after the return address */
	/* Status flags (FLAG_CF ... FLAG_OF) the instruction may read, and those
	 * it always overwrites: where the code cache may put a flag-changing
	 * counter update. Unknown: reads all, writes none. */
	uint8_t flags_read, flags_written;
	/* What it does to RSP: adds sp_delta, unless sp_unknown (mov rsp, and rsp,
	 * leave, pop rsp...). Calls and pushes -8, pops and rets up. */
	int32_t sp_delta;
	bool sp_unknown;
};

enum {
	FLAG_CF = 1, FLAG_PF = 2, FLAG_AF = 4, FLAG_ZF = 8, FLAG_SF = 16, FLAG_OF = 32,
	FLAGS_STATUS = 63,
};

const char *class_name(unsigned cls);
/* Returns the class for a name, or -1. */
int class_from_name(const char *name);

struct classifier;
struct classifier *classifier_new(void);
void classifier_free(struct classifier *c);
/* Decodes the first instruction of code[0..size) located at addr.
 * Returns false when the bytes are not a valid instruction. */
bool classifier_decode(struct classifier *c, const uint8_t *code, size_t size,
		       uint64_t addr, struct insn_info *out);
struct branch;
/* As classifier_decode, and describes a control transfer in *br (kind
 * BR_NONE for anything else). */
bool classifier_decode_branch(struct classifier *c, const uint8_t *code, size_t size,
			      uint64_t addr, struct insn_info *out, struct branch *br);
/* Where an instruction's position-dependent fields lie, to copy it elsewhere. */
struct insn_encoding {
	uint8_t len;
	uint8_t rip_disp_offset;  /* disp32 of a RIP-relative memory operand; 0: none */
	uint8_t rel_offset;       /* a relative branch's displacement; 0: none */
	uint8_t rel_size;         /* its size: 1, 2 or 4 bytes */
	bool is_syscall;          /* syscall, sysenter, int: must run where it is */
	bool gs_prefix;           /* addresses memory through GS (the code cache owns GS) */
};
/* Describes the first instruction of code[0..size) at addr; false when
 * capstone cannot decode it. */
bool classifier_encoding(struct classifier *c, const uint8_t *code, size_t size,
			 uint64_t addr, struct insn_encoding *out);
/* Formats the instruction as text ("mov rax, rbx"), for annotate-style output. */
bool classifier_format(struct classifier *c, const uint8_t *code, size_t size,
		       uint64_t addr, char *buf, size_t buflen);
/* Text syntax of classifier_format: Intel (the default) or AT&T ("movq %rbx, %rax").
 * AT&T also reverses capstone's operand order: classify with another classifier. */
void classifier_set_syntax(struct classifier *c, bool att);

#endif
