/* The harness's way into and out of generated code: every register, the
 * flags and the vector state come from fz_in; the code ends with a jump
 * to fz_exit, which stores them all into fz_out. Only mov touches the
 * program's state between the loads and the jump, so nothing of the
 * harness's own leaks into what is compared; the host stack (never the
 * program's) carries the flags through popfq and pushfq. */
#include "abi.h"
	.intel_syntax noprefix

	.bss
	.balign 64
	.globl fz_in, fz_out, fz_vec_mode
fz_in:	.skip STATE_SIZE
fz_out:	.skip STATE_SIZE
fz_vec_mode:	.skip 8
fz_host_rsp:	.skip 8

	.text
	.globl _start
_start:
	mov rdi, [rsp]
	lea rsi, [rsp + 8]
	and rsp, -16
	call fz_main
	mov edi, eax
	mov eax, 231		/* exit_group */
	syscall
	hlt

/* The return from a signal handler (rt_sigreturn). */
	.globl fz_restorer
fz_restorer:
	mov eax, 15
	syscall
	hlt

/* void fz_run(void): runs the code at fz_in's entry with fz_in's state. */
	.globl fz_run
fz_run:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	mov [fz_host_rsp], rsp
	mov rax, [fz_vec_mode]
	cmp rax, VEC_AVX512
	je 2f
	cmp rax, VEC_AVX
	je 1f
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu xmm\i, [fz_in + ST_VEC + \i * 64]
	.endr
	jmp 3f
1:
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqu ymm\i, [fz_in + ST_VEC + \i * 64]
	.endr
	jmp 3f
2:
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqu64 zmm\i, [fz_in + ST_VEC + \i * 64]
	.endr
	.irp i, 0,1,2,3,4,5,6,7
	kmovq k\i, [fz_in + ST_K + \i * 8]
	.endr
3:
	ldmxcsr [fz_in + ST_MXCSR]
	push qword ptr [fz_in + ST_RFLAGS]
	popfq
	mov rsp, [fz_in + ST_GPR + 4 * 8]
	mov rax, [fz_in + ST_GPR + 0 * 8]
	mov rcx, [fz_in + ST_GPR + 1 * 8]
	mov rdx, [fz_in + ST_GPR + 2 * 8]
	mov rbx, [fz_in + ST_GPR + 3 * 8]
	mov rbp, [fz_in + ST_GPR + 5 * 8]
	mov rsi, [fz_in + ST_GPR + 6 * 8]
	mov rdi, [fz_in + ST_GPR + 7 * 8]
	mov r8, [fz_in + ST_GPR + 8 * 8]
	mov r9, [fz_in + ST_GPR + 9 * 8]
	mov r10, [fz_in + ST_GPR + 10 * 8]
	mov r11, [fz_in + ST_GPR + 11 * 8]
	mov r12, [fz_in + ST_GPR + 12 * 8]
	mov r13, [fz_in + ST_GPR + 13 * 8]
	mov r14, [fz_in + ST_GPR + 14 * 8]
	mov r15, [fz_in + ST_GPR + 15 * 8]
	jmp qword ptr [fz_in + ST_ENTRY]

	.globl fz_exit
fz_exit:
	mov [fz_out + ST_GPR + 0 * 8], rax
	mov [fz_out + ST_GPR + 1 * 8], rcx
	mov [fz_out + ST_GPR + 2 * 8], rdx
	mov [fz_out + ST_GPR + 3 * 8], rbx
	mov [fz_out + ST_GPR + 4 * 8], rsp
	mov [fz_out + ST_GPR + 5 * 8], rbp
	mov [fz_out + ST_GPR + 6 * 8], rsi
	mov [fz_out + ST_GPR + 7 * 8], rdi
	mov [fz_out + ST_GPR + 8 * 8], r8
	mov [fz_out + ST_GPR + 9 * 8], r9
	mov [fz_out + ST_GPR + 10 * 8], r10
	mov [fz_out + ST_GPR + 11 * 8], r11
	mov [fz_out + ST_GPR + 12 * 8], r12
	mov [fz_out + ST_GPR + 13 * 8], r13
	mov [fz_out + ST_GPR + 14 * 8], r14
	mov [fz_out + ST_GPR + 15 * 8], r15
	mov rsp, [fz_host_rsp]
	pushfq
	pop qword ptr [fz_out + ST_RFLAGS]
	cld
	stmxcsr [fz_out + ST_MXCSR]
	mov rax, [fz_vec_mode]
	cmp rax, VEC_AVX512
	je 2f
	cmp rax, VEC_AVX
	je 1f
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu [fz_out + ST_VEC + \i * 64], xmm\i
	.endr
	jmp 3f
1:
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqu [fz_out + ST_VEC + \i * 64], ymm\i
	.endr
	vzeroupper
	jmp 3f
2:
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqu64 [fz_out + ST_VEC + \i * 64], zmm\i
	.endr
	.irp i, 0,1,2,3,4,5,6,7
	kmovq [fz_out + ST_K + \i * 8], k\i
	.endr
	vzeroupper
3:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret
	.section .note.GNU-stack,"",@progbits
