/*
 * sighandler.S - oracle program: a signal handler's instructions are counted.
 *
 * _start installs handler for SIGUSR1 with rt_sigaction (SA_RESTORER, the
 * restorer below), sends itself SIGUSR1 with kill(getpid()), then checks
 * that the handler ran and exits 0.
 *
 * _start:   lea, mov, xor, mov, mov, syscall (rt_sigaction)        6
 *           mov, syscall (getpid)                                   2
 *           mov, mov, mov, syscall (kill)                           4
 *           cmpl, jne (not taken), mov, xor, syscall (exit)         5   = 17
 * handler:  movl $1 flag, mov $100, 100 x (dec, jnz), ret     1+1+200+1 = 203
 * restorer: mov $15, syscall (rt_sigreturn)                             = 2
 *
 * TOTAL = 17 + 203 + 2 = 222, exit 0, one SIGUSR1 delivered.
 */
	.data
act:
	.quad handler          /* sa_handler */
	.quad 0x04000000       /* sa_flags: SA_RESTORER */
	.quad restorer         /* sa_restorer */
	.quad 0                /* sa_mask */
flag:
	.long 0

	.text
	.globl _start
	.type _start, @function
_start:
	lea act(%rip), %rsi
	mov $10, %edi          /* SIGUSR1 */
	xor %edx, %edx
	mov $8, %r10d          /* sizeof(sigset_t) for the kernel */
	mov $13, %eax          /* rt_sigaction */
	syscall
	mov $39, %eax          /* getpid */
	syscall
	mov %eax, %edi
	mov $10, %esi
	mov $62, %eax          /* kill(getpid(), SIGUSR1) */
	syscall
	cmpl $1, flag(%rip)
	jne .Lbad
	mov $60, %eax
	xor %edi, %edi
	syscall
.Lbad:
	mov $60, %eax
	mov $1, %edi
	syscall
	.size _start, .-_start

	.globl handler
	.type handler, @function
handler:
	movl $1, flag(%rip)
	mov $100, %ecx
1:	dec %ecx
	jnz 1b
	ret
	.size handler, .-handler

	.globl restorer
	.type restorer, @function
restorer:
	mov $15, %eax          /* rt_sigreturn */
	syscall
	.size restorer, .-restorer
