/* sandboxed [ROUNDS]: installs a seccomp filter that kills the process on
 * any mmap (as a W^X or "no new memory" sandbox would), then starts a
 * thread on a stack of its own (no mmap needed) and computes with it.
 * Natively it runs; prof must never make the mmap that its filter punishes
 * (a new thread's data area, more code cache), nor an mprotect. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static char stack[1 << 20] __attribute__((aligned(4096)));

static unsigned long work(unsigned long seed, unsigned long rounds)
{
	unsigned long h = seed;
	for (unsigned long i = 0; i < rounds; i++)
		h = (h ^ i) * 0x100000001b3ul + (h >> 7);
	return h;
}

static void *thread_main(void *arg)
{
	unsigned long rounds = (unsigned long)arg;
	return (void *)work(2, rounds);
}

static void forbid_mmap(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof insns / sizeof insns[0], insns };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		perror("sandboxed: seccomp");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	unsigned long mine = work(1, rounds);
	printf("before %lx\n", mine);
	fflush(stdout);
	forbid_mmap();
	pthread_attr_t attr;
	pthread_t t;
	void *theirs;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, sizeof stack);
	if (pthread_create(&t, &attr, thread_main, (void *)rounds) != 0 || pthread_join(t, &theirs) != 0)
		return 3;
	printf("thread %lx main %lx\n", (unsigned long)theirs, work(3, rounds));
	return 0;
}
