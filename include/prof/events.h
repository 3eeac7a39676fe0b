/* Events the tracer sends to the writer thread through the ring buffer.
 * Strings are heap-allocated by the tracer and freed by the writer. */
#ifndef PROF_EVENTS_H
#define PROF_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

enum event_kind {
	EV_INSN,          /* count executions of one instruction */
	EV_SYSCALL,       /* one completed (or unfinished) system call */
	EV_PROCESS,       /* a process image began (start or exec) */
	EV_PROCESS_EXIT,
	EV_THREAD,        /* a thread began in a process image */
	EV_THREAD_EXIT,
	EV_MAP,           /* an executable mapping was seen */
	EV_SIGNAL,        /* a signal was delivered */
	EV_META,          /* a key/value for the meta table */
	EV_ARC,           /* one finished call: caller site -> callee */
	EV_SAMPLE,        /* one sampled stack: pcs[0] is the leaf */
	EV_PART,          /* the current part ends (a dump); what follows is the next */
	EV_ZERO,          /* the current part's counts, arcs and syscalls are dropped */
	EV_CODE_GEN,      /* code in a range of a process may have changed: a new generation */
	EV_JIT_SYMBOL,    /* a function the program's JIT named (perf map, jitdump) */
	EV_CODE_SEEN,     /* bytes of anonymous executable code prof decoded */
};

enum jit_source_kind { JIT_PERF_MAP, JIT_DUMP };

struct prof_event {
	uint32_t kind;
	uint32_t thread;  /* thread row id (EV_INSN, EV_SYSCALL, EV_THREAD*, EV_SIGNAL, EV_PART) */
	union {
		struct { uint64_t pc, count; uint32_t gen; uint8_t cls; } insn;
		struct {
			int64_t nr, ret;
			uint64_t args[6];
			uint64_t start_ns, end_ns;
			bool returned;
		} sys;
		struct { uint32_t id; int pid, ppid; char *exe, *argv; uint64_t ns; } process;
		struct { uint32_t id; int status; uint64_t ns; } process_exit;
		struct { uint32_t proc; int tid; char *name; uint64_t ns; } thread_start;
		struct { uint64_t ns; char *name; } thread_exit; /* name may be NULL */
		struct {
			uint32_t proc;
			uint64_t start, end, pgoff;
			uint32_t prot;
			char *path;
			uint64_t ns;
		} map;
		struct { int signo; uint64_t pc, ns; } signal;
		struct { char *key, *value; } meta;
		/* calls: 1 for a finished call, 0 for the share of a call still
		 * running when its part ended */
		struct {
			uint64_t caller_pc, callee_pc, inclusive, outer_inclusive;
			uint32_t caller_gen, callee_gen;
			uint32_t calls;
		} arc;
		struct { uint64_t *pcs; uint32_t depth; uint64_t weight_ns; } sample;
		struct { char *name; uint64_t ns; } part;   /* name may be NULL: by number */
		struct { uint32_t proc, gen; uint64_t start, end, ns; bool replaced; } code_gen;
		struct {
			uint32_t proc, stamp;   /* stamp: the process's code clock when read */
			uint8_t source;         /* enum jit_source_kind */
			bool has_load_ns;
			uint64_t start, size, load_ns, code_index;
			char *name;
			uint8_t *code;          /* NULL, or size bytes (jitdump code loads) */
		} jit;
		struct { uint32_t proc, gen; uint64_t start; uint8_t *bytes; uint32_t len; } code_seen;
	};
};

#endif
