/*
 * rep.S - oracle program: REP-prefixed string instructions.
 *
 * Convention (DESIGN.md "The counting convention"): a REP string
 * instruction counts once per iteration, as single-stepping sees it (the
 * CPU raises the single-step trap after every iteration). With RCX = 0 the
 * instruction still executes once, doing nothing: 1 trap, counted as 1.
 * A REPE/REPNE instruction that stops early on its condition counts the
 * iterations it actually performed.
 *
 * copy100: lea, lea, mov $100, rep movsb (100), ret        4 + 100 = 104
 * fill16:  lea, movabs, mov $16, rep stosq (16), ret        4 +  16 =  20
 * cmpstop: lea, lea, mov $16, repe cmpsb, mov, ret          5 +   6 =  11
 *          s1 and s2 first differ at byte index 5, so repe cmpsb performs
 *          6 iterations and stops with RCX = 16 - 6 = 10 (returned in eax)
 * copy0:   lea, lea, xor %ecx, rep movsb (RCX = 0: 1), ret   4 +   1 =   5
 * _start:  cld, call copy100, call fill16, call cmpstop, cmp $10, jne,
 *          call copy0, mov $60, mov $0, syscall                        10
 *          (the jne to .Lbad is not taken; .Lbad never runs)
 *
 * TOTAL = 10 + 104 + 20 + 11 + 5 = 150, exit status 0.
 *
 * What valgrind says (3.19, checked): VEX translates an unconditional REP
 * as "if RCX == 0 leave; RCX--; one iteration; jump back to this same
 * instruction", so the instruction is entered N + 1 times for RCX = N > 0
 * and valgrind's Ir counts N + 1 (rep movsb x100 -> 101, rep stosq x16 ->
 * 17). RCX = 0 -> 1 (agrees). repe cmpsb stopping early after k
 * iterations -> k (agrees: it leaves through the condition, not RCX = 0).
 * So cachegrind/lackey total = 152, functions copy100 105, fill16 21,
 * cmpstop 11, copy0 5, _start 10.
 * callgrind additionally never charges the last basic block before exit
 * (mov, mov, syscall = 3): callgrind total = 149, _start 7.
 * The single-step convention (150) is the one prof and rep.expect use;
 * it was also checked with a PTRACE_SINGLESTEP loop: the rep movsb address
 * is seen 100 times, rep stosq 16, repe cmpsb 6, the RCX = 0 rep movsb 1.
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
	cld
	call	copy100
	call	fill16
	call	cmpstop
	cmp	$10, %eax
	jne	.Lbad
	call	copy0
	mov	$60, %eax		/* SYS_exit */
	mov	$0, %edi
	syscall
.Lbad:
	mov	$60, %eax
	mov	$1, %edi
	syscall
	.size	_start, .-_start

	.globl	copy100
	.type	copy100, @function
copy100:
	lea	src(%rip), %rsi
	lea	buf(%rip), %rdi
	mov	$100, %ecx
	rep movsb
	ret
	.size	copy100, .-copy100

	.globl	fill16
	.type	fill16, @function
fill16:
	lea	qbuf(%rip), %rdi
	movabs	$0x0101010101010101, %rax
	mov	$16, %ecx
	rep stosq
	ret
	.size	fill16, .-fill16

	.globl	cmpstop
	.type	cmpstop, @function
cmpstop:
	lea	s1(%rip), %rsi
	lea	s2(%rip), %rdi
	mov	$16, %ecx
	repe cmpsb
	mov	%ecx, %eax
	ret
	.size	cmpstop, .-cmpstop

	.globl	copy0
	.type	copy0, @function
copy0:
	lea	src(%rip), %rsi
	lea	buf(%rip), %rdi
	xor	%ecx, %ecx
	rep movsb
	ret
	.size	copy0, .-copy0

	.data			/* a non-empty .data: see note above */
src:	.fill	100, 1, 0x5a
	/* index:  0123456789abcdef */
s1:	.ascii	"prof-Xstringtest"
s2:	.ascii	"prof-Ystringtest"

	.bss
	.align	16
buf:	.skip	128
qbuf:	.skip	128
