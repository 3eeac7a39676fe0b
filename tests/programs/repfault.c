/* A REP string instruction that faults halfway (its destination runs into a
 * page without write access); the SIGSEGV handler grants access and the
 * instruction resumes where it stopped. Block mode runs the REP out of line:
 * the fault must reach the program at the REP's own address, and the
 * iterations before and after it must count exactly as single-stepping
 * counts them. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *area;
static long page;
static volatile int faults;
static void *volatile fault_pc;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	faults++;
	fault_pc = (void *)uc->uc_mcontext.gregs[REG_RIP];
	mprotect(area + page, page, PROT_READ | PROT_WRITE);
}

int main(void)
{
	page = sysconf(_SC_PAGESIZE);
	area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || mprotect(area + page, page, PROT_NONE) != 0)
		return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	void *dst = area + 100;
	size_t n = 2 * (size_t)page - 200;
	void *rep_pc;
	__asm__ volatile("lea 0f(%%rip), %2\n0: rep stosb"
			 : "+D"(dst), "+c"(n), "=&r"(rep_pc)
			 : "a"(0x5a)
			 : "memory");
	printf("faults=%d at_rep=%d left=%zu last=%x\n", faults, fault_pc == rep_pc, n,
	       (unsigned char)area[2 * page - 101]);
	return 0;
}
