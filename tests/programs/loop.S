/*
 * loop.S - oracle program: one counted loop.
 *
 * Counting convention (DESIGN.md): every executed user-space instruction
 * once, as single-stepping sees it; the final exit `syscall` counts.
 *
 * _start
 *   prologue: mov seed, xor, mov $1000          3
 *   .Lloop body: add, imul, xor, dec, jnz       5 x 1000 iterations = 5000
 *     (jnz is taken 999 times, falls through once)
 *   exit: mov $60, mov $0, syscall              3
 *   _start total                                5006
 *
 * TOTAL = 5006, exit status 0.
 *
 * valgrind --tool=callgrind reports 5003: callgrind never charges the
 * last basic block before the process exits (here: mov, mov, syscall = 3).
 * cachegrind and lackey report 5006.
 *
 * Every program here has a non-empty .data section: valgrind 3.19 does not
 * read the symbol table of a static -nostdlib executable that has no
 * file-backed writable segment (functions then show as bare addresses).
 * valgrind also names _start "(below main)" unless --show-below-main=yes.
 */
	.text
	.globl	_start
	.type	_start, @function
_start:
	mov	seed(%rip), %edx	/* load */
	xor	%eax, %eax
	mov	$1000, %ecx
.Lloop:
	add	%ecx, %eax
	imul	$33, %edx, %edx
	xor	%eax, %edx
	dec	%ecx
	jnz	.Lloop
	mov	$60, %eax		/* SYS_exit */
	mov	$0, %edi
	syscall
	.size	_start, .-_start

	.data			/* a non-empty .data: see note above */
	.align	4
seed:	.long	5381
