/* Maps files without prof's mappings (see maps_view.h). */
#include "maps_view.h"
#include "block.h"
#include "tracer.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

enum { MAPS = 1, SMAPS, NUMA_MAPS };

void maps_read_init(struct maps_read *m)
{
	memset(m, 0, sizeof *m);
	m->fd = -1;
}

void maps_snapshot_free(struct maps_snapshot *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->text);
	free(s);
}

static bool is_read(long nr)
{
	return nr == SYS_read || nr == SYS_pread64 || nr == SYS_readv || nr == SYS_preadv ||
	       nr == SYS_preadv2;
}

static int kind_of(const char *name)
{
	return !strcmp(name, "maps") ? MAPS : !strcmp(name, "smaps") ? SMAPS
		: !strcmp(name, "numa_maps") ? NUMA_MAPS : 0;
}

/* Whether descriptor fd of process pid is a maps file (and of which process). */
static bool maps_file(pid_t pid, long fd, struct maps_read *m)
{
	char link[64], name[32];
	snprintf(link, sizeof link, "/proc/%d/fd/%ld", (int)pid, fd);
	ssize_t n = readlink(link, m->path, sizeof m->path - 1);
	if (n <= 0 || n >= (ssize_t)sizeof m->path - 1)
		return false;
	m->path[n] = '\0';
	int p, task, end = 0;
	if (sscanf(m->path, "/proc/%d/task/%d/%31[a-z_]%n", &p, &task, name, &end) != 3 || m->path[end]) {
		end = 0;
		if (sscanf(m->path, "/proc/%d/%31[a-z_]%n", &p, name, &end) != 2 || m->path[end])
			return false;
	}
	m->of = p;
	return kind_of(name) != 0;
}

static struct proc *traced_proc(struct tracer *tr, pid_t pid)
{
	for (struct proc *p = tr->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

/* prof's mappings in p, sorted, touching ones joined; NULL when none. */
static struct vm_range *prof_ranges(const struct proc *p, size_t *n)
{
	size_t total = aspace_prof_mappings(p->as, NULL, 0);
	*n = 0;
	if (!total)
		return NULL;
	struct vm_range *v = xcalloc(total, sizeof *v);
	total = aspace_prof_mappings(p->as, v, total);
	for (size_t i = 1; i < total; i++) /* a few: insertion sort */
		for (size_t j = i; j > 0 && v[j].start < v[j - 1].start; j--) {
			struct vm_range x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	for (size_t i = 0; i < total; i++) {
		if (*n && v[i].start <= v[*n - 1].end) {
			if (v[i].end > v[*n - 1].end)
				v[*n - 1].end = v[i].end;
		} else {
			v[(*n)++] = v[i];
		}
	}
	return v;
}

void maps_view_syscall_entry(struct tracer *tr, struct tracee *t, long nr, const uint64_t args[6])
{
	struct maps_read *m = &t->maps_read;
	if (m->fd >= 0 || !is_read(nr) || !aspace_prof_mappings(t->proc->as, NULL, 0) ||
	    !maps_file(t->proc->pid, (long)args[0], m))
		return;
	struct proc *p = traced_proc(tr, m->of);
	if (!p || !aspace_prof_mappings(p->as, NULL, 0))
		return;
	int pidfd = (int)syscall(SYS_pidfd_open, t->proc->pid, 0);
	int fd = pidfd >= 0 ? (int)syscall(SYS_pidfd_getfd, pidfd, (int)args[0], 0) : -1;
	if (pidfd >= 0)
		close(pidfd);
	/* The count (or iovcnt) is rdx in every read-like call. */
	if (fd < 0 || ptrace(PTRACE_POKEUSER, t->tid, offsetof(struct user_regs_struct, rdx), 0) != 0) {
		if (fd >= 0)
			close(fd);
		tracer_lost(tr, "prof's mappings shown to the program", "thread %d reads %s: %s",
			    t->tid, m->path, strerror(errno));
		return;
	}
	m->fd = fd;
	m->count = args[2];
}

/* The whole file at path, as the kernel writes it now. */
static char *read_whole(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 16;
	char *buf = xmalloc(cap);
	ssize_t n;
	*len = 0;
	while ((n = read(fd, buf + *len, cap - *len - 1)) > 0) {
		*len += (size_t)n;
		if (cap - *len < 4096) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	close(fd);
	buf[*len] = '\0';
	return buf;
}

/* The hexadecimal number at s (before end), and what follows it. */
static const char *hex(const char *s, const char *end, uint64_t *v)
{
	const char *p = s;
	*v = 0;
	for (; p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')); p++)
		*v = *v << 4 | (uint64_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	return p > s ? p : NULL;
}

/* Whether the line starts a mapping's entry, and its range. maps and
 * smaps: "start-end perms ..."; numa_maps: "start policy ...". */
static bool entry_start(const char *s, const char *end, int kind, uint64_t *a, uint64_t *b)
{
	const char *p = hex(s, end, a);
	if (!p || p == end)
		return false;
	if (kind == NUMA_MAPS) {
		*b = *a + 1;
		return *p == ' ';
	}
	if (*p != '-' || !(p = hex(p + 1, end, b)))
		return false;
	return p < end && *p == ' ';
}

static bool covered(const struct vm_range *v, size_t n, uint64_t a, uint64_t b)
{
	for (size_t i = 0; i < n; i++)
		if (a >= v[i].start && b <= v[i].end)
			return true;
	return false;
}

size_t maps_view_filter(char *text, size_t len, const char *name, const struct vm_range *v,
			size_t n)
{
	int kind = kind_of(name);
	size_t out = 0;
	bool dropping = false;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (text + i)) + 1 : len - i;
		uint64_t a, b;
		if (entry_start(text + i, text + i + l, kind, &a, &b))
			dropping = covered(v, n, a, b);
		else if (kind != SMAPS)
			dropping = false;
		if (!dropping) {
			memmove(text + out, text + i, l);
			out += l;
		}
		i += l;
	}
	return out;
}

/* Where the program's buffers are: one for read and pread64, its iovec
 * array for the others (*n of them; false when it cannot be read). */
static bool program_buffers(pid_t pid, long nr, const struct user_regs_struct *r, uint64_t count,
			    struct iovec **iov, size_t *n)
{
	if (nr == SYS_read || nr == SYS_pread64) {
		*iov = xmalloc(sizeof **iov);
		(*iov)[0] = (struct iovec){ (void *)r->rsi, count };
		*n = 1;
		return true;
	}
	if (count > IOV_MAX)
		return false;
	*n = count;
	*iov = xcalloc(count + 1, sizeof **iov);
	struct iovec local = { *iov, count * sizeof **iov }, remote = { (void *)r->rsi, local.iov_len };
	return !count || process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)local.iov_len;
}

/* The filtered file read through m->fd at pos: the snapshot p holds when
 * the same open file goes on being read, else taken anew (and m->fd passes
 * to it). */
static const struct maps_snapshot *snapshot(struct tracer *tr, struct proc *p, struct maps_read *m,
					    off_t pos)
{
	struct maps_snapshot *s = p->maps_snap;
	pid_t self = getpid();
	if (s && pos != 0 && syscall(SYS_kcmp, self, self, KCMP_FILE, s->fd, m->fd) == 0)
		return s;
	const struct proc *of = traced_proc(tr, m->of);
	size_t len = 0, nranges = 0;
	char *text = of ? read_whole(m->path, &len) : NULL;
	if (!text)
		return NULL;
	struct vm_range *v = prof_ranges(of, &nranges);
	len = maps_view_filter(text, len, strrchr(m->path, '/') + 1, v, nranges);
	free(v);
	maps_snapshot_free(s);
	s = p->maps_snap = xcalloc(1, sizeof *s);
	s->fd = m->fd;
	s->text = text;
	s->len = len;
	m->fd = -1;
	return s;
}

/* The filtered file from the position read at, into the program's buffers;
 * the read's result. */
static int64_t serve(struct tracer *tr, struct tracee *t, struct maps_read *m,
		     const struct user_regs_struct *r)
{
	long nr = (long)t->sys_nr;
	pid_t pid = t->proc->pid;
	int fd = m->fd;
	struct iovec *iov = NULL;
	size_t niov = 0;
	if (!program_buffers(pid, nr, r, m->count, &iov, &niov)) {
		free(iov);
		return m->count > IOV_MAX ? -EINVAL : -EFAULT;
	}
	size_t want = 0;
	for (size_t i = 0; i < niov; i++)
		want += iov[i].iov_len;
	bool at_position = nr == SYS_read || nr == SYS_readv ||
			   (nr == SYS_preadv2 && (int64_t)r->r10 == -1);
	off_t pos = at_position ? lseek(fd, 0, SEEK_CUR) : (off_t)r->r10;
	const struct maps_snapshot *s = pos >= 0 ? snapshot(tr, t->proc, m, pos) : NULL;
	int64_t ret = -EINVAL;
	if (s) {
		size_t n = (size_t)pos < s->len ? s->len - (size_t)pos : 0;
		if (n > want)
			n = want;
		struct iovec local = { s->text + pos, n };
		ssize_t put = n ? process_vm_writev(pid, &local, 1, iov, niov, 0) : 0;
		ret = put < 0 ? -EFAULT : put;
		if (put > 0 && at_position && lseek(fd, pos + put, SEEK_SET) < 0)
			ret = -errno;
	}
	free(iov);
	return ret;
}

int64_t maps_view_syscall_exit(struct tracer *tr, struct tracee *t, bool returned, int64_t ret)
{
	struct maps_read *m = &t->maps_read;
	if (m->fd < 0)
		return ret;
	t->sys_regs.rdx = m->count; /* the arguments recorded are the program's */
	struct user_regs_struct r;
	if (returned && ptrace(PTRACE_GETREGS, t->tid, 0, &r) == 0) {
		r.rdx = m->count;
		if (ret == 0) /* the kernel took the read (of nothing) */
			r.rax = (uint64_t)serve(tr, t, m, &t->sys_regs);
		if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) == 0)
			ret = (int64_t)r.rax;
		else
			tracer_lost(tr, "a read of a maps file left empty", "thread %d", t->tid);
	}
	if (m->fd >= 0) /* not kept by a snapshot */
		close(m->fd);
	m->fd = -1;
	return ret;
}
