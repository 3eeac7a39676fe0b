/*
 * requests.S - oracle program: valgrind's client requests, counts known by
 * construction. Recorded with --instr-atstart=no (requests.expect).
 *
 * A request (the REQUEST macro) is 8 instructions: the store of its code,
 * lea of the block into rax, xor of rdx (the default result), then
 * valgrind's sequence: rol rdi x4 and xchg rbx,rbx. A named dump
 * (REQUEST_NAMED) stores the name's address too: 10. The counting
 * convention (docs/client-requests.md): a request's instructions count as
 * things stand while they run; what it changes applies after its xchg. So
 * a request that turns counting on counts 0 of its own, one that turns it
 * off counts all of them, and a dump counts its own in the part it ends.
 *
 * hot(n): xor + 3 per iteration + ret = 3n + 2.
 *
 * _start                                     counted  part
 *   mov, call spin(100)                         0      (instrumentation off)
 *   START                                       0
 *   mov, call hot(1000)                      2+3002    1
 *   TOGGLE (collection off after)               8      1
 *   mov, call hot(50)                           0
 *   TOGGLE (on after)                           0
 *   DUMP_AT "first"                            10      1: 3022 (_start 20, hot 3002)
 *   mov, call hot(30)                        2+92      zeroed
 *   ZERO                                        8      zeroed
 *   mov, call hot(20)                        2+62      2
 *   DUMP                                        8      2: 72 (_start 10, hot 62)
 *   TOGGLE (off)                                8      3
 *   mov, call hot(5)                            0
 *   TOGGLE (on), TOGGLE (off)                 0+8      3
 *   TOGGLE (on)                                 0
 *   STOP (instrumentation off after)            8      3
 *   mov, call hot(40)                           0
 *   DUMP_AT "third"                             0      3: 24 (_start 24)
 *   START                                       0
 *   exit: mov, xor, syscall                     3      4: 3 (_start 3)
 *
 * TOTAL = 3022 + 72 + 24 + 3 = 3121, exit status 0.
 */
	.macro REQUEST code
	movq	$\code, req(%rip)
	lea	req(%rip), %rax
	xor	%edx, %edx
	rol	$3, %rdi
	rol	$13, %rdi
	rol	$61, %rdi
	rol	$51, %rdi
	xchg	%rbx, %rbx
	.endm

	.macro REQUEST_NAMED code, name
	lea	\name(%rip), %rcx
	mov	%rcx, req+8(%rip)
	REQUEST	\code
	.endm

	.set	DUMP_STATS, 0x43540000
	.set	ZERO_STATS, 0x43540001
	.set	TOGGLE_COLLECT, 0x43540002
	.set	DUMP_STATS_AT, 0x43540003
	.set	START_INSTRUMENTATION, 0x43540004
	.set	STOP_INSTRUMENTATION, 0x43540005

	.text
	.globl	_start
	.type	_start, @function
_start:
	mov	$100, %ecx
	call	spin
	REQUEST	START_INSTRUMENTATION
	mov	$1000, %ecx
	call	hot
	REQUEST	TOGGLE_COLLECT
	mov	$50, %ecx
	call	hot
	REQUEST	TOGGLE_COLLECT
	REQUEST_NAMED DUMP_STATS_AT, first
	mov	$30, %ecx
	call	hot
	REQUEST	ZERO_STATS
	mov	$20, %ecx
	call	hot
	REQUEST	DUMP_STATS
	REQUEST	TOGGLE_COLLECT
	mov	$5, %ecx
	call	hot
	REQUEST	TOGGLE_COLLECT
	REQUEST	TOGGLE_COLLECT
	REQUEST	TOGGLE_COLLECT
	REQUEST	STOP_INSTRUMENTATION
	mov	$40, %ecx
	call	hot
	REQUEST_NAMED DUMP_STATS_AT, third
	REQUEST	START_INSTRUMENTATION
	mov	$60, %eax		/* SYS_exit */
	xor	%edi, %edi
	syscall
	.size	_start, .-_start

	.type	hot, @function
hot:
	xor	%eax, %eax
1:	add	%ecx, %eax
	dec	%ecx
	jnz	1b
	ret
	.size	hot, .-hot

	.type	spin, @function
spin:
	dec	%ecx
	jnz	spin
	ret
	.size	spin, .-spin

	.data
	.align	8
req:	.quad	0, 0, 0, 0, 0, 0
first:	.asciz	"first"
third:	.asciz	"third"
