/*
 * dlswap_b.S - libdlswap_b.so for dlswap.c: lib_work(n), the same name as
 * in libdlswap_a.so but 3n + 2 instructions.
 */
	.text
	.globl lib_work
	.type lib_work, @function
lib_work:
	mov %rdi, %rcx
1:	nop
	dec %rcx
	jnz 1b
	ret
	.size lib_work, .-lib_work
	.section .note.GNU-stack, "", @progbits
