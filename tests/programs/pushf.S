/*
 * pushf.S - oracle program: the trap flag must not leak into the program.
 *
 * A tracer that single-steps sets TF (RFLAGS bit 8, 0x100). If it does not
 * hide it, `pushfq` stores TF = 1 on the program's stack. tf_bit reads
 * RFLAGS through pushfq/pop and returns TF (0 or 1); _start ORs the two
 * readings and exits with that as its status: 0 when run normally or
 * under a correct tracer, 1 when TF leaked. The pushfq/popfq loop in
 * between pops a leaked TF back into RFLAGS, which can make the program
 * trap on its own (SIGTRAP) when the tracer is not single-stepping it.
 *
 * tf_bit (per call 5, called 2x)                          10
 *   pushfq, pop %rax, shr $8, and $1, ret
 * _start
 *   xor %ebx, call tf_bit, or                              3
 *   mov $4                                                 1
 *   .Lpf: pushfq, popfq, dec, jnz           4 x 4 =       16
 *   call tf_bit, or                                        2
 *   exit: mov $60, mov %ebx,%edi, syscall                  3
 *   _start total                                          25
 *
 * TOTAL = 35, exit status 0 (1 if TF leaked).
 *
 * valgrind --tool=callgrind reports 31 (_start 21): callgrind never
 * charges the last basic block before exit (the block the second tf_bit
 * returns into: or, mov, mov, syscall = 4). cachegrind reports 35.
 * A plain PTRACE_SINGLESTEP loop that does not hide TF makes this program
 * exit 1 (checked); clearing bit 8 of the word pushfq stored gives 0.
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
	xor	%ebx, %ebx
	call	tf_bit
	or	%eax, %ebx
	mov	$4, %ecx
.Lpf:
	pushfq
	popfq
	dec	%ecx
	jnz	.Lpf
	call	tf_bit
	or	%eax, %ebx
	mov	$60, %eax		/* SYS_exit */
	mov	%ebx, %edi		/* status = TF seen ? 1 : 0 */
	syscall
	.size	_start, .-_start

	.globl	tf_bit
	.type	tf_bit, @function
tf_bit:
	pushfq
	pop	%rax
	shr	$8, %eax
	and	$1, %eax
	ret
	.size	tf_bit, .-tf_bit

	.data			/* a non-empty .data: see note above */
	.align	8
marker:	.quad	0
