/*
 * segv.S - oracle program: dies of SIGSEGV.
 *
 * _start: mov $7, %eax (1); xor %ecx, %ecx (2); mov (%rcx), %rbx faults.
 * The faulting load never completes, so single-stepping sees 2 instructions.
 * The kernel kills the process with SIGSEGV: prof record exits 128 + 11 = 139.
 */
	.data
	.quad 0            /* valgrind reads symbols only with a non-empty .data */

	.text
	.globl _start
	.type _start, @function
_start:
	mov $7, %eax
	xor %ecx, %ecx
	mov (%rcx), %rbx
	.size _start, .-_start
