/*
 * bigcode.S - oracle program: more code than one code-cache region holds.
 *
 * 131072 blocks one after the other, each run once; every 16th makes a
 * getppid syscall. Translated, they fill a cache region (8 MiB) and go on
 * in another, and threads stop at syscalls everywhere in them: a stop in
 * the last translations of a full region must be known as one in the cache
 * (it once was not: the region's last step was mapped past its end).
 *
 * _start
 *   prologue: xor                                    1
 *   131072 blocks: add, test, jnz                    3 x 131072 = 393216
 *     every 16th (ebx a multiple of 16: jnz falls
 *     through): mov, syscall                         2 x 8192   =  16384
 *   exit: mov $60, mov $0, syscall                   3
 *   _start total                                     409604
 *
 * TOTAL = 409604, exit status 0; getppid 8192 calls, exit 1.
 */
	.text
	.globl	_start
	.type	_start, @function
_start:
	xor	%ebx, %ebx
	.rept	131072
	add	$1, %ebx
	test	$15, %bl
	jnz	1f
	mov	$110, %eax		/* SYS_getppid */
	syscall
1:
	.endr
	mov	$60, %eax		/* SYS_exit */
	mov	$0, %edi
	syscall
	.size	_start, .-_start

	.data			/* a non-empty .data: see loop.S */
	.align	4
seed:	.long	5381
