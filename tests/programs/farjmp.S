/*
 * farjmp.S - oracle program: a far jump, which block mode does not emulate.
 *
 * ljmp through a m16:32 pointer (offset, then the selector of our own code
 * segment) lands on the next instruction. Block mode cannot emulate a far
 * transfer: it walks the block by single steps up to the ljmp and steps it.
 * (REX.W ljmp m16:64 does not exist on AMD CPUs: the 32-bit form works on
 * every x86-64, with the program linked below 4 GB.)
 *
 * _start: mov %cs, mov %cx to farptr+4, mov $3           3
 *         3 x (lea, ljmp, dec, jnz)                      12
 *         mov $60, xor, syscall                           3
 *
 * TOTAL = 18, exit status 0.
 */
	.text
	.globl	_start
	.type	_start, @function
_start:
	mov	%cs, %ecx
	mov	%cx, farptr+4(%rip)
	mov	$3, %ebx
.Lloop:
	lea	farptr(%rip), %rax
	ljmp	*(%rax)
.Lland:
	dec	%ebx
	jnz	.Lloop
	mov	$60, %eax		/* SYS_exit */
	xor	%edi, %edi
	syscall
	.size	_start, .-_start

	.data
farptr:
	.long	.Lland
	.word	0
