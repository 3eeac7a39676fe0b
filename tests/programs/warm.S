/*
 * warm.S - oracle program for the code cache's warm start (blocks that an
 * earlier process of the same file translated are translated at a later
 * process's first stop, record/warm_start.h). Built twice, as warm_a and
 * warm_b: warm_b (SHIFTED) has every instruction 3 bytes further on and
 * another loop count, in a file of the same size, so that a warm_a
 * rewritten in place into warm_b with its time kept looks like the same
 * file, and the blocks warm_a taught start inside warm_b's instructions.
 *
 * Counting convention (DESIGN.md): every executed user-space instruction
 * once; the syscall that execs or exits counts.
 *
 * _start: mov, lea, mov, lea                               4
 * .Lloop, LOOPS times: call leaf, call *%r14, dec, jnz      4
 *     leaf: add, ret                                        2
 *     step (called through a register): add, ret            2
 *                                                           8 x LOOPS
 * then cmp, jle                                             2
 *   argc 1 (jle taken): mov, xor, syscall (exit 0)          3
 *   argc > 1: mov, lea, lea, mov, syscall (execve(argv[1],
 *     argv + 1, envp): the program goes on as argv[1])      5
 *
 * One image: 4 + 8 x LOOPS + 5 when it exits, + 7 when it execs.
 * warm_a (LOOPS 300): 2409 exiting, 2411 exec'ing.
 * warm_b (LOOPS 200): 1609 exiting, 1611 exec'ing.
 */
	.text
	.globl	_start
	.type	_start, @function
#ifdef SHIFTED
	.fill	3, 1, 0xcc		/* never run */
#endif
_start:
	mov	(%rsp), %r12		/* argc */
	lea	8(%rsp), %r13		/* argv */
	mov	$LOOPS, %ebx
	lea	step(%rip), %r14
.Lloop:
	call	leaf
	call	*%r14
	dec	%ebx
	jnz	.Lloop
	cmp	$1, %r12
	jle	.Lexit
	mov	8(%r13), %rdi		/* argv[1] */
	lea	8(%r13), %rsi		/* argv + 1 */
	lea	8(%r13,%r12,8), %rdx	/* envp: after argv's NULL */
	mov	$59, %eax		/* SYS_execve */
	syscall
.Lexit:
	mov	$60, %eax		/* SYS_exit */
	xor	%edi, %edi
	syscall

	.type	leaf, @function
leaf:
	add	$1, %eax
	ret

	.type	step, @function
step:
	add	$2, %edx
	ret
#ifndef SHIFTED
	.fill	3, 1, 0xcc
#endif

	.data
seed:	.long	1
