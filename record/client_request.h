/* valgrind's client requests (valgrind.h, callgrind.h, cachegrind.h): a
 * program marks what to count from inside with a sequence that is a no-op
 * natively, `rol rdi,3; rol rdi,13; rol rdi,61; rol rdi,51; xchg rbx,rbx`,
 * the request's six words in memory at RAX, its result in RDX. Every exact
 * mode ends a block at the `xchg` and hands it to the tracer, which carries
 * out the request (see docs/client-requests.md). */
#ifndef PROF_CLIENT_REQUEST_H
#define PROF_CLIENT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tracer;
struct tracee;

/* The sequence: 16 bytes of `rol rdi` then the 3 bytes of `xchg rbx, rbx`. */
#define CREQ_PREAMBLE_LEN 16
#define CREQ_MARKER_LEN 3

/* Request codes: valgrind's VG_USERREQ_TOOL_BASE(a, b) is a << 24 | b << 16. */
#define CREQ_TOOL_BASE(a, b) ((uint64_t)((a) & 0xff) << 24 | (uint64_t)((b) & 0xff) << 16)
#define CREQ_RUNNING_ON_VALGRIND 0x1001
#define CREQ_DISCARD_TRANSLATIONS 0x1002  /* args[1]: address, args[2]: length */
/* callgrind.h ('C','T'), in its order */
#define CREQ_DUMP_STATS (CREQ_TOOL_BASE('C', 'T') + 0)
#define CREQ_ZERO_STATS (CREQ_TOOL_BASE('C', 'T') + 1)
#define CREQ_TOGGLE_COLLECT (CREQ_TOOL_BASE('C', 'T') + 2)
#define CREQ_DUMP_STATS_AT (CREQ_TOOL_BASE('C', 'T') + 3)
#define CREQ_START_INSTRUMENTATION (CREQ_TOOL_BASE('C', 'T') + 4)
#define CREQ_STOP_INSTRUMENTATION (CREQ_TOOL_BASE('C', 'T') + 5)
/* cachegrind.h ('C','G'), valgrind 3.22 and later (Debian 12 has 3.19) */
#define CREQ_CG_START_INSTRUMENTATION (CREQ_TOOL_BASE('C', 'G') + 0)
#define CREQ_CG_STOP_INSTRUMENTATION (CREQ_TOOL_BASE('C', 'G') + 1)

/* A dump's name is read up to this many bytes, its NUL included. */
#define CREQ_NAME_MAX 128

/* What a request asks of prof. */
enum creq_action {
	CREQ_DO_NOTHING,        /* RUNNING_ON_VALGRIND: RDX keeps the program's default */
	CREQ_DO_DUMP,           /* end the current part (named when DUMP_STATS_AT) */
	CREQ_DO_ZERO,           /* drop what the current part has counted */
	CREQ_DO_TOGGLE,         /* the thread's collection state flips */
	CREQ_DO_START,          /* the process's instrumentation on */
	CREQ_DO_STOP,           /* ... off */
	CREQ_DO_DISCARD,        /* the program rewrote code in place: decoded and translated copies go */
	CREQ_DO_UNKNOWN,        /* not one prof implements: ignored, as without valgrind */
};

/* Whether bytes[0..19) are the preamble and the `xchg rbx, rbx`. */
bool creq_is_sequence(const uint8_t *bytes);
enum creq_action creq_action_of(uint64_t code);

enum creq_name_check { CREQ_NAME_OK, CREQ_NAME_UNTERMINATED, CREQ_NAME_CONTROL };
/* Checks a dump's name read into buf[0..n): NUL-terminated within n bytes,
 * no control characters. */
enum creq_name_check creq_check_name(const char *buf, size_t n);

/* Whether the `xchg rbx, rbx` at pc in t's memory ends the sequence (the
 * program's own bytes are read, not the int3s prof placed). */
bool creq_at(struct tracer *tr, struct tracee *t, uint64_t pc);
/* t stands on the request's `xchg` at pc, not executed; the instructions
 * before it are counted (or will be, by the mode's count_now). Counts the
 * xchg, carries out the request and sets RDX as valgrind would. Returns
 * where t goes on (pc + 3); the caller moves it there. */
uint64_t creq_run(struct tracer *tr, struct tracee *t, uint64_t pc);

#endif
