/* RLIMIT_AS and prof's memory in the program (see aslimit.h). */
#include "aslimit.h"
#include "prof/log.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>

static bool read_limit(pid_t pid, struct rlimit *r)
{
	return prlimit(pid, RLIMIT_AS, NULL, r) == 0;
}

static rlim_t plus(rlim_t v, int64_t d)
{
	return v == RLIM_INFINITY ? v : (rlim_t)((int64_t)v + d);
}

/* Moves the limit by d bytes (both soft and hard). */
static bool shift(pid_t pid, int64_t d)
{
	struct rlimit r;
	if (!read_limit(pid, &r))
		return false;
	struct rlimit n = { plus(r.rlim_cur, d), plus(r.rlim_max, d) };
	return prlimit(pid, RLIMIT_AS, &n, NULL) == 0;
}

bool aslimit_reserve(struct as_limit *l, pid_t pid, uint64_t bytes)
{
	if (!l->checked) {
		struct rlimit r;
		l->checked = true;
		l->limited = read_limit(pid, &r) && r.rlim_cur != RLIM_INFINITY;
	}
	if (!l->limited)
		return true;
	if (l->cannot)
		return false;
	if (!shift(pid, (int64_t)bytes)) {
		l->cannot = true;
		log_warn("process %d has an address-space limit (ulimit -v) prof cannot raise by what it "
			 "maps (%s): prof maps nothing there (block mode, REP instructions single-stepped)",
			 (int)pid, strerror(errno));
		return false;
	}
	l->extra += bytes;
	return true;
}

void aslimit_release(struct as_limit *l, pid_t pid, uint64_t bytes)
{
	if (!l->limited || !bytes)
		return;
	if (bytes > l->extra)
		bytes = l->extra;
	if (shift(pid, -(int64_t)bytes))
		l->extra -= bytes;
}

static bool about_itself(uint64_t who, pid_t tid, pid_t pid)
{
	return who == 0 || (pid_t)who == tid || (pid_t)who == pid;
}

void aslimit_after_syscall(struct as_limit *l, pid_t tid, pid_t pid, long nr,
			   const uint64_t args[6], int64_t ret)
{
	uint64_t old = 0;
	bool set = false;
	if (!l->extra || ret != 0)
		return;
	if (nr == SYS_getrlimit && args[0] == RLIMIT_AS) {
		old = args[1];
	} else if (nr == SYS_setrlimit && args[0] == RLIMIT_AS) {
		set = true;
	} else if (nr == SYS_prlimit64 && args[1] == RLIMIT_AS && about_itself(args[0], tid, pid)) {
		old = args[3];
		set = args[2] != 0;
	} else {
		return;
	}
	if (set && !shift(pid, (int64_t)l->extra))
		log_debug("process %d: its new address-space limit has no room for prof's memory", (int)pid);
	if (!old)
		return;
	struct rlimit r;
	struct iovec local = { &r, sizeof r }, remote = { (void *)old, sizeof r };
	if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != sizeof r)
		return;
	r.rlim_cur = plus(r.rlim_cur, -(int64_t)l->extra);
	r.rlim_max = plus(r.rlim_max, -(int64_t)l->extra);
	if (process_vm_writev(tid, &local, 1, &remote, 1, 0) != sizeof r)
		log_debug("process %d: its address-space limit not shown as its own", (int)pid);
}
