/*
 * warm_rewrite SRC DST NEXT [ARGS...] - writes SRC's bytes over DST in
 * place (same inode; SRC must be DST's size and at most 64 KiB), gives DST
 * back its modification time, then execs NEXT ARGS. For the warm start
 * test (warm.S): DST then looks like the file it was. No libc, so that
 * single-stepping it costs nothing.
 */
	.text
	.globl	_start
	.type	_start, @function
_start:
	mov	(%rsp), %r12		/* argc */
	lea	8(%rsp), %r13		/* argv */
	cmp	$4, %r12
	jl	.Lfail
	mov	$2, %eax		/* open(DST, O_WRONLY) */
	mov	16(%r13), %rdi
	mov	$1, %esi
	syscall
	test	%rax, %rax
	js	.Lfail
	mov	%rax, %r14
	mov	$5, %eax		/* fstat(dst, &st) */
	mov	%r14, %rdi
	lea	st(%rip), %rsi
	syscall
	test	%rax, %rax
	jnz	.Lfail
	mov	$2, %eax		/* open(SRC, O_RDONLY) */
	mov	8(%r13), %rdi
	xor	%esi, %esi
	syscall
	test	%rax, %rax
	js	.Lfail
	mov	%rax, %r15
	xor	%eax, %eax		/* read(src, buf, 65536) */
	mov	%r15, %rdi
	lea	buf(%rip), %rsi
	mov	$65536, %edx
	syscall
	test	%rax, %rax
	jle	.Lfail
	mov	%rax, %rdx		/* write(dst, buf, n) */
	mov	$1, %eax
	mov	%r14, %rdi
	lea	buf(%rip), %rsi
	syscall
	cmp	%rax, %rdx
	jne	.Lfail
	mov	$280, %eax		/* utimensat(dst, NULL, {st_atim, st_mtim}, 0) */
	mov	%r14, %rdi
	xor	%esi, %esi
	lea	st+72(%rip), %rdx
	xor	%r10d, %r10d
	syscall
	test	%rax, %rax
	jnz	.Lfail
	mov	$3, %eax		/* close(dst): a file open for writing cannot be exec'd */
	mov	%r14, %rdi
	syscall
	mov	$59, %eax		/* execve(NEXT, argv + 3, envp) */
	mov	24(%r13), %rdi
	lea	24(%r13), %rsi
	lea	8(%r13,%r12,8), %rdx
	syscall
.Lfail:
	mov	$60, %eax		/* exit(1) */
	mov	$1, %edi
	syscall

	.bss
	.balign	16
st:	.skip	144			/* struct stat */
buf:	.skip	65536
