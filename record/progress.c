#include "progress.h"
#include "prof/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define REFRESH_NS 250000000ull

void progress_init(struct progress *p, bool enabled, const char *unit)
{
	struct stat st;
	memset(p, 0, sizeof *p);
	p->enabled = enabled && isatty(STDERR_FILENO) && fstat(STDERR_FILENO, &st) == 0;
	p->tty = p->enabled ? st.st_rdev : 0;
	p->unit = unit;
	p->start_ns = p->last_ns = now_ns();
}

static bool fd_is_terminal(pid_t pid, long fd, dev_t tty)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/fd/%ld", (int)pid, fd);
	return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == tty;
}

bool progress_shares_terminal(pid_t pid)
{
	struct stat st;
	if (!isatty(STDERR_FILENO) || fstat(STDERR_FILENO, &st) != 0)
		return false;
	for (long fd = 0; fd <= 2; fd++)
		if (fd_is_terminal(pid, fd, st.st_rdev))
			return true;
	return false;
}

bool progress_watches_syscalls(const struct progress *p)
{
	return p && p->enabled;
}

static void erase(struct progress *p)
{
	if (!p->shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->shown = false;
}

static bool is_write(long nr)
{
	return nr == SYS_write || nr == SYS_writev || nr == SYS_pwrite64 || nr == SYS_pwritev ||
	       nr == SYS_pwritev2;
}

static bool is_read(long nr)
{
	return nr == SYS_read || nr == SYS_readv || nr == SYS_pread64 || nr == SYS_preadv ||
	       nr == SYS_preadv2;
}

bool progress_syscall_entry(struct progress *p, pid_t pid, long nr, const uint64_t args[6])
{
	if (!progress_watches_syscalls(p) || !(is_write(nr) || is_read(nr)) ||
	    !fd_is_terminal(pid, (long)args[0], p->tty))
		return false;
	erase(p);
	p->held++;
	return true;
}

/* Whether the bytes written end a line: the last one of write(fd, buf, n). */
static bool ends_line(pid_t pid, long nr, const uint64_t args[6], int64_t written)
{
	if (nr != SYS_write && nr != SYS_pwrite64)
		return true; /* vectored writes: not worth reading the iovecs */
	char last = 0;
	struct iovec local = { &last, 1 }, remote = { (void *)(args[1] + (uint64_t)written - 1), 1 };
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == 1 && last == '\n';
}

void progress_syscall_exit(struct progress *p, pid_t pid, long nr, const uint64_t args[6],
			   bool returned, int64_t ret)
{
	if (p->held > 0)
		p->held--;
	if (is_read(nr))
		p->line_open = true; /* the user typed on the line; wait for the program's output */
	else if (returned && ret > 0)
		p->line_open = !ends_line(pid, nr, args, ret);
	p->quiet_until_ns = now_ns() + REFRESH_NS; /* no flicker between two writes */
}

void progress_tick(struct progress *p, uint64_t count)
{
	if (!p || !p->enabled || ++p->ticks % 256 || p->held || p->line_open)
		return;
	uint64_t now = now_ns();
	if (now - p->last_ns < REFRESH_NS || now < p->quiet_until_ns)
		return;
	double dt = (double)(now - p->last_ns) / 1e9;
	double rate = (double)(count - p->last_count) / dt;
	char n[32];
	fprintf(stderr, "\r\033[Kprof: %s %s  %.1fk/s  %.1f s", fmt_count(count, n, sizeof n),
		p->unit, rate / 1e3, (double)(now - p->start_ns) / 1e9);
	fflush(stderr);
	p->last_ns = now;
	p->last_count = count;
	p->shown = true;
}

void progress_done(struct progress *p)
{
	if (p->enabled)
		erase(p);
}
