#include "affinity.h"
#include "prof/log.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>

void affinity_pin(struct affinity *a)
{
	memset(a, 0, sizeof *a);
	int cpu = sched_getcpu();
	if (cpu < 0 || sched_getaffinity(0, sizeof a->own, &a->own) != 0)
		return;
	CPU_SET(cpu, &a->pin);
	if (sched_setaffinity(0, sizeof a->pin, &a->pin) != 0) {
		log_debug("cannot pin to cpu %d: %s", cpu, strerror(errno));
		return;
	}
	a->pinned = true;
}

void affinity_unpin_helper(const struct affinity *a, pthread_t thread)
{
	if (!a->pinned)
		return;
	cpu_set_t others = a->own;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &a->pin))
			CPU_CLR(cpu, &others);
	const cpu_set_t *mask = CPU_COUNT(&others) ? &others : &a->own;
	int rc = pthread_setaffinity_np(thread, sizeof *mask, mask);
	if (rc != 0)
		log_debug("a helper thread stays on the pinned cpu: %s", strerror(rc));
}

/* The call is about the thread itself (0, its tid, or its process). */
static bool about_itself(uint64_t target, pid_t tid, pid_t pid)
{
	return target == 0 || (pid_t)target == tid || (pid_t)target == pid;
}

/* sched_getaffinity returned len bytes of mask at addr: prof's pin becomes
 * the program's own mask. */
static bool hide_pin(const struct affinity *a, pid_t tid, uint64_t addr, size_t len)
{
	uint8_t seen[sizeof(cpu_set_t)];
	if (len > sizeof seen)
		len = sizeof seen;
	struct iovec local = { seen, len }, remote = { (void *)addr, len };
	if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != (ssize_t)len ||
	    memcmp(seen, &a->pin, len) != 0)
		return true;
	local.iov_base = (void *)&a->own;
	return process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

bool affinity_watches_reads(const struct affinity *a)
{
	return a && a->pinned;
}

static long read_fd(long nr, const uint64_t args[6]);
static void repin_after_status(const struct affinity *a, pid_t tid, pid_t pid, long fd);

bool affinity_after_syscall(const struct affinity *a, pid_t tid, pid_t pid, bool *own_mask,
			    long nr, const uint64_t args[6], int64_t ret)
{
	if (!a || !a->pinned || *own_mask)
		return true;
	if (read_fd(nr, args) >= 0)
		repin_after_status(a, tid, pid, read_fd(nr, args));
	else if (!about_itself(args[0], tid, pid))
		return true;
	else if (nr == SYS_sched_setaffinity && ret == 0)
		*own_mask = true;
	else if (nr == SYS_sched_getaffinity && ret > 0)
		return hide_pin(a, tid, args[2], (size_t)ret);
	return true;
}

/* The file descriptor a read-like call reads from, or -1. */
static long read_fd(long nr, const uint64_t args[6])
{
	switch (nr) {
	case SYS_read: case SYS_pread64: case SYS_readv: case SYS_preadv: case SYS_preadv2:
	case SYS_splice: case SYS_copy_file_range:
		return (long)args[0];
	case SYS_sendfile:
		return (long)args[1];
	default:
		return -1;
	}
}

/* The task whose status file fd is (/proc/PID/status, /proc/PID/task/TID/status,
 * as /proc/self and /proc/thread-self resolve), if it is of process pid or
 * the thread tid itself; 0 otherwise. */
static pid_t status_task(pid_t tid, pid_t pid, long fd)
{
	char link[64], path[128];
	snprintf(link, sizeof link, "/proc/%d/fd/%ld", (int)pid, fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	int a, b, end = 0;
	if (sscanf(path, "/proc/%d/task/%d/status%n", &a, &b, &end) == 2 && !path[end] && a == pid)
		return b;
	end = 0;
	if (sscanf(path, "/proc/%d/status%n", &a, &end) == 1 && !path[end] && (a == pid || a == tid))
		return a;
	return 0;
}

static bool mask_is(pid_t task, const cpu_set_t *want)
{
	cpu_set_t now;
	return sched_getaffinity(task, sizeof now, &now) == 0 && CPU_EQUAL(&now, want);
}

bool affinity_before_syscall(const struct affinity *a, pid_t tid, pid_t pid, bool own_mask,
			     long nr, const uint64_t args[6])
{
	long fd = read_fd(nr, args);
	if (!a || !a->pinned || own_mask || fd < 0)
		return true;
	pid_t task = status_task(tid, pid, fd);
	return !task || !mask_is(task, &a->pin) ||
	       sched_setaffinity(task, sizeof a->own, &a->own) == 0;
}

/* The read of a status file is over: back on prof's CPU. */
static void repin_after_status(const struct affinity *a, pid_t tid, pid_t pid, long fd)
{
	pid_t task = status_task(tid, pid, fd);
	if (task && mask_is(task, &a->own) && sched_setaffinity(task, sizeof a->pin, &a->pin) != 0)
		log_debug("cannot pin %d again: %s", task, strerror(errno));
}
