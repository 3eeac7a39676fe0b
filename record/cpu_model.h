/* The virtual CPU a program may be shown instead of the host's (record
 * --cpu): the psABI levels x86-64, -v2, -v3 and -v4, as one fixed Intel-like
 * CPU per level whose CPUID and XGETBV answers depend on the host only where
 * memory safety needs the host's values (XSAVE area sizes). Pure functions of
 * a snapshot of the host: no ptrace here. See docs/cpu-model.md. */
#ifndef PROF_CPU_MODEL_H
#define PROF_CPU_MODEL_H

#include <stdbool.h>
#include <stdint.h>

enum cpu_level {
	CPU_HOST,       /* the host as it is: nothing intercepted */
	CPU_X86_64,
	CPU_X86_64_V2,
	CPU_X86_64_V3,
	CPU_X86_64_V4,
	CPU_LEVELS
};

enum { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/* What prof read from the CPU it runs on (the program's CPU too). */
struct cpu_host {
	char vendor[13];
	char name[49];            /* the brand string, spaces trimmed */
	uint32_t max_leaf, max_ext;
	uint32_t leaf1[4], leaf7[4], ext1[4];
	uint32_t xsave[32][4];    /* leaf 0xd, subleaves 0..31 (zeros without it) */
	uint64_t xcr0;            /* 0 without OSXSAVE */
};

/* The level named name ("host", "x86-64", "x86-64-v2", ...), or -1. */
int cpu_level_parse(const char *name);
const char *cpu_level_name(int level);
/* "host, x86-64, x86-64-v2, x86-64-v3, x86-64-v4" */
const char *cpu_level_list(void);

/* Reads the host through the CPUID and XGETBV instructions. */
void cpu_host_read(struct cpu_host *h);
/* The first feature of level the host lacks (its name as /proc/cpuinfo
 * spells it), or NULL when it has them all, their register state enabled
 * by the kernel included. */
const char *cpu_host_lacks(const struct cpu_host *h, int level);
/* The highest level the host has entirely (CPU_HOST when not even x86-64). */
int cpu_host_level(const struct cpu_host *h);
/* The features of prof's table the host has, space separated (caller frees). */
char *cpu_host_features(const struct cpu_host *h);

/* What CPUID leaf/subleaf answers on the model of level (not CPU_HOST). */
void cpu_model_cpuid(const struct cpu_host *h, int level, uint32_t leaf, uint32_t subleaf,
		     uint32_t out[4]);
/* What XGETBV with ECX = xcr answers on the model; false when the CPU
 * faults on that xcr instead (#GP). */
bool cpu_model_xgetbv(const struct cpu_host *h, int level, uint32_t xcr, uint64_t *value);

#endif
