/*
 * codechange.c - JIT code that changes between calls, for the code cache's
 * invalidation (tests/integration/test_codechange.py).
 *
 * Two pages of code at BASE (0x20000000 when free; printed in hex):
 *
 *   BASE + 0:      caller: call f; ret                              2
 *   BASE + 4088:   f:      add eax, 1; 5 x nop                      6
 *   BASE + 4096:           mov ecx, N; 1: dec ecx; jnz 1b; ret      2N + 2
 *
 * f's first block straddles the two pages; it starts by writing every
 * status flag, so caller's translation depends on page A alone and its
 * exit into f must be unlinked when B changes. Only the second page (B) is
 * ever rewritten, N taking the values 100, 300, 50 in three rounds; each
 * round calls caller (through a function pointer) CALLS = 3 times. So:
 *   page A, every round, never changed:  3 * (2 + 6) = 24
 *   page B, round r:                     3 * (2 N_r + 2) = 606, 1806, 306
 * How B changes, by the first argument:
 *   munmap      B unmapped, mapped again at the same address, written, RX
 *   mprotect    B made RW, written, RX again (W^X flips)
 *   threads     as mprotect, while three threads run work(100) 50 times
 *               each (10,100 instructions per thread, work.S) and then
 *               wait, alive, until main is done; round 2 uses munmap
 *   jitthread   as mprotect, but a second thread makes the calls: main
 *               rewrites B between its rounds (pipes keep them in turn)
 *   fork        as mprotect, but after round 0 a forked child runs round
 *               1 (rewriting its copy) and exits before the parent goes
 *               on: page B counts 1806 more, page A 24 more, in the child
 *   madvise     both pages RWX, B dropped with madvise(MADV_DONTNEED)
 *               (it reads back as zeros), then written again
 *   flipunder   B holds instead: read(fd, buf, 1); mov ecx, N; 1: dec
 *               ecx; jnz 1b; ret (2N + 5, N = 100), called FLIPS = 100
 *               times by a second thread, with the pipe fd and a buffer
 *               (not through caller). Each time the thread is in that read,
 *               main makes B executable again (mprotect, the same bytes and
 *               rights) and only then writes the byte it waits for: every
 *               mprotect kills the translation the thread is in a syscall
 *               from, which it returns into (page B counts 205 FLIPS)
 *   inplace     both pages RWX, B rewritten in place between rounds with
 *               plain stores: no syscall, nothing said to prof
 *   inplacethreads  as inplace, while three threads each call g, in B
 *               too, G_CALLS = 200 times: g at BASE + 4096 + 2048 is
 *               mov ecx, 100; 1: dec ecx; jnz 1b; ret (202 each call), never
 *               rewritten, but its page is (3 * 200 * 202 = 121,200)
 *   alias       the two pages mapped twice from a memfd, executable at
 *               BASE and writable elsewhere (as V8 can); B rewritten with
 *               plain stores through the writable view, nothing said
 *   ownfault    as inplace, but before round 1 main makes B read-only
 *               itself and writes it: its own SIGSEGV handler must see
 *               that fault (prints "own fault"), then B is RWX again
 *   kernelwrite as inplace, but the kernel writes B for the program: round
 *               1 by read(2) from a pipe, round 2 by readv(2) in two
 *               pieces; after the last round the clock_gettime syscall
 *               (not the vDSO's) fills a timespec at B + 2048. Natively the
 *               calls succeed, so they must under prof too (one change of B
 *               more for prof: the page is written)
 *   discard     the two pages mapped twice from a memfd, executable at
 *               BASE and writable elsewhere (as V8 can); B rewritten in
 *               place through the writable view (its first 16 bytes,
 *               int3s prof may have put there included), then
 *               VALGRIND_DISCARD_TRANSLATIONS of the bytes written
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* memfd_create */
#endif
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#define PAGE 4096
#define CALLS 3
#define ROUNDS 3
#define WORKERS 3
#define FLIPS 100

void work(long n);

static const uint32_t loops[ROUNDS] = { 100, 300, 50 };
static uint8_t *base;
static int go[2], done[2], release[2];

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* Page A: caller, and f's first block up to the end of the page. */
static void write_a(uint8_t *a)
{
	uint8_t *f = a + PAGE - 8;
	int32_t rel = (int32_t)(f - (a + 5));
	a[0] = 0xe8; /* call f */
	memcpy(a + 1, &rel, 4);
	a[5] = 0xc3;
	static const uint8_t head[] = { 0x83, 0xc0, 1, 0x90, 0x90, 0x90, 0x90, 0x90 };
	memcpy(f, head, sizeof head);
}

/* Page B: the loop, N times. */
static void write_b(uint8_t *b, uint32_t n)
{
	uint8_t body[] = { 0xb9, 0, 0, 0, 0, 0xff, 0xc9, 0x75, 0xfc, 0xc3 };
	memcpy(body + 1, &n, 4);
	memcpy(b, body, sizeof body);
}

static void protect(void *p, size_t n, int prot)
{
	if (mprotect(p, n, prot) != 0)
		die("mprotect");
}

static void call_rounds_of(void)
{
	void (*volatile caller)(void) = (void (*)(void))base;
	for (int i = 0; i < CALLS; i++)
		caller();
}

/* Round r's code in B, by munmap or by W^X flips. */
static void rewrite(int r, int by_munmap)
{
	uint8_t *b = base + PAGE;
	if (by_munmap) {
		if (munmap(b, PAGE) != 0 ||
		    mmap(b, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != b)
			die("munmap/mmap");
	} else {
		protect(b, PAGE, PROT_READ | PROT_WRITE);
	}
	write_b(b, loops[r]);
	protect(b, PAGE, PROT_READ | PROT_EXEC);
}

static void *worker(void *arg)
{
	char c;
	(void)arg;
	for (int i = 0; i < 50; i++)
		work(100);
	/* Alive until main is done: the process has threads all along. */
	return read(release[0], &c, 1) == 1 ? NULL : (void *)1;
}

static void *jit_caller(void *arg)
{
	char c;
	(void)arg;
	for (int r = 0; r < ROUNDS; r++) {
		if (read(go[0], &c, 1) != 1)
			return (void *)1;
		call_rounds_of();
		if (write(done[1], "d", 1) != 1)
			return (void *)1;
	}
	return NULL;
}

/* A child changes its copy of the code, runs it and exits. */
static int in_child(void)
{
	int status;
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		rewrite(1, 0);
		call_rounds_of();
		_exit(0);
	}
	return waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

static void map_code(int prot)
{
	base = mmap((void *)0x20000000, 2 * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (base == MAP_FAILED)
		base = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		die("mmap");
	write_a(base);
	write_b(base + PAGE, loops[0]);
	protect(base, 2 * PAGE, prot);
}

/* The code executable at base and writable at the address returned. */
static uint8_t *map_twice(void)
{
	int fd = memfd_create("codechange", 0);
	if (fd < 0 || ftruncate(fd, 2 * PAGE) != 0)
		die("memfd");
	uint8_t *rw = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw == MAP_FAILED)
		die("mmap");
	write_a(rw);
	write_b(rw + PAGE, loops[0]);
	base = mmap((void *)0x20000000, 2 * PAGE, PROT_READ | PROT_EXEC,
		    MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (base == MAP_FAILED)
		base = mmap(NULL, 2 * PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		die("mmap");
	return rw;
}

static sigjmp_buf fault_jump;
static volatile sig_atomic_t own_faults;

static void on_own_fault(int sig)
{
	(void)sig;
	own_faults++;
	siglongjmp(fault_jump, 1);
}

/* B read-only by the program itself, then written: the fault is its own. */
static void fault_on_own_protection(void)
{
	struct sigaction sa = { .sa_handler = on_own_fault };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) != 0)
		die("sigaction");
	protect(base + PAGE, PAGE, PROT_READ | PROT_EXEC);
	if (sigsetjmp(fault_jump, 1) == 0)
		*(volatile uint8_t *)(base + PAGE + 100) = 0x90;
	protect(base + PAGE, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
	signal(SIGSEGV, SIG_DFL);
	if (own_faults == 1)
		fprintf(stderr, "own fault\n");
}

#define G_OFFSET 2048
#define G_CALLS 200

static pthread_barrier_t start_g;

static void *g_caller(void *arg)
{
	void (*volatile g)(void) = (void (*)(void))(base + PAGE + G_OFFSET);
	(void)arg;
	pthread_barrier_wait(&start_g);
	for (int i = 0; i < G_CALLS; i++)
		g();
	return NULL;
}

/* Round r's code in B, written by the kernel (kernelwrite). */
static void kernel_writes_b(int r)
{
	uint8_t body[16] = { 0 }, *b = base + PAGE;
	int fds[2];
	write_b(body, loops[r]);
	if (pipe(fds) != 0 || write(fds[1], body, 10) != 10)
		die("pipe");
	if (r == 1) {
		if (read(fds[0], b, 10) != 10)
			die("read into the code's page");
	} else {
		struct iovec v[2] = { { b, 4 }, { b + 4, 6 } };
		if (readv(fds[0], v, 2) != 10)
			die("readv into the code's page");
	}
	close(fds[0]);
	close(fds[1]);
}

static int discard(const char *how)
{
	int by_madvise = strcmp(how, "madvise") == 0, threads = strcmp(how, "inplacethreads") == 0;
	int by_store = threads || strcmp(how, "inplace") == 0, rc = 0;
	int by_alias = strcmp(how, "alias") == 0, own = strcmp(how, "ownfault") == 0;
	int by_kernel = strcmp(how, "kernelwrite") == 0;
	by_store |= own || by_kernel;
	pthread_t t[WORKERS];
	uint8_t *rw = base;
	if (by_madvise || by_store)
		map_code(PROT_READ | PROT_WRITE | PROT_EXEC);
	else
		rw = map_twice();
	if (threads) {
		write_b(base + PAGE + G_OFFSET, 100);
		pthread_barrier_init(&start_g, NULL, WORKERS + 1);
		for (int i = 0; i < WORKERS; i++)
			if (pthread_create(&t[i], NULL, g_caller, NULL) != 0)
				die("pthread_create");
		pthread_barrier_wait(&start_g);
	}
	for (int r = 0; r < ROUNDS; r++) {
		if (r == 1 && own)
			fault_on_own_protection();
		if (r && by_kernel) {
			kernel_writes_b(r);
		} else if (r && (by_store || by_alias)) {
			write_b((by_alias ? rw : base) + PAGE, loops[r]);
		} else if (r && by_madvise) {
			if (madvise(base + PAGE, PAGE, MADV_DONTNEED) != 0)
				die("madvise");
			write_b(base + PAGE, loops[r]);
		} else if (r) {
			uint8_t page[PAGE];
			memcpy(page, base + PAGE, PAGE); /* int3s of prof's included, if any */
			write_b(page, loops[r]);
			memcpy(rw + PAGE, page, 16);
			VALGRIND_DISCARD_TRANSLATIONS(base + PAGE, 16);
		}
		call_rounds_of();
	}
	if (by_kernel && syscall(SYS_clock_gettime, CLOCK_MONOTONIC, base + PAGE + 2048) != 0)
		die("clock_gettime into the code's page");
	for (int i = 0; threads && i < WORKERS; i++)
		rc |= pthread_join(t[i], NULL) != 0;
	return rc;
}

static atomic_int entered, reader_tid;

static void *flip_caller(void *arg)
{
	long (*volatile b)(long fd, char *buf) = (long (*)(long, char *))(base + PAGE);
	char c;
	(void)arg;
	atomic_store(&reader_tid, (int)gettid());
	for (int i = 0; i < FLIPS; i++) {
		atomic_store(&entered, i + 1);
		if (b(go[0], &c) != 1)
			return (void *)1;
	}
	return NULL;
}

/* Whether thread tid is in a read (stopped at it by a tracer, or blocked). */
static int in_read(int tid)
{
	char path[64], text[32] = "";
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		die(path);
	int got = fgets(text, sizeof text, f) != NULL;
	fclose(f);
	return got && strncmp(text, "0 ", 2) == 0;
}

/* Main changes B's rights (to what they were) while the thread is in a
 * syscall made from B; B: read(fd, buf, 1), then N turns of a loop. */
static int flip_under(void)
{
	static const uint8_t head[] = { 0xba, 1, 0, 0, 0, 0x31, 0xc0, 0x0f, 0x05 };
	pthread_t t;
	if (pipe(go) != 0)
		die("pipe");
	map_code(PROT_READ | PROT_WRITE);
	memcpy(base + PAGE, head, sizeof head); /* mov edx, 1; xor eax, eax; syscall */
	write_b(base + PAGE + sizeof head, loops[0]);
	protect(base, 2 * PAGE, PROT_READ | PROT_EXEC);
	if (pthread_create(&t, NULL, flip_caller, NULL) != 0)
		die("pthread_create");
	for (int i = 0; i < FLIPS; i++) {
		/* in this round's read, not still in the last one's */
		while (atomic_load(&entered) != i + 1 || !in_read(atomic_load(&reader_tid)))
			sched_yield();
		protect(base + PAGE, PAGE, PROT_READ | PROT_EXEC);
		if (write(go[1], "g", 1) != 1)
			die("write");
	}
	return pthread_join(t, NULL) != 0;
}

static int in_turns(void)
{
	pthread_t t;
	char c;
	if (pipe(go) != 0 || pipe(done) != 0 || pthread_create(&t, NULL, jit_caller, NULL) != 0)
		die("setup");
	map_code(PROT_READ | PROT_EXEC);
	for (int r = 0; r < ROUNDS; r++) {
		if (r)
			rewrite(r, 0);
		if (write(go[1], "g", 1) != 1 || read(done[0], &c, 1) != 1)
			die("pipe");
	}
	return pthread_join(t, NULL) != 0;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "mprotect";
	pthread_t t[WORKERS];
	int threads = strcmp(how, "threads") == 0, rc = 0;
	int in_place = strcmp(how, "discard") == 0 || strcmp(how, "madvise") == 0 ||
		       strcmp(how, "inplace") == 0 || strcmp(how, "inplacethreads") == 0 ||
		       strcmp(how, "alias") == 0 || strcmp(how, "ownfault") == 0 ||
		       strcmp(how, "kernelwrite") == 0;
	if (in_place)
		rc = discard(how);
	else if (strcmp(how, "jitthread") == 0)
		rc = in_turns();
	else if (strcmp(how, "flipunder") == 0)
		rc = flip_under();
	else if (strcmp(how, "munmap") && strcmp(how, "mprotect") && strcmp(how, "fork") && !threads)
		die("usage: codechange munmap|mprotect|threads|fork|jitthread|flipunder|discard|madvise|inplace|inplacethreads|alias|ownfault|kernelwrite");
	if (!in_place && strcmp(how, "jitthread") && strcmp(how, "flipunder")) {
		if (threads && pipe(release) != 0)
			die("pipe");
		for (int i = 0; threads && i < WORKERS; i++)
			if (pthread_create(&t[i], NULL, worker, NULL) != 0)
				die("pthread_create");
		map_code(PROT_READ | PROT_EXEC);
		for (int r = 0; r < ROUNDS; r++) {
			if (r)
				rewrite(r, strcmp(how, "munmap") == 0 || (threads && r == 2));
			call_rounds_of();
			if (r == 0 && strcmp(how, "fork") == 0)
				rc |= in_child();
		}
		for (int i = 0; threads && i < WORKERS; i++)
			if (write(release[1], "r", 1) != 1)
				die("write");
		for (int i = 0; threads && i < WORKERS; i++)
			rc |= pthread_join(t[i], NULL) != 0;
	}
	printf("%lx\n", (unsigned long)base);
	return rc;
}
