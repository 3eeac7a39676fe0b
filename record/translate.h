/* The code cache's translator: the program's code at an address becomes a
 * translation (its bytes, where its instructions' copies lie, its exits).
 * A pure function of code bytes and addresses: it reads the program's code
 * only through translate_source.read and knows nothing of the tracer, the
 * tracee or where the bytes go (cache.c writes them, links the exits and
 * keeps the books). See docs/code-cache.md, "Modules". */
#ifndef PROF_TRANSLATE_H
#define PROF_TRANSLATE_H

#include "cache_emit.h"
#include "funcmap.h"
#include "prof/branch.h"
#include "prof/classes.h"

#include <stdbool.h>
#include <stdint.h>

#define MAX_TRANS_INSNS 200

enum trans_end {
	TE_FALL,                /* runs on into the next instruction */
	TE_JMP, TE_JCC, TE_SHORT_COND, TE_CALL, TE_ICALL, TE_IJMP, TE_RET,
	TE_SYSCALL,             /* `syscall`, then on to the next instruction */
	TE_REP,                 /* one REP string instruction, counted per iteration */
};

/* One translated block. insns[n-1] is the terminator (a control transfer,
 * syscall or the REP) except for TE_FALL. The translator fills all but
 * dead, exit0 and nexit, which are the cache's books. */
struct trans {
	uint64_t orig;          /* the block's first instruction */
	uint64_t entry;         /* where its translation starts (the counter update) */
	uint64_t end;           /* past its last byte */
	uint32_t id;            /* its counter */
	uint32_t n;
	uint8_t kind;           /* enum trans_end */
	bool rep_ecx;
	uint64_t *pc;           /* the instructions' own addresses, and next pc at [n] */
	uint8_t *cls;
	uint32_t *off;          /* their copies' offsets from entry; [n]: after the last */
	uint32_t special_off;   /* TE_REP: its copy; TE_ICALL, TE_IJMP: the target load */
	bool dead;              /* invalidated: its code changed (it stays for the counts) */
	uint32_t exit0, nexit;  /* its exits: exitv[exit0 .. exit0+nexit) */
	/* Code read beyond the block to decide that the flags need no saving:
	 * a change there invalidates the translation too. */
	uint64_t dep[2][2];
};

struct trans *trans_copy(const struct trans *x);
void trans_free(struct trans *x);

/* One decoded instruction of the program. */
struct scanned {
	uint64_t pc;
	uint8_t code[16];
	size_t avail;
	struct insn_info info;
	struct branch br;
	struct insn_encoding enc;
};

/* Where the translator's code comes from. */
struct translate_source {
	struct classifier *classifier;
	/* Up to 16 bytes of the program's own code at pc (prof's int3s
	 * undone); returns how many (0: none). */
	size_t (*read)(void *ctx, uint64_t pc, uint8_t out[16]);
	/* Optional: an instruction was decoded (the tracer follows what code it saw). */
	void (*saw)(void *ctx, uint64_t pc, const uint8_t *code, size_t len);
	/* Optional: s must not run from the cache (the tracer carries it out,
	 * a client request's marker): the block ends before it. */
	bool (*refuses)(void *ctx, const struct scanned *s);
	void *ctx;
	/* Optional: instructions decoded before, by their bytes (decode_memo.h). */
	struct decode_memo *memo;
};

/* Decodes the program's instruction at pc; false when it cannot be copied. */
bool translate_decode(const struct translate_source *src, uint64_t pc, struct scanned *s);

/* Scans the block at pc into s (room for MAX_TRANS_INSNS); returns its
 * length and sets *kind; 0 when nothing at pc can be translated, with
 * *gs set when that is because an instruction addresses memory through GS
 * (the cache owns GS). */
uint32_t translate_scan(const struct translate_source *src, uint64_t pc, struct scanned *s,
			int *kind, bool *gs);

/* An exit: a jmp or jcc rel32 (its field) to a 16-byte stub of its own,
 * an int3 until the cache links the exit to its target's translation. */
struct translate_exit {
	uint64_t field, stub, target;
};

struct translation {
	struct trans *x;        /* entry and end set */
	struct emit e;          /* its bytes, placed at x->entry, stubs included */
	struct translate_exit ex[2];
	int nex;
};

/* Where and how a translation goes. */
struct translate_place {
	uint64_t at;            /* where its bytes will sit */
	uint32_t id;            /* its counter */
	uint64_t lookup;        /* the indirect-target lookup its ret and indirect exits jump to */
	enum jump_exit jump;    /* its jmp/jcc/indirect jmp leaves the function (funcmap.h) */
};

/* Translates the scanned block s[0..n) ending as kind; false (out freed)
 * when it cannot be written (an operand out of reach of `at`). */
bool translate_block(const struct translate_source *src, const struct scanned *s, uint32_t n,
		     int kind, const struct translate_place *where, struct translation *out);
void translation_free(struct translation *out);

#endif
