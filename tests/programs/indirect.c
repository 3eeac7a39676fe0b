/* indirect.c - indirect control flow for the recording modes that follow
 * targets themselves (block chaining, indirect-target lookups):
 *   - one call site calling 16 different functions through a pointer table,
 *   - a dense switch compiled to a jump table (-O2, checked: `jmp *%rax`),
 *   - tail calls (`jmp` to another function, -foptimize-sibling-calls),
 *     including an indirect tail call through a function pointer,
 *   - a trampoline that enters its target by `push target; ret`.
 * Deterministic output; about 50k instructions. */
#include <stdio.h>

typedef unsigned long (*op_fn)(unsigned long);

#define OP(n) \
	__attribute__((noinline)) static unsigned long op##n(unsigned long x) \
	{ return x * (2 * n + 1) + n; }
OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7)
OP(8) OP(9) OP(10) OP(11) OP(12) OP(13) OP(14) OP(15)

static op_fn const ops[16] = { op0, op1, op2, op3, op4, op5, op6, op7,
			       op8, op9, op10, op11, op12, op13, op14, op15 };

/* Each case differs enough that GCC keeps a jump table. */
__attribute__((noinline)) static unsigned long sw(unsigned k, unsigned long x)
{
	switch (k) {
	case 0: return x + 11;
	case 1: return x ^ 0x55;
	case 2: return x * 7;
	case 3: return x >> 3;
	case 4: return x - 9;
	case 5: return x << 2;
	case 6: return ~x;
	case 7: return x * x;
	case 8: return x | 0x1234;
	case 9: return x & 0xffff0;
	default: return x + k;
	}
}

/* Tail calls: `leaf` is entered by jmp from `mid`, and `dispatch` tail
 * calls through a pointer (jmp *%reg). */
__attribute__((noinline)) static unsigned long leaf(unsigned long x, unsigned long y)
{
	return x * 3 + y;
}

__attribute__((noinline)) static unsigned long mid(unsigned long x, unsigned long y)
{
	return leaf(x + 1, y ^ x);
}

__attribute__((noinline)) static unsigned long dispatch(unsigned k, unsigned long x)
{
	return ops[k & 15](x);
}

/* via_ret(target, x): a trampoline that enters target(x) by
 * `push target; ret`, leaving its own return address for target to return
 * to (as some JITs and threaded interpreters do). A ret whose target is no
 * return address: a shadow call stack must not pair it with a call. */
unsigned long via_ret(op_fn target, unsigned long x);
__asm__(".text\n"
	".globl via_ret\n"
	".type via_ret, @function\n"
	"via_ret:\n\t"
	"mov %rdi, %rax\n\t"
	"mov %rsi, %rdi\n\t"
	"push %rax\n\t"
	"ret\n"
	".size via_ret, .-via_ret\n");

int main(void)
{
	unsigned long acc = 1;
	for (unsigned i = 0; i < 600; i++) {
		acc = ops[(i * 7) & 15](acc);    /* one call site, 16 targets */
		acc = sw(i % 13, acc);           /* jump table */
		acc = mid(acc, i);               /* direct tail call */
		acc ^= dispatch(i * 5 + 3, acc); /* indirect tail call */
		if (i % 4 == 0)
			acc += via_ret(ops[i & 15], acc);
	}
	printf("indirect: %lu\n", acc);
	return 0;
}
