/* The translator on byte buffers: each way a block ends, the exits it
 * leaves for the cache to link, RIP-relative operands relocated, the
 * counter update (flags saved exactly when they may be read before being
 * overwritten), a REP instruction, and what must not be translated. The
 * translations are read back with the decoder. */
#include "cache.h"
#include "translate.h"
#include "prof/branch.h"
#include "prof/classes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define CODE 0x401000ull        /* where the program's code lies */
#define AT 0x500000ull          /* where its translation goes */
#define LOOKUP 0x4ff000ull      /* the region's indirect-target lookup */
#define ID 3                    /* the translation's counter */

/* The program's code: pieces of bytes at addresses, nothing readable
 * between them (as past the end of a mapping). */
struct piece {
	uint64_t at;
	const uint8_t *b;
	size_t n;
};

struct program {
	struct piece p[4];
	int n;
	uint64_t refused;       /* an instruction the tracer carries out (0: none) */
	int saw;                /* instructions decoded */
};

static size_t prog_read(void *ctx, uint64_t pc, uint8_t out[16])
{
	const struct program *g = ctx;
	for (int i = 0; i < g->n; i++) {
		const struct piece *p = &g->p[i];
		if (pc < p->at || pc >= p->at + p->n)
			continue;
		size_t n = p->at + p->n - pc < 16 ? p->at + p->n - pc : 16;
		memcpy(out, p->b + (pc - p->at), n);
		return n;
	}
	return 0;
}

static void prog_saw(void *ctx, uint64_t pc, const uint8_t *code, size_t len)
{
	(void)pc;
	(void)code;
	(void)len;
	((struct program *)ctx)->saw++;
}

static bool prog_refuses(void *ctx, const struct scanned *s)
{
	return s->pc == ((const struct program *)ctx)->refused;
}

static struct classifier *classifier;

static int setup(void **state)
{
	(void)state;
	classifier = classifier_new();
	return classifier ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	classifier_free(classifier);
	return 0;
}

static struct translate_source source(struct program *g)
{
	return (struct translate_source){ .classifier = classifier, .read = prog_read,
					  .saw = prog_saw, .refuses = prog_refuses, .ctx = g };
}

/* A program of one piece at CODE. */
#define PROGRAM(bytes) \
	{ .p = { { CODE, bytes, sizeof bytes } }, .n = 1 }

/* Decodes [from, to) of the translation into "insn; insn; ..." (Intel syntax). */
static void disassemble(const struct translation *t, uint64_t from, uint64_t to, char *out,
			size_t outlen)
{
	size_t at = from - t->e.base, end = to - t->e.base;
	out[0] = 0;
	while (at < end) {
		struct insn_info info;
		char text[128];
		assert_true(classifier_decode(classifier, t->e.b + at, end - at, t->e.base + at, &info));
		assert_true(classifier_format(classifier, t->e.b + at, end - at, t->e.base + at, text,
					      sizeof text));
		size_t used = strlen(out);
		snprintf(out + used, outlen - used, "%s%s", used ? "; " : "", text);
		at += info.len;
	}
}

/* The translation's code, stubs left out. */
static void code_text(const struct translation *t, char *out, size_t outlen)
{
	disassemble(t, t->x->entry, t->x->end - 16ull * t->nex, out, outlen);
}

/* Scans and translates the block at CODE; asserts its length and kind. */
static void translate(struct program *g, uint32_t n, int kind, enum jump_exit jump,
		      struct translation *out)
{
	struct translate_source src = source(g);
	struct scanned *s = malloc(MAX_TRANS_INSNS * sizeof *s);
	int got_kind = -1;
	bool gs;
	uint32_t got = translate_scan(&src, CODE, s, &got_kind, &gs);
	assert_false(gs);
	assert_int_equal(got, n);
	assert_int_equal(got_kind, kind);
	struct translate_place where = { .at = AT, .id = ID, .lookup = LOOKUP, .jump = jump };
	assert_true(translate_block(&src, s, n, kind, &where, out));
	free(s);
	assert_int_equal(out->x->entry, AT);
	assert_int_equal(out->x->end, AT + out->e.n);
	assert_int_equal(out->x->kind, kind);
	assert_int_equal(out->x->n, n);
	assert_int_equal(out->x->orig, CODE);
	assert_int_equal(out->x->id, ID);
}

/* How long the block at pc is (0: none), and whether GS refused it. */
static uint32_t scan_length(struct program *g, uint64_t pc, bool *gs)
{
	struct translate_source src = source(g);
	struct scanned *s = malloc(MAX_TRANS_INSNS * sizeof *s);
	int kind;
	uint32_t n = translate_scan(&src, pc, s, &kind, gs);
	free(s);
	return n;
}

/* Every exit's jump leads to its own stub, a 16-byte int3 run after the code. */
static void assert_stubs(const struct translation *t)
{
	for (int i = 0; i < t->nex; i++) {
		const struct translate_exit *x = &t->ex[i];
		assert_int_equal(x->stub, t->x->end - 16ull * (t->nex - i));
		int32_t rel;
		memcpy(&rel, t->e.b + (x->field - t->e.base), 4);
		assert_int_equal(x->field + 4 + (uint64_t)(int64_t)rel, x->stub);
		assert_int_equal(x->field % 4, 0);
		for (int k = 0; k < 16; k++)
			assert_int_equal(t->e.b[x->stub - t->e.base + k], 0xcc);
	}
}

#define COUNT_BARE "add qword ptr gs:[0], %s; inc qword ptr gs:[0x102018]"
#define COUNT_SAVED "lea rsp, [rsp - 0x80]; pushfq; " COUNT_BARE "; popfq; lea rsp, [rsp + 0x80]"

/* text starts with fmt, its %s the instruction count n as the decoder
 * writes an immediate. */
static void expect_prefix(const char *text, const char *fmt, unsigned n)
{
	char want[512], imm[16];
	snprintf(imm, sizeof imm, n > 9 ? "0x%x" : "%u", n);
	snprintf(want, sizeof want, fmt, imm);
	if (strncmp(text, want, strlen(want)) != 0)
		fail_msg("got '%s', want it to start with '%s'", text, want);
}

/* The block at CODE (n instructions, ending as kind) starts with the
 * counter update, the flags saved or not, then body. */
static void expect_update(struct program *g, uint32_t n, int kind, bool saved, const char *body)
{
	struct translation t;
	char text[4096], fmt[512];
	translate(g, n, kind, JUMP_STAYS, &t);
	code_text(&t, text, sizeof text);
	snprintf(fmt, sizeof fmt, "%s; %s", saved ? COUNT_SAVED : COUNT_BARE, body);
	expect_prefix(text, fmt, n);
	translation_free(&t);
}

/* Runs on into code that cannot be read: the exit goes to the next instruction. */
static void test_fall_through(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x48, 0x89, 0xd8,       /* mov rax, rbx */
		0x48, 0xff, 0xc0,       /* inc rax */
	};
	struct program g = PROGRAM(code);
	struct translation t;
	char text[1024];
	translate(&g, 2, TE_FALL, JUMP_STAYS, &t);
	assert_int_equal(t.nex, 1);
	assert_int_equal(t.ex[0].target, CODE + 6);
	assert_int_equal(t.x->pc[0], CODE);
	assert_int_equal(t.x->pc[1], CODE + 3);
	assert_int_equal(t.x->pc[2], CODE + 6);
	assert_int_equal(t.x->cls[1], CLASS_ALU);
	assert_stubs(&t);
	code_text(&t, text, sizeof text);
	/* What follows cannot be read: the flags may be read there. */
	expect_prefix(text, COUNT_SAVED "; mov rax, rbx; inc rax; ", 2);
	/* After the copies: the exit's jmp (after nops aligning its field). */
	assert_true(t.x->off[2] <= t.ex[0].field - 1 - AT && t.ex[0].field - 1 - AT - t.x->off[2] < 4);
	assert_true(g.saw >= 2);
	translation_free(&t);
}

/* An instruction the tracer carries out ends the block before it. */
static void test_refused_instruction_ends_the_block(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x48, 0x01, 0xd8,       /* add rax, rbx */
		0x0f, 0xa2,             /* cpuid */
		0xc3,                   /* ret */
	};
	struct program g = PROGRAM(code);
	g.refused = CODE + 3;
	struct translation t;
	translate(&g, 1, TE_FALL, JUMP_STAYS, &t);
	assert_int_equal(t.ex[0].target, CODE + 3);
	translation_free(&t);
}

static void test_jmp(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x48, 0x01, 0xd8,               /* add rax, rbx: all six status flags written */
		0xe9, 0x00, 0x01, 0x00, 0x00,   /* jmp CODE + 0x108 */
	};
	struct program g = PROGRAM(code);
	struct translation t;
	char text[1024];
	translate(&g, 2, TE_JMP, JUMP_STAYS, &t);
	assert_int_equal(t.nex, 1);
	assert_int_equal(t.ex[0].target, CODE + 0x108);
	assert_stubs(&t);
	code_text(&t, text, sizeof text);
	expect_prefix(text, COUNT_BARE "; add rax, rbx; ", 2);
	assert_null(strstr(text, "pushfq"));
	assert_true(t.x->off[1] <= t.ex[0].field - 1 - AT && t.ex[0].field - 1 - AT - t.x->off[1] < 4);
	translation_free(&t);
}

/* A jump into another function logs it (call log, site marked a jump). */
static void test_jmp_entering_a_function_is_logged(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0xe9, 0x00, 0x01, 0x00, 0x00 }; /* jmp CODE + 0x105 */
	struct program g = PROGRAM(code);
	struct translation stays, enters;
	translate(&g, 1, TE_JMP, JUMP_STAYS, &stays);
	translate(&g, 1, TE_JMP, JUMP_ENTERS, &enters);
	char text[2048];
	code_text(&enters, text, sizeof text);
	assert_non_null(strstr(text, "mov qword ptr gs:[0x10], rax"));
	/* The log entry: site | CACHE_LOG_JUMP, then the target. */
	assert_non_null(strstr(text, "mov dword ptr [rax], 0x401000; mov dword ptr [rax + 4], 0x80000000; "
				     "mov dword ptr [rax + 8], 0x401105; mov dword ptr [rax + 0xc], 0"));
	assert_true(enters.e.n > stays.e.n);
	translation_free(&stays);
	translation_free(&enters);
}

/* jcc keeps its condition: jcc rel32 to the taken exit, jmp to the other. */
static void test_jcc(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x48, 0x39, 0xd8,       /* cmp rax, rbx */
		0x75, 0x10,             /* jne CODE + 0x15 */
	};
	struct program g = PROGRAM(code);
	struct translation t;
	char text[1024];
	translate(&g, 2, TE_JCC, JUMP_STAYS, &t);
	assert_int_equal(t.nex, 2);
	assert_int_equal(t.ex[0].target, CODE + 0x15);
	assert_int_equal(t.ex[1].target, CODE + 5);
	assert_stubs(&t);
	code_text(&t, text, sizeof text);
	expect_prefix(text, COUNT_BARE "; cmp rax, rbx; ", 2);
	char jne[64], jmp[64];
	snprintf(jne, sizeof jne, "jne 0x%llx", (unsigned long long)t.ex[0].stub);
	snprintf(jmp, sizeof jmp, "jmp 0x%llx", (unsigned long long)t.ex[1].stub);
	assert_non_null(strstr(text, jne));
	assert_true(strstr(text, jmp) > strstr(text, jne));
	translation_free(&t);
}

/* loop (rel8 only) jumps over a short jmp to its taken exit. */
static void test_loop(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0xe2, 0xfe }; /* loop CODE */
	struct program g = PROGRAM(code);
	struct translation t;
	char text[1024];
	translate(&g, 1, TE_SHORT_COND, JUMP_STAYS, &t);
	assert_int_equal(t.nex, 2);
	assert_int_equal(t.ex[0].target, CODE);
	assert_int_equal(t.ex[1].target, CODE + 2);
	assert_stubs(&t);
	code_text(&t, text, sizeof text);
	assert_non_null(strstr(text, "pushfq")); /* loop reads no flag, but its target is unknown ground */
	assert_non_null(strstr(text, "loop "));
	translation_free(&t);
}

/* A call writes the original return address, logs the call, exits to the callee. */
static void test_call(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0xe8, 0xfb, 0x0f, 0x00, 0x00 }; /* call CODE + 0x1000 */
	struct program g = PROGRAM(code);
	struct translation t;
	char text[2048];
	translate(&g, 1, TE_CALL, JUMP_STAYS, &t);
	assert_int_equal(t.nex, 1);
	assert_int_equal(t.ex[0].target, CODE + 0x1000);
	assert_int_equal(t.x->pc[1], CODE + 5);
	assert_stubs(&t);
	code_text(&t, text, sizeof text);
	assert_non_null(strstr(text, "0x401005"));  /* the return address */
	assert_non_null(strstr(text, "0x402000"));  /* the callee, logged */
	/* The log entry's site carries the call's length (5) in its top byte. */
	assert_non_null(strstr(text, "mov dword ptr [rax], 0x401000; mov dword ptr [rax + 4], 0x5000000; "));
	assert_null(strstr(text, "call"));          /* no call runs from the cache */
	translation_free(&t);
}

/* ret and indirect branches: the target into RAX, then the lookup; no exits. */
static void test_ret(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0xc2, 0x10, 0x00 }; /* ret 0x10 */
	struct program g = PROGRAM(code);
	struct translation t;
	char text[2048];
	translate(&g, 1, TE_RET, JUMP_STAYS, &t);
	assert_int_equal(t.nex, 0);
	code_text(&t, text, sizeof text);
	assert_non_null(strstr(text, "mov rax, qword ptr [rsp]; lea rsp, [rsp + 0x18]; "));
	assert_true(strstr(text, "jmp 0x4ff000") + strlen("jmp 0x4ff000") == text + strlen(text));
	translation_free(&t);
}

static void test_indirect_jmp_and_call(void **state)
{
	(void)state;
	static const uint8_t jmp[] = { 0x41, 0xff, 0xe3 };                   /* jmp r11 */
	static const uint8_t call[] = { 0xff, 0x15, 0x10, 0x00, 0x00, 0x00 }; /* call [rip+0x10] */
	struct program gj = PROGRAM(jmp), gc = PROGRAM(call);
	struct translation tj, tc;
	char text[2048];
	translate(&gj, 1, TE_IJMP, JUMP_STAYS, &tj);
	assert_int_equal(tj.nex, 0);
	code_text(&tj, text, sizeof text);
	assert_non_null(strstr(text, "mov qword ptr gs:[0x10], rax; mov rax, r11; "));
	assert_true(strstr(text, "jmp 0x4ff000") + strlen("jmp 0x4ff000") == text + strlen(text));
	disassemble(&tj, AT + tj.x->special_off, tj.x->end, text, sizeof text);
	expect_prefix(text, "mov rax, r11", 0);

	translate(&gc, 1, TE_ICALL, JUMP_STAYS, &tc);
	assert_int_equal(tc.nex, 0);
	/* The target load still reads CODE + 6 + 0x10, from where it now is. */
	const uint8_t *load = tc.e.b + tc.x->special_off;
	int32_t disp;
	memcpy(&disp, load + 3, 4);
	assert_int_equal(AT + tc.x->special_off + 7 + (uint64_t)(int64_t)disp, CODE + 0x16);
	code_text(&tc, text, sizeof text);
	assert_non_null(strstr(text, "0x401006")); /* the return address */
	assert_non_null(strstr(text, "mov dword ptr [rax], 0x401000; mov dword ptr [rax + 4], 0x6000000; "));
	assert_true(strstr(text, "jmp 0x4ff000") + strlen("jmp 0x4ff000") == text + strlen(text));
	translation_free(&tj);
	translation_free(&tc);
}

/* A RIP-relative operand names the same memory from the translation; out
 * of rel32 reach, the block is not translated. */
static void test_rip_relative_relocated(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00, /* mov rax, [rip+0x1000] */
		0xc3,                                     /* ret */
	};
	struct program g = PROGRAM(code);
	struct translation t;
	translate(&g, 2, TE_RET, JUMP_STAYS, &t);
	const uint8_t *copy = t.e.b + t.x->off[0];
	assert_memory_equal(copy, code, 3);
	int32_t disp;
	memcpy(&disp, copy + 3, 4);
	assert_int_equal(AT + t.x->off[0] + 7 + (uint64_t)(int64_t)disp, CODE + 7 + 0x1000);
	assert_int_equal(t.x->off[1] - t.x->off[0], 7);
	translation_free(&t);

	struct translate_source src = source(&g);
	struct scanned s[MAX_TRANS_INSNS];
	int kind;
	bool gs;
	assert_int_equal(translate_scan(&src, CODE, s, &kind, &gs), 2);
	struct translate_place far = { .at = CODE + (3ull << 30), .id = ID, .lookup = LOOKUP };
	assert_false(translate_block(&src, s, 2, kind, &far, &t));
}

/* The flags are saved only when what runs next may read them: here the
 * block writes all but CF (inc), and the jump's target reads CF (adc), or
 * overwrites it first (add); the code read there becomes a dependency. */
static void test_flags_liveness_follows_the_jump(void **state)
{
	(void)state;
	static const uint8_t block[] = {
		0x48, 0xff, 0xc0,               /* inc rax */
		0xe9, 0xf8, 0x0f, 0x00, 0x00,   /* jmp CODE + 0x1000 */
	};
	static const uint8_t adc[] = { 0x48, 0x11, 0xd8, 0xc3 }; /* adc rax, rbx; ret */
	static const uint8_t add[] = { 0x48, 0x01, 0xd8, 0xc3 }; /* add rax, rbx; ret */
	struct program live = { .p = { { CODE, block, sizeof block }, { CODE + 0x1000, adc, sizeof adc } },
				.n = 2 };
	struct program dead = { .p = { { CODE, block, sizeof block }, { CODE + 0x1000, add, sizeof add } },
				.n = 2 };
	expect_update(&live, 2, TE_JMP, true, "inc rax; ");
	expect_update(&dead, 2, TE_JMP, false, "inc rax; ");
	struct translation td;
	translate(&dead, 2, TE_JMP, JUMP_STAYS, &td);
	assert_int_equal(td.x->dep[0][0], CODE + 0x1000);
	assert_int_equal(td.x->dep[0][1], CODE + 0x1003);
	assert_int_equal(td.x->dep[1][1], 0);
	translation_free(&td);
}

/* A flag read inside the block before being written keeps them saved,
 * even when the block writes all of them later. */
static void test_flags_read_in_the_block(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x48, 0x83, 0xd0, 0x00,         /* adc rax, 0: reads CF */
		0x48, 0x01, 0xd8,               /* add rax, rbx */
		0xc3,                           /* ret */
	};
	static const uint8_t code2[] = {
		0x48, 0x01, 0xd8,               /* add rax, rbx */
		0x48, 0x83, 0xd0, 0x00,         /* adc rax, 0 */
		0xc3,                           /* ret */
	};
	struct program g = PROGRAM(code), g2 = PROGRAM(code2);
	expect_update(&g, 3, TE_RET, true, "adc rax, 0; add rax, rbx; ");
	expect_update(&g2, 3, TE_RET, false, "add rax, rbx; adc rax, 0; ");
}

/* A REP string instruction is a translation of its own, counted per
 * iteration; one after other instructions ends their block before it. */
static void test_rep(void **state)
{
	(void)state;
	static const uint8_t rep[] = { 0xf3, 0xa4, 0xc3 };            /* rep movsb; ret */
	static const uint8_t before[] = { 0x48, 0x89, 0xd8, 0xf3, 0xa4 }; /* mov rax, rbx; rep movsb */
	struct program g = PROGRAM(rep), gb = PROGRAM(before);
	struct translation t, tb;
	char text[2048];
	translate(&g, 1, TE_REP, JUMP_STAYS, &t);
	assert_int_equal(t.nex, 1);
	assert_int_equal(t.ex[0].target, CODE + 2);
	assert_stubs(&t);
	disassemble(&t, AT + t.x->special_off, t.x->end - 16, text, sizeof text);
	expect_prefix(text, "rep movsb", 0);
	code_text(&t, text, sizeof text);
	assert_non_null(strstr(text, "gs:[0x102018]")); /* its counter */
	assert_non_null(strstr(text, "pushfq"));
	translate(&gb, 1, TE_FALL, JUMP_STAYS, &tb);
	assert_int_equal(tb.ex[0].target, CODE + 3);
	translation_free(&t);
	translation_free(&tb);
}

static void test_syscall(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0xb8, 0x27, 0x00, 0x00, 0x00,   /* mov eax, 39 */
		0x0f, 0x05,                     /* syscall */
		0x48, 0x01, 0xd8,               /* add rax, rbx */
	};
	struct program g = PROGRAM(code);
	struct translation t;
	char text[1024];
	translate(&g, 2, TE_SYSCALL, JUMP_STAYS, &t);
	assert_int_equal(t.nex, 1);
	assert_int_equal(t.ex[0].target, CODE + 7);
	code_text(&t, text, sizeof text);
	/* syscall reads the flags (into R11, which the program may look at). */
	expect_prefix(text, COUNT_SAVED "; mov eax, 0x27; syscall; ", 2);
	assert_memory_equal(t.e.b + t.x->off[1], "\x0f\x05", 2);
	assert_int_equal(t.x->off[2], t.x->off[1] + 2); /* where the syscall returns */
	translation_free(&t);
}

/* Memory addressed through GS (the cache's own) refuses the whole block. */
static void test_gs_refused(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x48, 0x89, 0xd8,                                       /* mov rax, rbx */
		0x65, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00,   /* mov rax, gs:[0] */
		0xc3,
	};
	struct program g = PROGRAM(code);
	bool gs;
	assert_int_equal(scan_length(&g, CODE, &gs), 0);
	assert_true(gs);
}

/* Nothing readable, or an instruction no decoder knows: nothing to translate. */
static void test_nothing_to_translate(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0x06 }; /* push es: invalid in 64-bit mode */
	struct program g = PROGRAM(code);
	bool gs;
	assert_int_equal(scan_length(&g, CODE, &gs), 0);
	assert_false(gs);
	assert_int_equal(scan_length(&g, CODE + 0x100000, &gs), 0);
}

/* A block stops at MAX_TRANS_INSNS instructions and falls through. */
static void test_longest_block(void **state)
{
	(void)state;
	static uint8_t code[3 * (MAX_TRANS_INSNS + 10)];
	for (size_t i = 0; i < sizeof code; i += 3)
		memcpy(code + i, "\x48\x01\xd8", 3); /* add rax, rbx */
	struct program g = PROGRAM(code);
	struct translation t;
	translate(&g, MAX_TRANS_INSNS, TE_FALL, JUMP_STAYS, &t);
	assert_int_equal(t.ex[0].target, CODE + 3 * MAX_TRANS_INSNS);
	char text[65536];
	code_text(&t, text, sizeof text);
	expect_prefix(text, COUNT_BARE "; ", MAX_TRANS_INSNS);
	translation_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fall_through),
		cmocka_unit_test(test_refused_instruction_ends_the_block),
		cmocka_unit_test(test_jmp),
		cmocka_unit_test(test_jmp_entering_a_function_is_logged),
		cmocka_unit_test(test_jcc),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_ret),
		cmocka_unit_test(test_indirect_jmp_and_call),
		cmocka_unit_test(test_rip_relative_relocated),
		cmocka_unit_test(test_flags_liveness_follows_the_jump),
		cmocka_unit_test(test_flags_read_in_the_block),
		cmocka_unit_test(test_rep),
		cmocka_unit_test(test_syscall),
		cmocka_unit_test(test_gs_refused),
		cmocka_unit_test(test_nothing_to_translate),
		cmocka_unit_test(test_longest_block),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
