/* The code cache's memory in the program, through ptrace: /proc/PID/mem
 * for reads and writes (PTRACE_POKEDATA where that fails), syscalls
 * injected through a stopped thread for mappings. See cache_mem.h. */
#include "cache_mem.h"
#include "block.h"
#include "inject.h"
#include "tracer.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define WINDOW 8192
#define PAGE 4096ull
#define MAX_PAGES 16384  /* 64 MiB of code kept at most */
#define WORDS_AT_ONCE 256

void cache_mem_open(struct cache_mem *m, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	m->ops = &cache_mem_ptrace;
	m->pid = pid;
	m->window = NULL;
	m->window_len = 0;
	memset(&m->pages, 0, sizeof m->pages); /* a fork's: its parent's pages */
	m->npages = 0;
	cache_mem_via(m, NULL, NULL, 0);
	m->fd = open(path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0)
		log_debug("cannot open %s: %s", path, strerror(errno));
}

static void free_page(uint64_t page, uint64_t bytes, void *ctx)
{
	(void)page;
	(void)ctx;
	free((void *)(uintptr_t)bytes);
}

static void forget_all_pages(struct cache_mem *m)
{
	u64_table_each(&m->pages, free_page, NULL);
	u64_table_clear(&m->pages);
	m->npages = 0;
}

void cache_mem_close(struct cache_mem *m)
{
	free(m->window);
	m->window = NULL;
	forget_all_pages(m);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

void cache_mem_via(struct cache_mem *m, struct tracer *tr, struct tracee *t, uint64_t stub)
{
	m->tr = tr;
	m->t = t;
	m->stub = stub;
}

void cache_mem_forget_code(struct cache_mem *m)
{
	m->window_len = 0;
}

static void forget_page(struct cache_mem *m, uint64_t page)
{
	uint64_t bytes;
	if (u64_table_get(&m->pages, page, &bytes)) {
		free((void *)(uintptr_t)bytes);
		u64_table_remove(&m->pages, page);
		m->npages--;
	}
}

struct pages_in {
	uint64_t lo, hi;
	uint64_t *v;
	size_t n;
};

static void page_in(uint64_t page, uint64_t bytes, void *ctx)
{
	(void)bytes;
	struct pages_in *r = ctx;
	if (page >= r->lo && page < r->hi)
		r->v[r->n++] = page;
}

void cache_mem_forget_pages(struct cache_mem *m, uint64_t lo, uint64_t hi)
{
	m->window_len = 0;
	if (!m->npages || hi <= lo)
		return;
	struct pages_in r = { lo & ~(PAGE - 1), hi, NULL, 0 };
	if ((hi - r.lo) / PAGE <= m->npages) {
		for (uint64_t page = r.lo; page < hi; page += PAGE)
			forget_page(m, page);
		return;
	}
	/* A range wider than what is kept (a JIT's reservation unmapped):
	 * look only at what is kept. */
	r.v = xmalloc(m->npages * sizeof *r.v);
	u64_table_each(&m->pages, page_in, &r);
	for (size_t i = 0; i < r.n; i++)
		forget_page(m, r.v[i]);
	free(r.v);
}

/* Large reads (a call log, the counters) with process_vm_readv, which
 * copies straight from the program's pages, where /proc/PID/mem copies
 * each page twice through a bounce page; /proc/PID/mem for the rest, and
 * for memory process_vm_readv may not read (not readable to the program). */
#define DIRECT_READ_MIN 16384

static bool mem_read(struct cache_mem *m, uint64_t addr, void *buf, size_t n)
{
	if (n >= DIRECT_READ_MIN) {
		struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)addr, n };
		if (process_vm_readv(m->pid, &local, 1, &remote, 1, 0) == (ssize_t)n)
			return true;
	}
	return m->fd >= 0 && pread(m->fd, buf, n, (off_t)addr) == (ssize_t)n;
}

static bool mem_write(struct cache_mem *m, uint64_t addr, const void *buf, size_t n)
{
	m->writes++;
	if (m->fd >= 0 && pwrite(m->fd, buf, n, (off_t)addr) == (ssize_t)n)
		return true;
	return tracer_write_code(m->pid, addr, buf, n);
}

/* One process_vm_writev for many words where the memory is writable (the
 * lookup tables), a pwrite per word from where it is not. */
static bool mem_write_words(struct cache_mem *m, const uint64_t *addr, const uint64_t *val,
			    size_t n)
{
	for (size_t done = 0; done < n;) {
		size_t k = n - done < WORDS_AT_ONCE ? n - done : WORDS_AT_ONCE;
		struct iovec local[WORDS_AT_ONCE], remote[WORDS_AT_ONCE];
		for (size_t i = 0; i < k; i++) {
			local[i] = (struct iovec){ (void *)&val[done + i], 8 };
			remote[i] = (struct iovec){ (void *)(uintptr_t)addr[done + i], 8 };
		}
		m->writes++;
		ssize_t w = process_vm_writev(m->pid, local, k, remote, k, 0);
		size_t whole = w > 0 ? (size_t)w / 8 : 0;
		if (whole < k) {
			for (size_t i = done + whole; i < n; i++)
				if (!mem_write(m, addr[i], &val[i], 8))
					return false;
			return true;
		}
		done += k;
	}
	return true;
}

/* Up to 16 bytes of code at pc, through a window read a page or two at a
 * time (a syscall per instruction made translating cost more than the stop). */
static size_t read_window(struct cache_mem *m, uint64_t pc, uint8_t out[16])
{
	if (!m->window)
		m->window = xmalloc(WINDOW);
	if (pc < m->window_at || pc + 16 > m->window_at + m->window_len) {
		m->window_at = pc & ~4095ull;
		ssize_t n = m->fd >= 0 ? pread(m->fd, m->window, WINDOW, (off_t)m->window_at) : -1;
		m->window_len = n > 0 ? (size_t)n : 0;
		if (pc + 16 > m->window_at + m->window_len) { /* the end of a mapping */
			m->window_len = 0;
			return tracer_read_code(m->t->tid, pc, out);
		}
	}
	memcpy(out, m->window + (pc - m->window_at), 16);
	return 16;
}

/* Whether page holds code that changes only through a syscall prof sees
 * (an mmap, mprotect, munmap, mremap over it): mapped executable, private
 * and not writable, and not a page prof made read-only itself. */
static bool page_keeps(struct tracee *t, uint64_t page)
{
	const struct map_entry *e = maps_find(&t->proc->maps, page);
	uint64_t guarded;
	return e && e->end >= page + PAGE && (e->prot & MAP_PROT_X) &&
	       !(e->prot & (MAP_PROT_W | MAP_PROT_SHARED)) &&
	       !u64_table_get(&t->proc->as->guarded, page, &guarded);
}

static const uint8_t *kept_page(struct cache_mem *m, uint64_t page)
{
	uint64_t bytes;
	if (u64_table_get(&m->pages, page, &bytes))
		return (const uint8_t *)(uintptr_t)bytes;
	if (m->fd < 0 || !page_keeps(m->t, page))
		return NULL;
	if (m->npages == MAX_PAGES)
		forget_all_pages(m);
	uint8_t *copy = xmalloc(PAGE);
	if (pread(m->fd, copy, PAGE, (off_t)page) != PAGE) {
		free(copy);
		return NULL;
	}
	u64_table_put(&m->pages, page, (uint64_t)(uintptr_t)copy);
	m->npages++;
	return copy;
}

/* 16 bytes at pc from kept pages; false when a page cannot be kept. */
static bool read_kept(struct cache_mem *m, uint64_t pc, uint8_t out[16])
{
	uint64_t page = pc & ~(PAGE - 1), in_first = page + PAGE - pc;
	const uint8_t *a = kept_page(m, page);
	if (!a)
		return false;
	if (in_first >= 16) {
		memcpy(out, a + (pc - page), 16);
		return true;
	}
	const uint8_t *b = kept_page(m, page + PAGE);
	if (!b)
		return false;
	memcpy(out, a + (pc - page), in_first);
	memcpy(out + in_first, b, 16 - in_first);
	return true;
}

/* The program's own bytes at pc, not block mode's int3s. */
static size_t mem_read_code(struct cache_mem *m, uint64_t pc, uint8_t out[16])
{
	struct tracee *t = m->t;
	size_t n = read_kept(m, pc, out) ? 16 : read_window(m, pc, out);
	aspace_code_at(t->proc->as, pc, out, n);
	return n;
}

/* Runs a syscall in the thread; a signal that came meanwhile is queued
 * again, so the loop sees it as if it came now. */
static int64_t inject(struct cache_mem *m, long nr, const uint64_t args[6])
{
	struct tracee *t = m->t;
	struct injection inj = { 0 };
	if (!inject_syscall(m->tr, t, m->stub, nr, args, false, &inj))
		return inj.ret ? inj.ret : -EIO;
	inject_queue_held(m->tr, t, &inj);
	return inj.ret;
}

static uint64_t mem_map(struct cache_mem *m, uint64_t addr, uint64_t size, int prot)
{
	uint64_t flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uint64_t args[6] = { addr, size, (uint64_t)prot, flags | (addr ? MAP_FIXED_NOREPLACE : 0),
			     (uint64_t)-1, 0 };
	int64_t ret = inject(m, SYS_mmap, args);
	if (ret < 0 && ret > -4096)
		return 0;
	if (addr && (uint64_t)ret != addr) { /* an old kernel took the address as a hint */
		uint64_t un[6] = { (uint64_t)ret, size, 0, 0, 0, 0 };
		inject(m, SYS_munmap, un);
		return 0;
	}
	return (uint64_t)ret;
}

static bool mem_protect(struct cache_mem *m, uint64_t addr, uint64_t size, int prot)
{
	uint64_t args[6] = { addr, size, (uint64_t)prot, 0, 0, 0 };
	return inject(m, SYS_mprotect, args) == 0;
}

/* At removal: the thread may stand at a syscall-entry stop; a signal held
 * meanwhile is queued again (detached, the program gets it). */
static bool mem_unmap(struct cache_mem *m, uint64_t addr, uint64_t size)
{
	const uint64_t args[6] = { addr, size, 0, 0, 0, 0 };
	struct injection inj = { 0 };
	bool ran = inject_syscall(m->tr, m->t, m->stub, SYS_munmap, args, m->at_syscall_entry, &inj);
	m->at_syscall_entry = false;
	if (ran)
		inject_queue_held(m->tr, m->t, &inj);
	return ran && inj.ret == 0;
}

const struct cache_mem_ops cache_mem_ptrace = {
	.read = mem_read,
	.write = mem_write,
	.write_words = mem_write_words,
	.read_code = mem_read_code,
	.map = mem_map,
	.protect = mem_protect,
	.unmap = mem_unmap,
};
