/* Runs a small loop from code at an address around which every page within
 * a gigabyte is taken (a PROT_NONE reservation, as a JIT's code range may
 * be): the code cache can place no region within rel32 reach of it. The
 * loop's three blocks (entry, loop, exit) run in block mode, exactly; prof
 * says so once. With the argument "gap", the reservation ends 704 MiB above
 * the code, leaving a gap within reach that is none of the places prof
 * tries first: prof must find it. 1000 iterations: 1 + 2 * 1000 + 2 instructions
 * in the code. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define CODE_AT 0x300000000000ull
#define AROUND ((1ull << 30) + (64ull << 20))
#define GAP_ABOVE (704ull << 20)

int main(int argc, char **argv)
{
	uint64_t above = argc > 1 && !strcmp(argv[1], "gap") ? GAP_ABOVE : AROUND;
	void *around = mmap((void *)(CODE_AT - AROUND), AROUND + above, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (around != (void *)(CODE_AT - AROUND))
		return 2;
	uint8_t *code = mmap((void *)CODE_AT, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (code != (uint8_t *)CODE_AT)
		return 2;
	/* mov ecx, 1000; L: dec ecx; jnz L; mov eax, ecx; ret */
	static const uint8_t loop[] = { 0xb9, 0xe8, 0x03, 0x00, 0x00, 0xff, 0xc9, 0x75, 0xfc,
					0x89, 0xc8, 0xc3 };
	memcpy(code, loop, sizeof loop);
	int (*fn)(void) = (int (*)(void))(uintptr_t)code;
	return fn();
}
