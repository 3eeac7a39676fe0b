/*
 * unmapself.c - code that unmaps the page it runs from
 * (tests/integration/test_codechange.py).
 *
 * A page of anonymous RWX memory holds
 *
 *   +0   mov rdi, PAGE         (10 bytes)
 *   +10  mov esi, 4096
 *   +15  mov eax, SYS_munmap
 *   +20  syscall               4 instructions run
 *   +22  mov eax, 42; ret      never: the page is gone
 *
 * Natively the instruction after the syscall faults (SIGSEGV at +22) and
 * the handler jumps back to main, which prints "fault at +22" and the
 * page's address; under prof the same, in every mode (a translation of
 * the page must not run on after the munmap), and 4 instructions counted
 * in the page.
 */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static sigjmp_buf back;
static volatile uintptr_t fault_at;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	fault_at = (uintptr_t)si->si_addr;
	siglongjmp(back, 1);
}

int main(void)
{
	uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	uint8_t code[] = { 0x48, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0, /* mov rdi, p */
			   0xbe, 0, 0x10, 0, 0,                 /* mov esi, 4096 */
			   0xb8, SYS_munmap, 0, 0, 0,           /* mov eax, SYS_munmap */
			   0x0f, 0x05,                          /* syscall */
			   0xb8, 42, 0, 0, 0, 0xc3 };           /* mov eax, 42; ret */
	memcpy(code + 2, &p, 8);
	memcpy(p, code, sizeof code);
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	if (sigaction(SIGSEGV, &sa, NULL) != 0)
		return 2;
	if (sigsetjmp(back, 1) == 0) {
		int r = ((int (*)(void))p)();
		printf("returned %d\n", r);
		return 1;
	}
	printf("fault at +%ld %lx\n", (long)(fault_at - (uintptr_t)p), (unsigned long)p);
	return 0;
}
