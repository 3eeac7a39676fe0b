/*
 * spin.S - a program that never ends by itself (for interrupt tests):
 * an endless two-instruction loop. No .expect: it has no total.
 */
	.data
	.quad 0

	.text
	.globl _start
	.type _start, @function
_start:
1:	inc %rax
	jmp 1b
	.size _start, .-_start
