/* Instructions decoded once per recording (decode_memo.c): what the memo
 * gives for some bytes at some address is what decoding them there gives,
 * whatever address they were first decoded at; other bytes at the same
 * address (code written again) are decoded afresh. */
#include "decode_memo.h"
#include "translate.h"
#include "prof/branch.h"
#include "prof/classes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

struct bytes {
	const uint8_t *b;
	size_t n;
	uint64_t at;
};

static size_t bytes_read(void *ctx, uint64_t pc, uint8_t out[16])
{
	const struct bytes *g = ctx;
	if (pc < g->at || pc >= g->at + g->n)
		return 0;
	size_t n = g->at + g->n - pc < 16 ? g->at + g->n - pc : 16;
	memcpy(out, g->b + (pc - g->at), n);
	return n;
}

static struct classifier *cls;

/* Decodes b at address at, through memo m (NULL: the decoder alone). */
static bool decode(struct decode_memo *m, const uint8_t *b, size_t n, uint64_t at, struct scanned *s)
{
	struct bytes g = { b, n, at };
	struct translate_source src = { .classifier = cls, .read = bytes_read, .ctx = &g, .memo = m };
	return translate_decode(&src, at, s);
}

static void assert_same_decode(const struct scanned *a, const struct scanned *b)
{
	assert_int_equal(a->pc, b->pc);
	assert_memory_equal(&a->info, &b->info, sizeof a->info);
	assert_memory_equal(&a->enc, &b->enc, sizeof a->enc);
	assert_memory_equal(&a->br, &b->br, sizeof a->br);
}

static void hits(const struct decode_memo *m, size_t want_hits, size_t want_misses)
{
	size_t h, mi;
	decode_memo_stats(m, &h, &mi);
	assert_int_equal(h, want_hits);
	assert_int_equal(mi, want_misses);
}

/* A direct call found at another address: its target moves with it. */
static void test_direct_target_follows_the_address(void **state)
{
	(void)state;
	static const uint8_t call[] = { 0xe8, 0xfb, 0x0f, 0x00, 0x00, 0x90 }; /* call .+0x1000; nop */
	struct decode_memo *m = decode_memo_new(16);
	struct scanned first, again, fresh;
	assert_true(decode(m, call, sizeof call, 0x401000, &first));
	assert_int_equal(first.br.to.target, 0x402000);
	assert_true(decode(m, call, sizeof call, 0x7f0000001000ull, &again));
	hits(m, 1, 1);
	assert_true(decode(NULL, call, sizeof call, 0x7f0000001000ull, &fresh));
	assert_int_equal(again.br.to.target, 0x7f0000002000ull);
	assert_same_decode(&again, &fresh);
	decode_memo_free(m);
}

/* Plain instructions and indirect branches come back as decoded. */
static void test_same_as_the_decoder(void **state)
{
	(void)state;
	static const uint8_t code[][16] = {
		{ 0x48, 0x01, 0xd8 },                                     /* add rax, rbx */
		{ 0xff, 0x15, 0x10, 0x00, 0x00, 0x00 },                   /* call [rip+0x10] */
		{ 0xc2, 0x10, 0x00 },                                     /* ret 0x10 */
		{ 0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00 },             /* mov rax, [rip+0x1000] */
		{ 0x48, 0x83, 0xec, 0x18 },                               /* sub rsp, 0x18 */
		{ 0xf3, 0xa4 },                                           /* rep movsb */
		{ 0x75, 0x10 },                                           /* jne .+0x12 */
	};
	struct decode_memo *m = decode_memo_new(64);
	for (size_t i = 0; i < sizeof code / sizeof code[0]; i++) {
		struct scanned a, b, fresh;
		assert_true(decode(m, code[i], 16, 0x401000, &a));
		assert_true(decode(m, code[i], 16, 0x5000a0, &b));
		assert_true(decode(NULL, code[i], 16, 0x5000a0, &fresh));
		assert_same_decode(&b, &fresh);
		assert_memory_equal(&a.info, &b.info, sizeof a.info);
	}
	hits(m, 7, 7);
	decode_memo_free(m);
}

/* Other bytes at an address decoded before (a JIT wrote its code again):
 * they are decoded, not taken for the old ones. Instructions longer than
 * the memo's key that share it (movabs with other immediates) are told
 * apart by their bytes. */
static void test_other_bytes_decoded_afresh(void **state)
{
	(void)state;
	static const uint8_t ret[] = { 0xc3, 0x90 };
	static const uint8_t jmp[] = { 0xeb, 0xfe };
	static const uint8_t movabs1[] = { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t movabs2[] = { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 9, 9 };
	struct decode_memo *m = decode_memo_new(16);
	struct scanned s;
	assert_true(decode(m, ret, sizeof ret, 0x401000, &s));
	assert_int_equal(s.br.kind, BR_RET);
	assert_true(decode(m, jmp, sizeof jmp, 0x401000, &s));
	assert_int_equal(s.br.kind, BR_JMP);
	assert_int_equal(s.br.to.target, 0x401000);
	hits(m, 0, 2);
	assert_true(decode(m, movabs1, sizeof movabs1, 0x401000, &s));
	assert_true(decode(m, movabs2, sizeof movabs2, 0x401000, &s));
	hits(m, 0, 4);
	assert_true(decode(m, movabs2, sizeof movabs2, 0x402000, &s));
	assert_int_equal(s.info.len, 10);
	hits(m, 1, 4);
	decode_memo_free(m);
}

/* Bytes cut short (the end of a mapping) are not found as the whole
 * instruction; a full memo adds nothing more but still finds what it holds. */
static void test_short_bytes_and_a_full_memo(void **state)
{
	(void)state;
	static const uint8_t mov[] = { 0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00 };
	static const uint8_t nop[] = { 0x90 };
	struct decode_memo *m = decode_memo_new(1);
	struct scanned s;
	assert_true(decode(m, mov, sizeof mov, 0x401000, &s));
	assert_false(decode(m, mov, 4, 0x401000, &s)); /* the decoder refuses it too */
	assert_true(decode(m, nop, sizeof nop, 0x401000, &s)); /* not kept: full */
	assert_true(decode(m, nop, sizeof nop, 0x402000, &s));
	assert_true(decode(m, mov, sizeof mov, 0x403000, &s));
	hits(m, 1, 4);
	decode_memo_free(m);
}

static int setup(void **state)
{
	(void)state;
	cls = classifier_new();
	return cls ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	classifier_free(cls);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_target_follows_the_address),
		cmocka_unit_test(test_same_as_the_decoder),
		cmocka_unit_test(test_other_bytes_decoded_afresh),
		cmocka_unit_test(test_short_bytes_and_a_full_memo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
