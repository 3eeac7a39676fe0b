/*
 * syscalls.S - oracle program: known system calls, one failing.
 *
 * Expected system calls, in order:
 *   write(1, msg, 19) = 19      nr 1   calls 1  errors 0
 *   getpid() = pid > 0          nr 39  calls 1  errors 0
 *   close(-1) = -9 (-EBADF)     nr 3   calls 1  errors 1
 *   exit(3)                     nr 60  calls 1  errors 0 (does not return)
 * stdout receives exactly "prof syscalls test\n" (19 bytes).
 * The program checks each result; on a wrong result it exits with 1
 * through .Lfail (not executed on the expected path).
 *
 * _start
 *   write:  mov $1, mov $1, lea msg, mov $19, syscall, cmp, jne     7
 *   getpid: mov $39, syscall, test, jle                             4
 *   close:  mov $3, mov $-1, syscall, cmp $-9, jne                  5
 *   exit:   mov $60, mov $3, syscall                                3
 *   _start total                                                   19
 *
 * TOTAL = 19, exit status 3.
 *
 * valgrind --tool=callgrind reports 16: callgrind never charges the last
 * basic block before exit (mov, mov, syscall = 3). cachegrind reports 19.
 *
 * Every program here has a non-empty .data section: valgrind 3.19 does not
 * read the symbol table of a static -nostdlib executable that has no
 * file-backed writable segment (functions then show as bare addresses).
 * valgrind also names _start "(below main)" unless --show-below-main=yes.
 */
	.text
	.globl	_start
	.type	_start, @function
_start:
	mov	$1, %eax		/* SYS_write */
	mov	$1, %edi
	lea	msg(%rip), %rsi
	mov	$msglen, %edx
	syscall
	cmp	$msglen, %rax
	jne	.Lfail
	mov	$39, %eax		/* SYS_getpid */
	syscall
	test	%rax, %rax
	jle	.Lfail
	mov	$3, %eax		/* SYS_close */
	mov	$-1, %edi
	syscall
	cmp	$-9, %rax		/* -EBADF */
	jne	.Lfail
	mov	$60, %eax		/* SYS_exit */
	mov	$3, %edi
	syscall
.Lfail:
	mov	$60, %eax
	mov	$1, %edi
	syscall
	.size	_start, .-_start

	.data			/* a non-empty .data: see note above */
msg:	.ascii	"prof syscalls test\n"
	.set	msglen, . - msg
