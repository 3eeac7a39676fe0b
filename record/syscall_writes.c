/* Where a syscall writes the program's memory (see syscall_writes.h). */
#include "syscall_writes.h"
#include "tracer.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

/* Bytes taken at an argument that may point at what the kernel fills (a
 * struct stat, a timespec, a sigaction: all smaller). */
#define POINTED_BYTES 512
#define USER_TOP 0x800000000000ull
#define MAX_IOV 1024 /* UIO_MAXIOV */

static size_t add(struct mem_range *out, size_t n, size_t max, uint64_t lo, uint64_t len)
{
	if (!len || lo + len < lo)
		return n;
	if (n < max) {
		out[n].lo = lo;
		out[n].hi = lo + len;
		return n + 1;
	}
	/* Out of room: the last range grows over the rest. */
	if (lo < out[max - 1].lo)
		out[max - 1].lo = lo;
	if (lo + len > out[max - 1].hi)
		out[max - 1].hi = lo + len;
	return n;
}

/* The buffers of an iovec array of the program's. */
static size_t add_iovecs(pid_t tid, uint64_t iov, uint64_t count, struct mem_range *out, size_t n,
			 size_t max)
{
	struct iovec v[64];
	if (count > MAX_IOV)
		count = MAX_IOV;
	for (uint64_t done = 0; done < count;) {
		size_t take = count - done < 64 ? (size_t)(count - done) : 64;
		if (!tracer_read_mem(tid, iov + done * sizeof v[0], v, take * sizeof v[0]))
			return n; /* the kernel will find it unreadable too: EFAULT */
		for (size_t i = 0; i < take; i++)
			n = add(out, n, max, (uint64_t)(uintptr_t)v[i].iov_base, v[i].iov_len);
		done += take;
	}
	return n;
}

/* recvmsg fills the header, the name, the data and the control data. */
static size_t add_msghdr(pid_t tid, uint64_t addr, struct mem_range *out, size_t n, size_t max)
{
	struct msghdr m;
	n = add(out, n, max, addr, sizeof m);
	if (!tracer_read_mem(tid, addr, &m, sizeof m))
		return n;
	n = add(out, n, max, (uint64_t)(uintptr_t)m.msg_name, m.msg_namelen);
	n = add(out, n, max, (uint64_t)(uintptr_t)m.msg_control, m.msg_controllen);
	return add_iovecs(tid, (uint64_t)(uintptr_t)m.msg_iov, m.msg_iovlen, out, n, max);
}

/* Calls that write no memory of the program's (their pointers are read),
 * and those whose effect on memory prof follows at their exit. */
static bool writes_nothing(long nr)
{
	switch (nr) {
	case SYS_write: case SYS_pwrite64: case SYS_writev: case SYS_pwritev: case SYS_pwritev2:
	case SYS_sendto: case SYS_sendmsg: case SYS_mmap: case SYS_mprotect: case SYS_munmap:
	case SYS_mremap: case SYS_madvise: case SYS_msync: case SYS_brk: case SYS_shmat:
	case SYS_shmdt: case SYS_exit: case SYS_exit_group: case SYS_close: case SYS_lseek:
	case SYS_execve: case SYS_execveat: case SYS_kill: case SYS_tgkill: case SYS_sched_yield:
	case SYS_rt_sigreturn: /* its registers are what the handler left */
		return true;
	default:
		return false;
	}
}

/* A futex word is written by the PI operations (at uaddr), and WAKE_OP
 * writes the second one; waits and wakes only read. */
static size_t add_futex(const uint64_t args[6], struct mem_range *out, size_t n, size_t max)
{
	switch (args[1] & 127) { /* less FUTEX_PRIVATE_FLAG */
	case 5: /* FUTEX_WAKE_OP */
		return add(out, n, max, args[4], 4);
	case 6: case 7: case 8: case 13: /* LOCK_PI, UNLOCK_PI, TRYLOCK_PI, LOCK_PI2 */
		return add(out, n, max, args[0], 4);
	case 11: case 12: /* WAIT_REQUEUE_PI, CMP_REQUEUE_PI */
		return add(out, add(out, n, max, args[0], 4), max, args[4], 4);
	default:
		return n;
	}
}

/* How many arguments a frequent call takes: the registers past them hold
 * whatever the program left there, which may look like a pointer. */
static int arguments_of(long nr)
{
	switch (nr) {
	case SYS_getpid: case SYS_gettid: case SYS_getppid: case SYS_getuid: case SYS_geteuid:
	case SYS_getgid: case SYS_getegid: case SYS_sched_yield:
		return 0;
	case SYS_uname: case SYS_time: case SYS_pipe: case SYS_set_tid_address:
		return 1;
	case SYS_clock_gettime: case SYS_clock_getres: case SYS_gettimeofday: case SYS_nanosleep:
	case SYS_getrusage: case SYS_sigaltstack: case SYS_pipe2: case SYS_fstat: case SYS_stat:
	case SYS_lstat: case SYS_getrlimit: case SYS_set_robust_list:
		return 2;
	case SYS_fcntl: case SYS_ioctl: case SYS_sched_getaffinity: case SYS_poll:
		return 3;
	case SYS_rt_sigaction: case SYS_rt_sigprocmask: case SYS_clock_nanosleep: case SYS_wait4:
	case SYS_newfstatat: case SYS_prlimit64:
		return 4;
	default:
		return 6;
	}
}

static bool maybe_pointer(uint64_t v)
{
	return v >= 4096 && v < USER_TOP;
}

size_t syscall_writes(pid_t tid, long nr, const uint64_t args[6], struct mem_range *out,
		      size_t max)
{
	size_t n = 0;
	if (!max || writes_nothing(nr))
		return 0;
	switch (nr) {
	case SYS_read: case SYS_pread64: case SYS_getdents64: case SYS_getdents:
	case SYS_readlink:
		return add(out, n, max, args[1], args[2]);
	case SYS_recvfrom: /* the data, the sender's address and its length */
		n = add(out, n, max, args[1], args[2]);
		n = maybe_pointer(args[4]) ? add(out, n, max, args[4], 128) : n;
		return maybe_pointer(args[5]) ? add(out, n, max, args[5], 4) : n;
	case SYS_readlinkat:
		return add(out, n, max, args[2], args[3]);
	case SYS_getrandom: case SYS_getcwd:
		return add(out, n, max, args[0], args[1]);
	case SYS_readv: case SYS_preadv: case SYS_preadv2: case SYS_process_vm_readv:
		return add_iovecs(tid, args[1], args[2], out, n, max);
	case SYS_recvmsg:
		return add_msghdr(tid, args[1], out, n, max);
	case SYS_futex:
		return add_futex(args, out, n, max);
	default:
		break;
	}
	/* Any other call: what each argument that may be a pointer points at. */
	for (int i = 0; i < arguments_of(nr); i++)
		if (maybe_pointer(args[i]))
			n = add(out, n, max, args[i], POINTED_BYTES);
	return n;
}
