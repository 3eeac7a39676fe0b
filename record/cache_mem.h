/* The code cache's hands in the program: the one module that touches the
 * program's memory for it (reads counters, logs and code, writes
 * translations, maps and unmaps its regions and areas). Behind
 * cache_mem_ops, so that an in-process runtime can take the place of the
 * ptrace implementation here (/proc/PID/mem, syscalls injected through a
 * stopped thread). See docs/code-cache.md, "Modules". */
#ifndef PROF_CACHE_MEM_H
#define PROF_CACHE_MEM_H

#include "prof/u64_table.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tracer;
struct tracee;
struct cache_mem;

struct cache_mem_ops {
	bool (*read)(struct cache_mem *m, uint64_t addr, void *buf, size_t n);
	bool (*write)(struct cache_mem *m, uint64_t addr, const void *buf, size_t n);
	/* n 8-byte values to n addresses, in that order: a thread reading
	 * them meanwhile sees each one only after those before it. */
	bool (*write_words)(struct cache_mem *m, const uint64_t *addr, const uint64_t *val,
			    size_t n);
	/* Up to 16 bytes of the program's own code at pc (prof's int3s
	 * undone); returns how many (0: none). */
	size_t (*read_code)(struct cache_mem *m, uint64_t pc, uint8_t out[16]);
	/* Anonymous memory at exactly addr (0: where the kernel chooses);
	 * returns its address, 0 when there is none. */
	uint64_t (*map)(struct cache_mem *m, uint64_t addr, uint64_t size, int prot);
	bool (*protect)(struct cache_mem *m, uint64_t addr, uint64_t size, int prot);
	bool (*unmap)(struct cache_mem *m, uint64_t addr, uint64_t size);
};

/* The ptrace implementation's state. */
struct cache_mem {
	const struct cache_mem_ops *ops;
	int fd;                 /* /proc/PID/mem */
	pid_t pid;
	uint64_t writes;        /* writes into the program (PROF_DEBUG) */
	/* The stopped thread syscalls are injected through, at this stop
	 * (cache_mem_via); at_syscall_entry: it stands at a syscall-entry
	 * stop (only the first injection finds it there). */
	struct tracer *tr;
	struct tracee *t;
	uint64_t stub;
	bool at_syscall_entry;
	/* The program's code around the last read, valid while one stop
	 * translates (code changes only between stops). */
	uint8_t *window;
	uint64_t window_at;
	size_t window_len;
	/* Pages of code that only a syscall prof sees can change (mapped
	 * executable, private and not writable), kept across stops: page ->
	 * its 4096 bytes as read, prof's int3s included. */
	struct u64_table pages;
	size_t npages;
};

extern const struct cache_mem_ops cache_mem_ptrace;

/* pid's memory, through ptrace (the window not copied from a parent's). */
void cache_mem_open(struct cache_mem *m, pid_t pid);
void cache_mem_close(struct cache_mem *m);
/* Syscalls go through t, stopped, with the `syscall; int3` stub at stub. */
void cache_mem_via(struct cache_mem *m, struct tracer *tr, struct tracee *t, uint64_t stub);
/* The code read so far may have changed: read it again (the pages kept
 * stay: see cache_mem_forget_pages). */
void cache_mem_forget_code(struct cache_mem *m);
/* The program's code in [lo, hi) changed, or prof put an int3 there: the
 * pages kept of it are read again. */
void cache_mem_forget_pages(struct cache_mem *m, uint64_t lo, uint64_t hi);

#endif
