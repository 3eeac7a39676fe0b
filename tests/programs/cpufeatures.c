/* Prints what the CPU says it is, as the program sees it: libgcc's
 * __builtin_cpu_supports (read once, at start-up) and the raw CPUID and
 * XGETBV bits, asked again in the main thread, a second thread, a forked
 * child and the program exec'd anew. record --cpu must answer all of them
 * from its model (tests/integration/test_cpu_model.py).
 *
 *   cpufeatures          main, thread, child, then exec'd: exec
 *   cpufeatures libc     also calls memcpy, strlen and strchr (glibc picks
 *                        their variants by CPUID: the report names them)
 *   cpufeatures addr     prints where its stack, heap and code are instead
 *   cpufeatures badxcr   runs xgetbv with an ECX no CPU knows: the CPU
 *                        faults (SIGSEGV), and so must prof's answer */
#include <cpuid.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void raw_bits(const char *who)
{
	unsigned max, a, b, c, d, ecx1, ebx7 = 0;
	char vendor[13];
	__cpuid(0, max, b, c, d);
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = '\0';
	__cpuid(1, a, b, ecx1, d);
	if (max >= 7)
		__cpuid_count(7, 0, a, ebx7, c, d);
	char xcr0[24] = "-";
	if (ecx1 & bit_OSXSAVE) { /* xgetbv may run */
		unsigned lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		snprintf(xcr0, sizeof xcr0, "%#x", lo);
	}
	printf("%s: vendor=%s cpuid.sse4.2=%d cpuid.avx=%d cpuid.osxsave=%d cpuid.avx2=%d "
	       "cpuid.bmi2=%d cpuid.avx512f=%d xcr0=%s\n", who, vendor, !!(ecx1 & bit_SSE4_2),
	       !!(ecx1 & bit_AVX), !!(ecx1 & bit_OSXSAVE), !!(ebx7 & bit_AVX2), !!(ebx7 & bit_BMI2),
	       !!(ebx7 & bit_AVX512F), xcr0);
	fflush(stdout);
}

static void *thread_main(void *arg)
{
	raw_bits("thread");
	return arg;
}

/* Through pointers the compiler cannot see through: the calls reach glibc. */
static void *(*volatile copy)(void *, const void *, size_t) = memcpy;
static size_t (*volatile length)(const char *) = strlen;
static char *(*volatile find)(const char *, int) = strchr;

static void use_libc(void)
{
	static char a[4096], b[4096];
	memset(a, 'x', sizeof a - 1);
	size_t total = 0;
	for (int i = 0; i < 20; i++) {
		copy(b, a, sizeof a);
		total += length(b) + (size_t)(find(b, 'y') != NULL);
	}
	printf("libc: %zu\n", total);
}

static sigjmp_buf fault_jump;

static void on_fault(int sig)
{
	siglongjmp(fault_jump, sig);
}

static void bad_xcr(void)
{
	signal(SIGSEGV, on_fault);
	unsigned lo, hi;
	if (sigsetjmp(fault_jump, 1) == 0) {
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(7));
		printf("xgetbv 7: no fault\n");
	} else {
		printf("xgetbv 7: faulted\n");
	}
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	if (strcmp(what, "addr") == 0) {
		int local;
		void *heap = malloc(16);
		printf("stack=%p heap=%p code=%p\n", (void *)&local, heap, (void *)main);
		free(heap);
		return 0;
	}
	if (strcmp(what, "badxcr") == 0) {
		bad_xcr();
		return 0;
	}
	if (strcmp(what, "exec") == 0) {
		raw_bits("exec");
		return 0;
	}
	__builtin_cpu_init();
	printf("builtin: sse4.2=%d avx=%d avx2=%d avx512f=%d bmi2=%d\n",
	       !!__builtin_cpu_supports("sse4.2"), !!__builtin_cpu_supports("avx"),
	       !!__builtin_cpu_supports("avx2"), !!__builtin_cpu_supports("avx512f"),
	       !!__builtin_cpu_supports("bmi2"));
	raw_bits("main");
	if (strcmp(what, "libc") == 0)
		use_libc();
	pthread_t th;
	if (pthread_create(&th, NULL, thread_main, NULL) != 0 || pthread_join(th, NULL) != 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		raw_bits("child");
		_exit(0);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
		return 1;
	execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
	return 1;
}
