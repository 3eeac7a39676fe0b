/*
 * work.S - work(n): a loop with a count known by construction, linked into
 * the C test programs (threads.c, ...).
 *
 *   work:  mov %rdi, %rcx        1
 *      1:  dec %rcx              n
 *          jnz 1b                n
 *          ret                   1
 *
 * work(n) executes 2n + 2 instructions (n >= 1).
 */
	.text
	.globl work
	.type work, @function
work:
	mov %rdi, %rcx
1:	dec %rcx
	jnz 1b
	ret
	.size work, .-work
	.section .note.GNU-stack, "", @progbits
