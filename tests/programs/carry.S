/*
 * carry.S - oracle program: instructions that read the carry flag at the
 * start of a block (adc, sbb, rcl, rcr, cmc right after a jump), where the
 * code cache places its counter update. The update must not change a flag
 * the next instruction reads: the exit status is 0 only when every result
 * equals the one computed by hand (tests/programs/carry.S's table below,
 * checked with a few lines of Python simulating the loop).
 *
 * _start
 *   prologue: xor, mov, mov, mov                       4
 *   .Lloop (ecx = 100 .. 1), per iteration:
 *     mov, cmp, ja | sbb, sub, cmp, jmp | adc, imul,
 *     bt, jmp | rcl, jmp | cmc, jmp | rcr, dec, jnz    18 x 100 = 1800
 *   epilogue: xor x3, or x2, neg, sbb, neg,
 *             mov, syscall                             10
 *   _start total                                       1814
 *
 * Results: ebx = 0x4e (how many ecx < 50 plus how many < 30),
 *          esi = 0x26d936c9, edi = 0x24db26d9.
 * TOTAL = 1814, exit status 0 (1 when a flag was lost).
 */
	.text
	.globl	_start
	.type	_start, @function
_start:
	xor	%ebx, %ebx
	mov	$0x12345678, %esi
	mov	$0x9abcdef0, %edi
	mov	$100, %ecx
.Lloop:
	mov	%ecx, %eax
	cmp	$50, %eax		/* CF = eax < 50 */
	ja	.La
.La:	sbb	%edx, %edx		/* -CF */
	sub	%edx, %ebx
	cmp	$30, %eax		/* CF = eax < 30 */
	jmp	.Lb
.Lb:	adc	$0, %ebx
	imul	$0x9E3779B1, %ecx, %eax
	bt	$7, %eax		/* CF = bit 7 */
	jmp	.Lc
.Lc:	rcl	$1, %esi
	jmp	.Lcm
.Lcm:	cmc
	jmp	.Ld
.Ld:	rcr	$1, %edi
	dec	%ecx
	jnz	.Lloop
	xor	$0x4e, %ebx
	xor	$0x26d936c9, %esi
	xor	$0x24db26d9, %edi
	or	%esi, %ebx
	or	%edi, %ebx
	neg	%ebx			/* CF = a result differs */
	sbb	%edi, %edi		/* (not after a jump: this check must not need the fix) */
	neg	%edi			/* exit status 1 or 0 */
	mov	$60, %eax		/* SYS_exit */
	syscall
	.size	_start, .-_start

	.data			/* a non-empty .data: see loop.S */
	.align	4
seed:	.long	1
