/* Seccomp filters and prof's injected syscalls (see sandbox.h). */
#include "sandbox.h"
#include "tracer.h"
#include "prof/log.h"
#include "prof/u64_table.h"
#include "prof/util.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FILTER_LEN 4096   /* BPF_MAXINSNS */

struct filter {
	struct sock_filter *insns;
	unsigned short len;
};

struct sandbox {
	bool forbid_all;          /* strict mode, or filters prof could not read */
	struct filter *v;         /* in the order installed */
	size_t n;
	struct u64_table verdicts; /* hash of (nr, args but the address) -> 1 + allowed */
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static struct sandbox *sandbox_of(struct sandbox **s)
{
	if (!*s)
		*s = xcalloc(1, sizeof **s);
	return *s;
}

static void add_filter(struct sandbox *s, const struct sock_filter *insns, unsigned short len)
{
	s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	s->v[s->n].insns = xmalloc((size_t)len * sizeof *insns);
	memcpy(s->v[s->n].insns, insns, (size_t)len * sizeof *insns);
	s->v[s->n++].len = len;
	u64_table_clear(&s->verdicts);
}

struct sandbox *sandbox_copy(const struct sandbox *s)
{
	if (!s)
		return NULL;
	struct sandbox *c = xcalloc(1, sizeof *c);
	c->forbid_all = s->forbid_all;
	for (size_t i = 0; i < s->n; i++)
		add_filter(c, s->v[i].insns, s->v[i].len);
	return c;
}

void sandbox_free(struct sandbox *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].insns);
	free(s->v);
	u64_table_clear(&s->verdicts);
	free(s);
}

/* The struct sock_fprog at addr in the program, kept; false when unreadable. */
static bool read_program(struct sandbox *s, pid_t tid, uint64_t addr)
{
	struct { unsigned short len; uint64_t filter; } prog;
	if (!tracer_read_mem(tid, addr, &prog, sizeof prog) || !prog.len || prog.len > MAX_FILTER_LEN)
		return false;
	struct sock_filter *insns = xmalloc(prog.len * sizeof *insns);
	bool ok = tracer_read_mem(tid, prog.filter, insns, prog.len * sizeof *insns);
	if (ok)
		add_filter(s, insns, prog.len);
	free(insns);
	return ok;
}

void sandbox_note_syscall(struct sandbox **s, pid_t tid, long nr, const uint64_t args[6])
{
	uint64_t mode, prog;
	if (nr == SYS_seccomp) {
		mode = args[0] == SECCOMP_SET_MODE_STRICT ? SECCOMP_MODE_STRICT
			: args[0] == SECCOMP_SET_MODE_FILTER ? SECCOMP_MODE_FILTER : 0;
		prog = args[2];
	} else if (nr == SYS_prctl && args[0] == PR_SET_SECCOMP) {
		mode = args[1];
		prog = args[2];
	} else {
		return;
	}
	if (mode == SECCOMP_MODE_STRICT)
		sandbox_of(s)->forbid_all = true;
	else if (mode == SECCOMP_MODE_FILTER && !read_program(sandbox_of(s), tid, prog))
		sandbox_of(s)->forbid_all = true;
}

void sandbox_read_attached(struct sandbox **s, pid_t tid)
{
	/* Index 0 is the newest filter: read them all, keep them oldest first. */
	long count = 0;
	while (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, count, NULL) > 0)
		count++;
	if (count == 0) {
		if (errno == EACCES || errno == EPERM || errno == EINVAL) {
			char path[64], line[128];
			snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
			FILE *f = fopen(path, "re");
			bool filtered = false;
			while (f && fgets(line, sizeof line, f))
				if (strncmp(line, "Seccomp:", 8) == 0)
					filtered = atoi(line + 8) != 0;
			if (f)
				fclose(f);
			if (filtered)
				sandbox_of(s)->forbid_all = true; /* there, but not readable */
		}
		return;
	}
	for (long i = count - 1; i >= 0; i--) {
		struct sock_filter insns[MAX_FILTER_LEN];
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, insns);
		if (n <= 0 || n > MAX_FILTER_LEN) {
			sandbox_of(s)->forbid_all = true;
			return;
		}
		add_filter(sandbox_of(s), insns, (unsigned short)n);
	}
}

/* The syscall's arguments in the throwaway child: an address it names is
 * replaced by one of the child's own of the same size, so the probe
 * changes nothing that matters (filters judge numbers and flags). */
static void child_args(long nr, const uint64_t args[6], uint64_t out[6])
{
	memcpy(out, args, 6 * sizeof *out);
	if (nr != SYS_mmap && nr != SYS_munmap && nr != SYS_mprotect)
		return;
	void *own = mmap(NULL, args[1] ? args[1] : 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (own == MAP_FAILED)
		_exit(3);
	if (nr == SYS_mmap)
		munmap(own, args[1] ? args[1] : 4096); /* free: MAP_FIXED_NOREPLACE succeeds there */
	out[0] = (uint64_t)own;
}

/* Tries nr(args) under the filters in a child of prof's: true when the
 * child was not killed for it. */
static bool try_in_child(const struct sandbox *s, long nr, const uint64_t args[6])
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		/* Raw syscalls only: prof's other threads may hold locks. */
		uint64_t a[6];
		child_args(nr, args, a);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(2);
		for (size_t i = 0; i < s->n; i++) {
			struct sock_fprog prog = { s->v[i].len, s->v[i].insns };
			if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
				_exit(2);
		}
		syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) != pid)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool sandbox_allows(struct sandbox *s, long nr, const uint64_t args[6])
{
	if (!s)
		return true;
	if (s->forbid_all)
		return false;
	uint64_t key = mix((uint64_t)nr), verdict;
	for (int i = 1; i < 6; i++)
		key = mix(key ^ args[i]);
	if (u64_table_get(&s->verdicts, key, &verdict))
		return verdict == 2;
	bool allowed = try_in_child(s, nr, args);
	u64_table_put(&s->verdicts, key, allowed ? 2 : 1);
	return allowed;
}
