/* The differential fuzzer's harness: runs generated code cases from a batch
 * file (abi.h) and writes each one's final state and memory to a dump file.
 *
 *   difffuzz_run BATCH DUMP
 *
 * Freestanding (no libc, static, not PIE): the program prof records is
 * this file's few hundred instructions plus the generated code, so even
 * step mode runs a batch in a second. Memory goes where the case says
 * (MAP_FIXED_NOREPLACE: an address already taken, by prof or anyone, is an
 * error, never silently replaced) and is filled by read(2) straight from
 * the batch file, the dump written by write(2) straight from it: no copy
 * loop adds instructions of its own. A case that crashes kills the
 * process; the dumps written before it stay, so the driver knows which.
 *
 * With a timer period in the batch, SIGALRM interrupts the code wherever
 * it is (on an alternate stack, so that the program's stack stays as it
 * would be): prof must deliver it at the program's own address and count
 * every instruction once however often it is interrupted. */
#include "abi.h"

typedef unsigned long u64;
typedef long i64;

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_rt_sigaction 13
#define SYS_sigaltstack 131
#define SYS_setitimer 38
#define SYS_exit_group 231
#define SIGALRM 14
#define SA_ONSTACK 0x08000000
#define SA_RESTART 0x10000000
#define SA_RESTORER 0x04000000
#define ITIMER_REAL 0
#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT 0100
#define O_TRUNC 01000
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 0x02
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MAX_MAPPINGS 256

extern unsigned char fz_in[STATE_SIZE], fz_out[STATE_SIZE];
extern u64 fz_vec_mode;
void fz_run(void);
void fz_exit(void);
void fz_restorer(void);

static i64 sys6(i64 nr, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f)
{
	register i64 r10 __asm__("r10") = d;
	register i64 r8 __asm__("r8") = e;
	register i64 r9 __asm__("r9") = f;
	i64 ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static u64 length(const char *s)
{
	u64 n = 0;
	while (s[n])
		n++;
	return n;
}

static void die(const char *what)
{
	sys6(SYS_write, 2, (i64) "difffuzz_run: ", 14, 0, 0, 0);
	sys6(SYS_write, 2, (i64)what, (i64)length(what), 0, 0, 0);
	sys6(SYS_write, 2, (i64) "\n", 1, 0, 0, 0);
	sys6(SYS_exit_group, 2, 0, 0, 0, 0, 0);
}

static void read_all(int fd, void *buf, u64 n)
{
	char *p = buf;
	while (n) {
		i64 got = sys6(SYS_read, fd, (i64)p, (i64)n, 0, 0, 0);
		if (got <= 0)
			die("batch file ends early");
		p += got;
		n -= (u64)got;
	}
}

static void write_all(int fd, const void *buf, u64 n)
{
	const char *p = buf;
	while (n) {
		i64 put = sys6(SYS_write, fd, (i64)p, (i64)n, 0, 0, 0);
		if (put <= 0)
			die("cannot write the dump");
		p += put;
		n -= (u64)put;
	}
}

static u64 read_u64(int fd)
{
	u64 v;
	read_all(fd, &v, 8);
	return v;
}

struct mapping {
	u64 addr, size, prot;
};

struct memory {
	struct mapping v[MAX_MAPPINGS];
	int n;
};

/* Makes [addr, addr+size) writable: a mapping of an earlier case of the
 * batch at the same place is reused (its code rewritten in place, as a JIT
 * does: mprotect, write, mprotect), one of another size there is unmapped
 * first; anything else there is an error. */
static struct mapping *place(struct memory *m, u64 addr, u64 size)
{
	for (int i = 0; i < m->n; i++) {
		struct mapping *x = &m->v[i];
		if (x->addr >= addr + size || addr >= x->addr + x->size)
			continue;
		if (x->addr != addr || x->size != size) {
			if (sys6(SYS_munmap, (i64)x->addr, (i64)x->size, 0, 0, 0, 0) != 0)
				die("munmap failed");
			x->addr = x->size = 0; /* a free entry (others' places stay put) */
			continue;
		}
		if (x->prot != (PROT_READ | PROT_WRITE) &&
		    sys6(SYS_mprotect, (i64)addr, (i64)size, PROT_READ | PROT_WRITE, 0, 0, 0) != 0)
			die("mprotect failed");
		x->prot = PROT_READ | PROT_WRITE;
		return x;
	}
	int free = 0;
	while (free < m->n && m->v[free].size)
		free++;
	if (free == MAX_MAPPINGS)
		die("too many mappings");
	i64 got = sys6(SYS_mmap, (i64)addr, (i64)size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if ((u64)got != addr)
		die("a section's address is taken (or mmap failed)");
	m->v[free] = (struct mapping){ addr, size, PROT_READ | PROT_WRITE };
	if (free == m->n)
		m->n++;
	return &m->v[free];
}

#define MAX_SECTIONS 16

/* Loads one case; returns its number of sections (their places in sec). */
static int load_case(int fd, struct memory *m, struct mapping *sec[MAX_SECTIONS])
{
	u64 nsec = read_u64(fd), exit_slot = read_u64(fd);
	if (nsec > MAX_SECTIONS)
		die("too many sections");
	read_all(fd, fz_in, STATE_SIZE);
	u64 prot[MAX_SECTIONS];
	for (u64 i = 0; i < nsec; i++) {
		u64 addr = read_u64(fd), size = read_u64(fd);
		prot[i] = read_u64(fd);
		sec[i] = place(m, addr, size);
		read_all(fd, (void *)addr, size);
	}
	for (u64 i = 0; i < nsec; i++)
		if (exit_slot >= sec[i]->addr && exit_slot + 8 <= sec[i]->addr + sec[i]->size)
			*(volatile u64 *)exit_slot = (u64)fz_exit;
	for (u64 i = 0; i < nsec; i++) {
		if (prot[i] == sec[i]->prot)
			continue;
		if (sys6(SYS_mprotect, (i64)sec[i]->addr, (i64)sec[i]->size, (i64)prot[i], 0, 0, 0) != 0)
			die("mprotect failed");
		sec[i]->prot = prot[i];
	}
	return (int)nsec;
}

/* A handler that costs about the timer's period (cache mode at the
 * shortest periods, any mode on a loaded machine) leaves the program
 * barely an instruction between two signals: after this many the timer
 * stops, so a batch ends however slow the machine. Block and step mode
 * meet up to about 1,300 in a batch at the shortest periods. */
#define MAX_ALARMS 2000

static volatile u64 alarms;

static void on_alarm(int sig)
{
	static const long off[4];
	(void)sig;
	if (++alarms == MAX_ALARMS)
		sys6(SYS_setitimer, ITIMER_REAL, (i64)off, 0, 0, 0, 0);
}

static void start_timer(u64 period_us)
{
	static char altstack[65536];
	struct {
		void *sp;
		int flags;
		u64 size;
	} ss = { altstack, 0, sizeof altstack };
	struct {
		void (*handler)(int);
		u64 flags;
		void (*restorer)(void);
		u64 mask;
	} sa = { on_alarm, SA_ONSTACK | SA_RESTART | SA_RESTORER, fz_restorer, 0 };
	struct {
		long interval_s, interval_us, value_s, value_us;
	} it = { 0, (long)period_us, 0, (long)period_us };
	if (sys6(SYS_sigaltstack, (i64)&ss, 0, 0, 0, 0, 0) != 0 ||
	    sys6(SYS_rt_sigaction, SIGALRM, (i64)&sa, 0, 8, 0, 0) != 0 ||
	    sys6(SYS_setitimer, ITIMER_REAL, (i64)&it, 0, 0, 0, 0) != 0)
		die("cannot start the timer");
}

int fz_main(long argc, char **argv)
{
	if (argc != 3)
		die("usage: difffuzz_run BATCH DUMP");
	int in = (int)sys6(SYS_open, (i64)argv[1], O_RDONLY, 0, 0, 0, 0);
	int out = (int)sys6(SYS_open, (i64)argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644, 0, 0, 0);
	if (in < 0 || out < 0)
		die("cannot open the batch or the dump file");
	if (read_u64(in) != BATCH_MAGIC)
		die("not a batch file");
	u64 ncases = read_u64(in);
	fz_vec_mode = read_u64(in);
	u64 period = read_u64(in);
	if (period)
		start_timer(period);
	static struct memory mem;
	for (u64 c = 0; c < ncases; c++) {
		struct mapping *sec[MAX_SECTIONS];
		int nsec = load_case(in, &mem, sec);
		fz_run();
		u64 head[2] = { DUMP_MAGIC, c };
		write_all(out, head, sizeof head);
		write_all(out, fz_out, STATE_SIZE);
		for (int i = 0; i < nsec; i++)
			write_all(out, (void *)sec[i]->addr, sec[i]->size);
	}
	return 0;
}
