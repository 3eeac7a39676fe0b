#include "affinity.h"
#include "prof/log.h"

#include <errno.h>
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

/* The call is about the thread itself (0, its tid, or its process). */
static bool about_itself(uint64_t target, pid_t tid, pid_t pid)
{
	return target == 0 || (pid_t)target == tid || (pid_t)target == pid;
}

/* sched_getaffinity returned len bytes of mask at addr: prof's pin becomes
 * the program's own mask. */
static void hide_pin(const struct affinity *a, pid_t tid, uint64_t addr, size_t len)
{
	uint8_t seen[sizeof(cpu_set_t)];
	if (len > sizeof seen)
		len = sizeof seen;
	struct iovec local = { seen, len }, remote = { (void *)addr, len };
	if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != (ssize_t)len ||
	    memcmp(seen, &a->pin, len) != 0)
		return;
	local.iov_base = (void *)&a->own;
	if (process_vm_writev(tid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		log_debug("cannot rewrite the affinity mask of %d: %s", tid, strerror(errno));
}

void affinity_after_syscall(const struct affinity *a, pid_t tid, pid_t pid, bool *own_mask,
			    long nr, const uint64_t args[6], int64_t ret)
{
	if (!a || !a->pinned || !about_itself(args[0], tid, pid))
		return;
	if (nr == SYS_sched_setaffinity && ret == 0)
		*own_mask = true;
	else if (nr == SYS_sched_getaffinity && ret > 0 && !*own_mask)
		hide_pin(a, tid, args[2], (size_t)ret);
}
