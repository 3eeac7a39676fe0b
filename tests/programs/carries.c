/* carries: arithmetic whose carries and overflows cross basic blocks, the
 * way compilers and bignum libraries (GMP, OpenSSL) write it: adc/sbb
 * chains from 128-bit integers, and adc, sbb, rcl, rcr, cmc, adcx, adox
 * right after a jump, where the code cache puts its counter update. Prints
 * its results: the same text natively and under prof in every mode. */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>

typedef unsigned __int128 u128;

/* A 128-bit Fibonacci modulo 2^128 and a 128-bit multiply-add: adc/sbb chains. */
static u128 wide_mix(unsigned rounds)
{
	u128 a = 1, b = 1, acc = 0;
	for (unsigned i = 0; i < rounds; i++) {
		u128 c = a + b;
		a = b;
		b = c;
		acc = acc * 0x100000001b3ull + (c - (acc >> 3));
	}
	return acc ^ b;
}

/* Each flag-reading instruction sits right after a jump: it starts a block. */
static uint64_t after_jumps(uint64_t x, unsigned rounds)
{
	uint64_t r = 0x243f6a8885a308d3ull, s = 0x13198a2e03707344ull;
	for (unsigned i = 0; i < rounds; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile(
			"bt $17, %[x]\n\t"
			"jmp 1f\n"
			"1: adc %[x], %[r]\n\t"
			"cmp %[s], %[r]\n\t"
			"ja 2f\n"
			"2: sbb $7, %[s]\n\t"
			"bt $3, %[x]\n\t"
			"jmp 3f\n"
			"3: rcl $1, %[r]\n\t"
			"jmp 4f\n"
			"4: rcr $5, %[s]\n\t"
			"jmp 5f\n"
			"5: cmc\n\t"
			"adc $0, %[r]\n\t"
			: [r] "+r"(r), [s] "+r"(s)
			: [x] "r"(x)
			: "cc");
	}
	return r ^ s;
}

/* adcx and adox: two carry chains at once (ADX, where the CPU has it). */
static uint64_t two_chains(uint64_t x, unsigned rounds)
{
	uint64_t r = 1, s = 2;
	for (unsigned i = 0; i < rounds; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		__asm__ volatile(
			"xor %%eax, %%eax\n\t" /* CF = OF = 0 */
			"bt $5, %[x]\n\t"
			"jmp 1f\n"
			"1: adcx %[x], %[r]\n\t"
			"jmp 2f\n"
			"2: adox %[x], %[s]\n\t"
			"jmp 3f\n"
			"3: adcx %[s], %[r]\n\t"
			"adox %[r], %[s]\n\t"
			: [r] "+r"(r), [s] "+r"(s)
			: [x] "r"(x)
			: "cc", "rax");
	}
	return r + 3 * s;
}

int main(void)
{
	u128 w = wide_mix(1000);
	printf("wide %016llx%016llx\n", (unsigned long long)(w >> 64), (unsigned long long)w);
	printf("jumps %016llx\n", (unsigned long long)after_jumps(12345, 1000));
	unsigned a, b, c, d;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_ADX))
		printf("adx %016llx\n", (unsigned long long)two_chains(0x9e3779b97f4a7c15ull, 1000));
	else
		printf("adx absent\n");
	return 0;
}
