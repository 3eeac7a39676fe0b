/*
 * dlswap_a.S - libdlswap_a.so for dlswap.c: lib_work(n), 2n + 2
 * instructions (as work.S).
 */
	.text
	.globl lib_work
	.type lib_work, @function
lib_work:
	mov %rdi, %rcx
1:	dec %rcx
	jnz 1b
	ret
	.size lib_work, .-lib_work
	.section .note.GNU-stack, "", @progbits
