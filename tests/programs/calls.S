/*
 * calls.S - oracle program: nested call/ret, push/pop frames, ret $imm.
 *
 * Call graph:  _start -> outer (10x) -> inner  (5x per outer = 50x)
 *                                    -> addimm (1x per outer = 10x, ret $8)
 *
 * _start (executed once)
 *   xor, mov $10                                        2
 *   .Ls: call outer, dec, jnz                 3 x 10 = 30
 *   exit: mov $60, mov $0, syscall                      3
 *   _start total                                       35
 *
 * outer (per call 24, called 10x)                     240
 *   push %rbp, mov %rsp,%rbp, push %r12, mov $5      4
 *   .Lo: call inner, dec, jnz               3 x 5 = 15
 *   push $3, call addimm                             2
 *   pop %r12, pop %rbp, ret                          3
 *
 * inner (per call 6, called 50x)                      300
 *   push %rbp, mov %rsp,%rbp, incq ncalls, lea, pop %rbp, ret
 *
 * addimm (per call 3, called 10x)                      30
 *   mov 8(%rsp),%rdx, add %rdx,%rax, ret $8   (ret $8 pops the pushed arg)
 *
 * TOTAL = 35 + 240 + 300 + 30 = 605, exit status 0.
 *
 * valgrind --tool=callgrind reports 602 (_start 32): callgrind never
 * charges the last basic block before exit (mov, mov, syscall = 3).
 * cachegrind reports 605 (_start 35).
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
	xor	%eax, %eax
	mov	$10, %ebx
.Ls:
	call	outer
	dec	%ebx
	jnz	.Ls
	mov	$60, %eax		/* SYS_exit */
	mov	$0, %edi
	syscall
	.size	_start, .-_start

	.globl	outer
	.type	outer, @function
outer:
	push	%rbp
	mov	%rsp, %rbp
	push	%r12
	mov	$5, %r12d
.Lo:
	call	inner
	dec	%r12d
	jnz	.Lo
	push	$3			/* stack argument, popped by ret $8 */
	call	addimm
	pop	%r12
	pop	%rbp
	ret
	.size	outer, .-outer

	.globl	inner
	.type	inner, @function
inner:
	push	%rbp
	mov	%rsp, %rbp
	incq	ncalls(%rip)
	lea	1(%rax), %rax
	pop	%rbp
	ret
	.size	inner, .-inner

	.globl	addimm
	.type	addimm, @function
addimm:
	mov	8(%rsp), %rdx
	add	%rdx, %rax
	ret	$8
	.size	addimm, .-addimm

	.data
	.align	8
ncalls:	.quad	0
