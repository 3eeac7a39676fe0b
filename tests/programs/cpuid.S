/*
 * cpuid.S - oracle program: CPUID (leaf 0 and leaf 1), each one instruction.
 *
 * do_cpuid (per call 6, called 6x)                        36
 *   push %rbx, mov %edi,%eax, xor %ecx,%ecx, cpuid, pop %rbx, ret
 * _start
 *   mov $3                                                 1
 *   .Lc: xor %edi, call do_cpuid, mov $1, call do_cpuid,
 *        dec, jnz                           6 x 3 =       18
 *   exit: mov $60, mov $0, syscall                         3
 *   _start total                                          22
 *
 * TOTAL = 22 + 36 = 58, exit status 0.
 *
 * valgrind --tool=callgrind reports 55 (_start 19): callgrind never
 * charges the last basic block before exit (mov, mov, syscall = 3).
 * cachegrind reports 58. valgrind emulates cpuid; it is still 1 Ir.
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
	mov	$3, %r12d
.Lc:
	xor	%edi, %edi		/* leaf 0: vendor */
	call	do_cpuid
	mov	$1, %edi		/* leaf 1: features */
	call	do_cpuid
	dec	%r12d
	jnz	.Lc
	mov	$60, %eax		/* SYS_exit */
	mov	$0, %edi
	syscall
	.size	_start, .-_start

	.globl	do_cpuid
	.type	do_cpuid, @function
do_cpuid:
	push	%rbx			/* cpuid clobbers rbx */
	mov	%edi, %eax
	xor	%ecx, %ecx
	cpuid
	pop	%rbx
	ret
	.size	do_cpuid, .-do_cpuid

	.data			/* a non-empty .data: see note above */
	.align	8
marker:	.quad	0
