/* The tracer loop: one waitpid(__WALL) at a time, each status classified and
 * dispatched; every traced thread and process image is tracked here. The
 * recording mode (step.c) decides how a thread advances between stops. */
#include "tracer.h"
#include "affinity.h"
#include "code_seen.h"
#include "decode_memo.h"
#include "warm_start.h"
#include "progress.h"
#include "writer.h"
#include "block.h"
#include "callstack.h"
#include "cpu_intercept.h"
#include "early_stops.h"
#include "sandbox.h"
#include "unwind.h"
#include "write_guard.h"
#include "prof/lines_prefetch.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Threads and processes with id 0 are traced only to be cleaned up
 * (--no-follow-fork children): the recording leaves them out. */
static bool left_out(const struct prof_event *ev)
{
	switch (ev->kind) {
	case EV_META:
		return false;
	case EV_PROCESS:
		return ev->process.id == 0;
	case EV_PROCESS_EXIT:
		return ev->process_exit.id == 0;
	case EV_MAP:
		return ev->map.proc == 0;
	case EV_CODE_GEN:
		return ev->code_gen.proc == 0;
	case EV_JIT_SYMBOL:
		return ev->jit.proc == 0;
	case EV_CODE_SEEN:
		return ev->code_seen.proc == 0;
	default:
		return ev->thread == 0;
	}
}

static void send_to_writer(void *writer, const struct prof_event *ev)
{
	writer_send(writer, ev);
}

void tracer_flush_arcs(struct tracer *tr)
{
	arc_sum_end(&tr->arcs);
}

void tracer_add_arc(struct tracer *tr, const struct arc_key *k, uint64_t inclusive,
		    uint64_t outer_inclusive, uint32_t calls)
{
	if (!k->thread)
		return; /* a thread left out of the recording */
	tr->arcs.sink = send_to_writer;
	tr->arcs.ctx = tr->writer;
	arc_sum_add_arc(&tr->arcs, k, inclusive, outer_inclusive, calls);
}

void tracer_emit(struct tracer *tr, const struct prof_event *ev)
{
	if (!left_out(ev)) {
		/* The writer adds arcs to the current part: those of the part
		 * that ends (or whose counts are dropped) go first. */
		if (ev->kind == EV_PART || ev->kind == EV_ZERO)
			arc_sum_flush(&tr->arcs);
		writer_send(tr->writer, ev);
		return;
	}
	/* The writer would have freed these. */
	if (ev->kind == EV_PROCESS) {
		free(ev->process.exe);
		free(ev->process.argv);
	} else if (ev->kind == EV_MAP) {
		free(ev->map.path);
	} else if (ev->kind == EV_THREAD) {
		free(ev->thread_start.name);
	} else if (ev->kind == EV_THREAD_EXIT) {
		free(ev->thread_exit.name);
	} else if (ev->kind == EV_SAMPLE) {
		free(ev->sample.pcs);
	} else if (ev->kind == EV_PART) {
		free(ev->part.name);
	} else if (ev->kind == EV_JIT_SYMBOL) {
		free(ev->jit.name);
		free(ev->jit.code);
	} else if (ev->kind == EV_CODE_SEEN) {
		free(ev->code_seen.bytes);
	}
}

void tracer_lost(struct tracer *tr, const char *what, const char *detail, ...)
{
	char where[256];
	va_list ap;
	va_start(ap, detail);
	vsnprintf(where, sizeof where, detail, ap);
	va_end(ap);
	log_debug("%s: %s", where, what);
	int k = 0;
	while (k < tr->nlost && strcmp(tr->lost[k].what, what) != 0)
		k++;
	if (k == tr->nlost) {
		if (k == (int)(sizeof tr->lost / sizeof tr->lost[0]))
			k--; /* more kinds than slots: the last one counts the rest */
		else
			tr->lost[tr->nlost++] = (struct lost_kind){ what, 0 };
		log_warn("%s (%s): the recording is not exact from here (each such event is "
			 "counted in the summary and the report)", what, where);
	}
	tr->lost[k].n++;
}

uint64_t tracer_lost_list(const struct tracer *tr, char **list)
{
	uint64_t total = 0;
	size_t len = 1;
	for (int k = 0; k < tr->nlost; k++) {
		total += tr->lost[k].n;
		len += strlen(tr->lost[k].what) + 24;
	}
	*list = NULL;
	if (!total)
		return 0;
	char *s = xcalloc(len, 1);
	for (int k = 0; k < tr->nlost; k++)
		snprintf(s + strlen(s), len - strlen(s), "%s%s %llu", k ? ", " : "", tr->lost[k].what,
			 (unsigned long long)tr->lost[k].n);
	*list = s;
	return total;
}

void tracer_count_insns(struct tracer *tr, struct tracee *t, uint64_t pc, uint8_t cls, uint64_t n)
{
	if (!n || !tracer_counting(tr, t))
		return;
	struct prof_event ev = { .kind = EV_INSN, .thread = t->id };
	ev.insn.pc = pc;
	ev.insn.count = n;
	ev.insn.cls = cls;
	ev.insn.gen = tracer_code_gen(t->proc, pc);
	tracer_emit(tr, &ev);
	tr->insns += n;
	tr->part_insns += n;
	t->icount += n;
}

void tracer_count_insn(struct tracer *tr, struct tracee *t, uint64_t pc, uint8_t cls)
{
	tracer_count_insns(tr, t, pc, cls, 1);
}

bool tracer_read_mem(pid_t tid, uint64_t addr, void *buf, size_t n)
{
	struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)addr, n };
	return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)n;
}

bool tracer_read_word(struct tracee *t, uint64_t addr, uint64_t *value)
{
	if (tracer_read_mem(t->tid, addr, value, 8))
		return true;
	errno = 0;
	long word = ptrace(PTRACE_PEEKDATA, t->tid, addr, 0);
	if (word == -1 && errno)
		return false;
	*value = (uint64_t)word;
	return true;
}

void tracer_record_signal(struct tracer *tr, struct tracee *t, int sig, uint64_t pc)
{
	struct prof_event ev = { .kind = EV_SIGNAL, .thread = t->id };
	ev.signal.signo = sig;
	ev.signal.pc = pc;
	ev.signal.ns = now_ns();
	tracer_emit(tr, &ev);
	tr->signals += t->id != 0;
}

bool tracer_write_code(pid_t tid, uint64_t addr, const uint8_t *buf, size_t n)
{
	/* Word by word, read-modify-write at the unaligned edges. */
	for (size_t done = 0; done < n;) {
		uint64_t word_addr = (addr + done) & ~7ull;
		size_t skip = (size_t)(addr + done - word_addr);
		errno = 0;
		long word = ptrace(PTRACE_PEEKDATA, tid, word_addr, 0);
		if (word == -1 && errno)
			return false;
		size_t take = 8 - skip < n - done ? 8 - skip : n - done;
		memcpy((uint8_t *)&word + skip, buf + done, take);
		if (ptrace(PTRACE_POKEDATA, tid, word_addr, word) != 0)
			return false;
		done += take;
	}
	return true;
}

#define X86_TF 0x100ull

bool tracer_popf_by_hand(struct tracee *t, uint64_t at)
{
	const uint64_t mask = 0x8d5 | 0x400 | 0x4000 | 0x40000 | 0x200000; /* status, DF, NT, AC, ID */
	struct user_regs_struct r;
	uint8_t code[16];
	uint64_t word;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0 || (at && r.rip != at) ||
	    !tracer_read_code(t->tid, r.rip, code) || code[0] != 0x9d ||
	    !tracer_read_word(t, r.rsp, &word))
		return false;
	r.eflags = (r.eflags & ~(mask | X86_TF)) | (word & mask);
	r.rsp += 8;
	r.rip += 1;
	return ptrace(PTRACE_SETREGS, t->tid, 0, &r) == 0;
}

void tracer_clear_pushed_tf(struct tracee *t)
{
	uint64_t rsp = tracer_read_reg(t, offsetof(struct user_regs_struct, rsp));
	if (!rsp)
		return;
	errno = 0;
	long word = ptrace(PTRACE_PEEKDATA, t->tid, rsp, 0);
	if (errno || !(word & (long)X86_TF))
		return;
	if (ptrace(PTRACE_POKEDATA, t->tid, rsp, word & ~(long)X86_TF) != 0)
		tracer_lost(t->tracer, "the trap flag left on the stack", "thread %d", t->tid);
}

/* Where a handler's rt_sigframe keeps the interrupted RFLAGS, from the
 * handler's RSP at entry: the return address (8), then the ucontext's
 * uc_flags, uc_link and uc_stack (40) and r8..rip (17 words) of its
 * mcontext. */
#define FRAME_EFLAGS (8 + 40 + 17 * 8)

void tracer_clear_frame_tf(struct tracee *t)
{
	uint64_t sp = tracer_read_reg(t, offsetof(struct user_regs_struct, rsp)), flags;
	if (!sp || !tracer_read_word(t, sp + FRAME_EFLAGS, &flags) || !(flags & X86_TF))
		return;
	if (ptrace(PTRACE_POKEDATA, t->tid, sp + FRAME_EFLAGS, flags & ~X86_TF) != 0)
		tracer_lost(t->tracer, "the trap flag left in a signal frame", "thread %d", t->tid);
}

struct deferred_status {
	pid_t tid;
	int status;
};

void tracer_defer_status(struct tracer *tr, pid_t tid, int status)
{
	if (tr->ndeferred == tr->deferred_cap) {
		tr->deferred_cap = tr->deferred_cap ? 2 * tr->deferred_cap : 8;
		tr->deferred = xrealloc(tr->deferred, tr->deferred_cap * sizeof *tr->deferred);
	}
	tr->deferred[tr->ndeferred++] = (struct deferred_status){ tid, status };
}

/* A deferred status of tid, taken out of the queue. */
static bool take_deferred_of(struct tracer *tr, pid_t tid, int *status)
{
	for (size_t i = tr->deferred_head; i < tr->ndeferred; i++) {
		if (tr->deferred[i].tid != tid)
			continue;
		*status = tr->deferred[i].status;
		memmove(&tr->deferred[i], &tr->deferred[i + 1],
			(tr->ndeferred - i - 1) * sizeof *tr->deferred);
		tr->ndeferred--;
		return true;
	}
	return false;
}

bool tracer_wait_thread(struct tracer *tr, pid_t tid, int *status)
{
	if (take_deferred_of(tr, tid, status))
		return true;
	for (;;) {
		int st;
		pid_t got = waitpid(-1, &st, __WALL);
		if (got < 0) {
			if (errno == EINTR && !tracer_giving_up(tr))
				continue;
			return false;
		}
		if (got == tid) {
			*status = st;
			return true;
		}
		tracer_defer_status(tr, got, st);
	}
}

bool tracer_giving_up(const struct tracer *tr)
{
	return tr->interrupts && *tr->interrupts >= 2;
}

/* The next deferred status, oldest first; false when none is left. */
static bool take_deferred(struct tracer *tr, pid_t *tid, int *status)
{
	if (tr->deferred_head == tr->ndeferred) {
		tr->deferred_head = tr->ndeferred = 0;
		return false;
	}
	*tid = tr->deferred[tr->deferred_head].tid;
	*status = tr->deferred[tr->deferred_head].status;
	tr->deferred_head++;
	return true;
}

uint64_t tracer_read_reg(struct tracee *t, size_t offset)
{
	errno = 0;
	long value = ptrace(PTRACE_PEEKUSER, t->tid, offset, 0);
	return errno ? 0 : (uint64_t)value;
}

uint64_t tracer_read_pc(struct tracee *t)
{
	return tracer_read_reg(t, offsetof(struct user_regs_struct, rip));
}

/* Reads up to 16 code bytes; a read cut short by an unmapped page still decodes
 * an instruction that fits. */
size_t tracer_read_code(pid_t pid, uint64_t pc, uint8_t buf[16])
{
	struct iovec local = { buf, 16 }, remote = { (void *)pc, 16 };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n > 0)
		return (size_t)n;
	size_t page_left = 4096 - (pc & 4095);
	if (page_left < 16) {
		remote.iov_len = local.iov_len = page_left;
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n > 0)
			return (size_t)n;
	}
	/* process_vm_readv can be refused where ptrace is allowed. */
	size_t got = 0;
	for (; got < 16; got += 8) {
		errno = 0;
		long word = ptrace(PTRACE_PEEKTEXT, pid, pc + got, 0);
		if (word == -1 && errno)
			break;
		memcpy(buf + got, &word, 8);
	}
	return got;
}

/* Step mode sees every instruction before it runs: where the program may
 * write its code (a writable mapping, or a shared one, which another
 * mapping may write), the bytes of a decoded instruction are read again each
 * time, and changed bytes mean the page was rewritten in place (a new code
 * generation, as the code cache's write faults give: write_guard.h). The
 * discard empties the decode cache, so one write is one new generation. */
static bool watches_writes(const struct tracer *tr, const struct proc *p, uint64_t pc)
{
	const struct map_entry *m;
	return tr->opt.mode == &step_mode && p->id && (m = maps_find(&p->maps, pc)) &&
	       (m->prot & (MAP_PROT_W | MAP_PROT_SHARED)); /* shared: maybe writable elsewhere */
}

static bool rewritten_since(struct tracer *tr, struct tracee *t, uint64_t pc, size_t len)
{
	uint8_t code[16];
	uint64_t seen;
	if (tracer_read_code(t->tid, pc, code) < len ||
	    !u64_table_get(&t->proc->writable_code, pc, &seen) || seen == hash_fnv1a(code, len))
		return false;
	tracer_discard_code(tr, t, pc & ~4095ull, 4096);
	return true;
}

const struct insn_info *tracer_decode(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	struct decode_cache *cache = &t->proc->cache;
	bool watch = watches_writes(tr, t->proc, pc);
	const struct insn_info *hit = decode_cache_get(cache, pc);
	if (hit && !(watch && hit->len && rewritten_since(tr, t, pc, hit->len)))
		return hit;
	uint8_t code[16];
	struct insn_info info = { 0 }; /* unreadable code: no flag of the decoder's set */
	size_t n = tracer_read_code(t->tid, pc, code);
	if (!n || !classifier_decode(tr->classifier, code, n, pc, &info)) {
		/* Undecodable bytes still execute (or fault) as one step; the
		 * classifier's guess of their class is kept. */
		info.len = 0;
		if (!n)
			info.cls = CLASS_OTHER;
	}
	if (watch && info.len)
		u64_table_put(&t->proc->writable_code, pc, hash_fnv1a(code, info.len));
	tracer_saw_code(tr, t->proc, pc, code, info.len);
	decode_cache_put(cache, pc, &info);
	return decode_cache_get(cache, pc);
}

enum jump_exit tracer_jump_exit(struct tracer *tr, struct proc *p, uint64_t site, const struct branch *br)
{
	return funcmap_jump(tr->funcmap, &p->jumps, &p->maps, site, br);
}

void tracer_jump_taken(struct tracer *tr, struct tracee *t, uint64_t site, uint64_t to)
{
	struct proc *p = t->proc;
	enum jump_exit how;
	uint64_t direct;
	if (!funcmap_cached(&p->jumps, site, &how, &direct)) {
		uint8_t code[16];
		struct insn_info info;
		struct branch br;
		size_t n = tracer_read_code(t->tid, site, code);
		if (!n || !classifier_decode_branch(tr->classifier, code, n, site, &info, &br))
			memset(&br, 0, sizeof br);
		how = tracer_jump_exit(tr, p, site, &br);
		direct = br.to.target;
	}
	if ((how == JUMP_ENTERS && to == direct) ||
	    (how == JUMP_ENTERS_ANY && funcmap_lands(tr->funcmap, &p->jumps, &p->maps, to)))
		callstack_jump(tr, t, site, to);
}

static void emit_map(struct tracer *tr, struct proc *p, const struct map_entry *m)
{
	struct prof_event ev = { .kind = EV_MAP };
	ev.map.proc = p->id;
	ev.map.start = m->start;
	ev.map.end = m->end;
	ev.map.pgoff = m->pgoff;
	ev.map.prot = m->prot & (MAP_PROT_R | MAP_PROT_W | MAP_PROT_X);
	ev.map.path = xstrdup(m->path);
	ev.map.ns = now_ns();
	if (m->prot & MAP_PROT_X)
		lines_prefetch_add(tr->lines_ahead, m->path);
	tracer_emit(tr, &ev);
}

/* Whether m was among the mappings of the last look (and so stored). */
static bool mapped_before(const struct map_list *before, const struct map_entry *m)
{
	const struct map_entry *b = maps_find(before, m->start);
	return b && b->start == m->start && b->end == m->end && b->pgoff == m->pgoff &&
	       b->prot == m->prot && strcmp(b->path, m->path) == 0;
}

void tracer_refresh_maps(struct tracer *tr, struct proc *p)
{
	struct map_list now = { 0 };
	if (maps_read_exec(p->mm_tid, &now) != 0) {
		maps_free(&now);
		return;
	}
	if (maps_equal(&now, &p->maps)) {
		maps_free(&now);
		return;
	}
	for (size_t i = 0; i < now.n; i++)
		if (!mapped_before(&p->maps, &now.v[i]))
			emit_map(tr, p, &now.v[i]);
	maps_free(&p->maps);
	p->maps = now;
	if (p->id)
		jit_files_saw_maps(&p->jit, p->pid, &p->maps);
	/* Code may have been replaced where it was decoded before. */
	decode_cache_clear(&p->cache);
	funcmap_cache_clear(&p->jumps);
	if (p->as)
		aspace_code_changed(p->as, &p->maps);
	if (tr->opt.collect) {
		collect_resolve(tr->opt.collect, &p->maps, &p->collect);
		tr->collect_found |= p->collect.n > 0;
	}
}

uint32_t tracer_code_gen(const struct proc *p, uint64_t pc)
{
	return code_gens_at(&p->gens, pc);
}

bool tracer_code_changed(struct tracer *tr, struct proc *p, uint64_t start, uint64_t end,
			 bool replaced)
{
	/* Only where code was: the part of the range executable mappings cover. */
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < p->maps.n; i++) {
		const struct map_entry *m = &p->maps.v[i];
		if (m->start >= end || m->end <= start)
			continue;
		uint64_t a = m->start > start ? m->start : start, b = m->end < end ? m->end : end;
		lo = a < lo ? a : lo;
		hi = b > hi ? b : hi;
	}
	if (lo >= hi)
		return false;
	jit_files_poll(tr, p);
	struct prof_event ev = { .kind = EV_CODE_GEN };
	ev.code_gen.proc = p->id;
	ev.code_gen.gen = code_gens_bump(&p->gens, lo, hi);
	ev.code_gen.start = lo;
	ev.code_gen.end = hi;
	ev.code_gen.replaced = replaced;
	ev.code_gen.ns = now_ns();
	tracer_emit(tr, &ev);
	return true;
}

bool tracer_is_memory_syscall(long nr)
{
	return nr == SYS_mmap || nr == SYS_mprotect || nr == SYS_munmap || nr == SYS_mremap ||
	       nr == SYS_madvise || nr == SYS_shmat || nr == SYS_shmdt; /* shmat: maps read again */
}

/* madvise advice after which the memory may read back as zeros. */
static bool drops_contents(uint64_t advice)
{
	return advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE ||
	       advice == 24 /* MADV_DONTNEED_LOCKED */;
}

/* The address ranges a successful memory syscall changed (at most two). */
static size_t memory_syscall_ranges(const struct tracee *t, long nr, int64_t ret,
				    uint64_t range[2][2])
{
	const struct user_regs_struct *r = &t->sys_regs;
	uint64_t page = 4095;
	size_t n = 0;
	if (nr == SYS_munmap || nr == SYS_mprotect || nr == SYS_mremap) {
		range[n][0] = r->rdi;
		range[n++][1] = r->rdi + ((r->rsi + page) & ~page);
	}
	if (nr == SYS_shmdt) {
		/* The segment attached at rdi: its mapping as last stored (one
		 * that holds no code is not there, and changes no code). */
		const struct map_entry *m = maps_find(&t->proc->maps, r->rdi), *last = m;
		while (last && last + 1 < t->proc->maps.v + t->proc->maps.n &&
		       last[1].start == last->end && strcmp(last[1].path, m->path) == 0)
			last++;
		if (m && m->start == r->rdi) {
			range[n][0] = m->start;
			range[n++][1] = last->end;
		}
	} else if (nr == SYS_mmap) {
		range[n][0] = (uint64_t)ret;
		range[n++][1] = (uint64_t)ret + ((r->rsi + page) & ~page);
	} else if (nr == SYS_mremap) {
		range[n][0] = (uint64_t)ret;
		range[n++][1] = (uint64_t)ret + ((r->rdx + page) & ~page);
	}
	return n;
}

static bool overlaps_code(const struct proc *p, uint64_t start, uint64_t end)
{
	for (size_t m = 0; m < p->maps.n; m++)
		if (p->maps.v[m].start < end && start < p->maps.v[m].end)
			return true;
	return false;
}

void tracer_memory_syscall_exit(struct tracer *tr, struct tracee *t, long nr, int64_t ret)
{
	if (!tracer_is_memory_syscall(nr) || ret < 0)
		return;
	struct proc *p = t->proc;
	if (nr == SYS_madvise) {
		/* Code dropped in place: no mapping changes (and malloc's madvise
		 * calls, far from code, cost no look at the maps). */
		uint64_t start = t->sys_regs.rdi, len = (t->sys_regs.rsi + 4095) & ~4095ull;
		if (drops_contents(t->sys_regs.rdx) && overlaps_code(p, start, start + len))
			tracer_discard_code(tr, t, start, len);
		return;
	}
	uint64_t range[2][2];
	size_t n = p->id ? memory_syscall_ranges(t, nr, ret, range) : 0;
	bool touches = false;
	if (p->as && p->as->guarded.n) { /* pages prof protected: the program's own rights now */
		if (nr == SYS_mremap && n == 2)
			write_guard_moved(tr, t, range[0][0], t->sys_regs.rsi, range[1][0]);
		for (size_t i = 0; i < n; i++)
			write_guard_forget(p->as, range[i][0], range[i][1]);
	}
	for (size_t i = 0; i < n; i++)
		touches |= overlaps_code(p, range[i][0], range[i][1]);
	for (size_t i = 0; i < n && touches && tr->opt.mode->before_code_change; i++)
		tr->opt.mode->before_code_change(tr, t, range[i][0], range[i][1]);
	for (size_t i = 0; i < n && touches; i++) {
		tracer_code_changed(tr, p, range[i][0], range[i][1], nr != SYS_mprotect);
		if (tr->opt.mode->code_changed)
			tr->opt.mode->code_changed(tr, t, range[i][0], range[i][1]);
	}
	tracer_refresh_maps(tr, p);
}

static void code_goes(struct tracer *tr, struct tracee *t, uint64_t start, uint64_t len,
		      bool keep_int3s)
{
	struct proc *p = t->proc;
	uint64_t end = start + len;
	if (!len || end < start || !p->id)
		return;
	if (tr->opt.mode->before_code_change)
		tr->opt.mode->before_code_change(tr, t, start, end);
	/* Written in place, the code keeps the names the JIT gave it (a patch
	 * of a call site), as through a change of rights. */
	if (!tracer_code_changed(tr, p, start, end, !keep_int3s))
		return; /* no code there */
	decode_cache_clear(&p->cache);
	funcmap_cache_clear(&p->jumps);
	if (p->as) {
		aspace_discard(tr, p->as, p->pid, start, end, keep_int3s);
		write_guard_unused(p->as, start, end);
	}
	if (tr->opt.mode->code_changed)
		tr->opt.mode->code_changed(tr, t, start, end);
}

void tracer_discard_code(struct tracer *tr, struct tracee *t, uint64_t start, uint64_t len)
{
	code_goes(tr, t, start, len, false);
}

void tracer_code_written(struct tracer *tr, struct tracee *t, uint64_t start, uint64_t len)
{
	code_goes(tr, t, start, len, true);
}

/* Code that exists in no file: what the program (a JIT) wrote itself. */
static bool is_anonymous_code(const struct proc *p, uint64_t pc)
{
	const struct map_entry *m = maps_find(&p->maps, pc);
	if (!m)
		return false;
	size_t n = strlen(m->path);
	return !n || strncmp(m->path, "/memfd:", 7) == 0 ||
	       (n > 10 && strcmp(m->path + n - 10, " (deleted)") == 0);
}

void tracer_saw_code(struct tracer *tr, struct proc *p, uint64_t pc, const uint8_t *bytes, size_t len)
{
	if (len && p->id && is_anonymous_code(p, pc))
		code_seen_add(tr, p, tracer_code_gen(p, pc), pc, bytes, len);
}

#define MAX_CODE_BYTES (64ull << 20)

bool tracer_take_code_budget(struct tracer *tr, uint64_t n)
{
	if (tr->code_bytes + n <= MAX_CODE_BYTES) {
		tr->code_bytes += n;
		return true;
	}
	if (!tr->code_budget_spent)
		log_warn("more than %llu MiB of JIT code: the rest is not kept in the recording "
			 "(annotate cannot show it)", MAX_CODE_BYTES >> 20);
	tr->code_budget_spent = true;
	return false;
}

static char *read_proc_file(pid_t pid, const char *name, bool nul_to_space)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return xstrdup("");
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	buf[n] = '\0';
	for (size_t i = 0; nul_to_space && i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	return xstrdup(buf);
}

static char *read_exe(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	return xstrdup(buf);
}

struct proc *tracer_proc_new(struct tracer *tr, pid_t pid, pid_t ppid, bool unfollowed)
{
	struct proc *p = xcalloc(1, sizeof *p);
	p->pid = pid;
	p->mm_tid = pid;
	p->ppid = ppid;
	p->unfollowed = unfollowed;
	p->instr_off = tr->opt.instr_off_at_start;
	p->next = tr->procs;
	tr->procs = p;
	if (unfollowed)
		return p; /* traced only to be cleaned up: not part of the recording */
	p->id = ++tr->next_proc_id;
	/* An attached process may have written its perf map already. */
	jit_files_init(&p->jit, pid, !(tr->attached && pid == tr->main_pid));
	struct prof_event ev = { .kind = EV_PROCESS };
	ev.process.id = p->id;
	ev.process.pid = pid;
	ev.process.ppid = ppid;
	ev.process.exe = read_exe(pid);
	ev.process.argv = read_proc_file(pid, "cmdline", true);
	ev.process.ns = now_ns();
	tracer_emit(tr, &ev);
	tracer_refresh_maps(tr, p);
	return p;
}

static void proc_release(struct tracer *tr, struct proc *p)
{
	struct proc **pp = &tr->procs;
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	jit_files_close(tr, p);
	code_seen_flush(tr, p);
	code_gens_free(&p->gens);
	decode_cache_clear(&p->cache);
	u64_table_clear(&p->writable_code);
	maps_free(&p->maps);
	collect_free(&p->collect);
	funcmap_cache_clear(&p->jumps);
	sandbox_free(p->sandbox);
	maps_snapshot_free(p->maps_snap);
	aspace_put(p->as);
	unwinder_free(p->unwinder);
	free(p);
}

static struct tracee *thread_find(struct tracer *tr, pid_t tid)
{
	if (tr->last_hit && tr->last_hit->tid == tid)
		return tr->last_hit;
	for (size_t i = 0; i < tr->nthreads; i++)
		if (tr->threads[i]->tid == tid)
			return tr->last_hit = tr->threads[i];
	return NULL;
}

struct tracee *tracer_thread_add(struct tracer *tr, pid_t tid, struct proc *p)
{
	struct tracee *t = xcalloc(1, sizeof *t);
	t->tracer = tr;
	t->cpu_fd = -1;
	t->tid = tid;
	t->id = p->id ? ++tr->next_thread_id : 0;
	t->proc = p;
	t->collect_off = tr->opt.collect_off_at_start;
	maps_read_init(&t->maps_read);
	p->live_threads++;
	if (tr->nthreads == tr->threads_cap) {
		tr->threads_cap = tr->threads_cap ? 2 * tr->threads_cap : 8;
		tr->threads = xrealloc(tr->threads, tr->threads_cap * sizeof *tr->threads);
	}
	tr->threads[tr->nthreads++] = t;
	tr->threads_seen += t->id != 0;
	char comm[32];
	snprintf(comm, sizeof comm, "task/%d/comm", (int)tid);
	struct prof_event ev = { .kind = EV_THREAD, .thread = t->id };
	ev.thread_start.proc = p->id;
	ev.thread_start.tid = tid;
	ev.thread_start.name = read_proc_file(p->pid, comm, false);
	ev.thread_start.ns = now_ns();
	tracer_emit(tr, &ev);
	return t;
}

/* The thread's name as it leaves (programs name their threads after start). */
static void remember_name(struct tracee *t)
{
	char comm[32];
	snprintf(comm, sizeof comm, "task/%d/comm", (int)t->tid);
	free(t->final_name);
	t->final_name = read_proc_file(t->proc->pid, comm, false);
	if (!t->final_name[0]) {
		free(t->final_name);
		t->final_name = NULL;
	}
}

/* t leaves: its process's memory is seen through another live thread. */
static void move_mm_tid(struct tracer *tr, struct tracee *t)
{
	struct proc *p = t->proc;
	if (p->mm_tid != t->tid)
		return;
	for (size_t i = 0; i < tr->nthreads; i++) {
		struct tracee *o = tr->threads[i];
		if (o != t && o->proc == p && !o->exiting) {
			p->mm_tid = o->tid;
			return;
		}
	}
}

static void thread_remove(struct tracer *tr, struct tracee *t)
{
	move_mm_tid(tr, t);
	tr->opt.mode->thread_gone(tr, t);
	struct prof_event ev = { .kind = EV_THREAD_EXIT, .thread = t->id };
	ev.thread_exit.ns = now_ns();
	ev.thread_exit.name = t->final_name; /* the writer owns it now */
	t->final_name = NULL;
	tracer_emit(tr, &ev);
	for (size_t i = 0; i < tr->nthreads; i++) {
		if (tr->threads[i] == t) {
			tr->threads[i] = tr->threads[--tr->nthreads];
			break;
		}
	}
	if (tr->last_hit == t)
		tr->last_hit = NULL;
	t->proc->live_threads--;
	if (t->maps_read.fd >= 0)
		close(t->maps_read.fd);
	free(t);
}

/* Detaching: a thread that would begin stands still at this made-up stop. */
#define FIRST_STOP_STATUS ((PTRACE_EVENT_STOP << 16) | (SIGTRAP << 8) | 0x7f)

static void thread_begin(struct tracer *tr, struct tracee *t, bool after_exec)
{
	t->pc = tracer_read_pc(t);
	if (tr->detaching) {
		tracer_park(tr, t, FIRST_STOP_STATUS);
		return;
	}
	t->insn_valid = false;
	tr->opt.mode->begin(tr, t, after_exec);
}

static bool same_thread_group(pid_t tid, pid_t pid)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	long tgid = pid;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "Tgid:", 5) == 0)
			tgid = strtol(line + 5, NULL, 10);
	if (f)
		fclose(f);
	return tgid == pid;
}

static void on_new_task(struct tracer *tr, struct tracee *parent, int event,
			struct early_stops *es)
{
	unsigned long msg = 0;
	if (ptrace(PTRACE_GETEVENTMSG, parent->tid, 0, &msg) != 0)
		return;
	pid_t child = (pid_t)msg;
	struct proc *p = parent->proc;
	/* clone without CLONE_THREAD makes a process too (vfork-like spawns are
	 * reported as VFORK). */
	if (event != PTRACE_EVENT_CLONE || !same_thread_group(child, p->pid)) {
		p = tracer_proc_new(tr, child, parent->proc->pid, !tr->opt.follow_fork);
		p->sandbox = sandbox_copy(parent->proc->sandbox); /* filters are inherited */
		p->as_limit = parent->proc->as_limit; /* and the raised limit, with a copy of prof's memory */
		p->instr_off = parent->proc->instr_off; /* a copy of the parent, as under valgrind */
		tr->opt.mode->on_new_process(tr, parent->proc, p, event == PTRACE_EVENT_VFORK);
	}
	struct tracee *t = tracer_thread_add(tr, child, p);
	if (p != parent->proc)
		t->collect_off = parent->collect_off;
	t->insn_valid = false;
	if (p == parent->proc && tr->opt.mode->on_new_thread)
		tr->opt.mode->on_new_thread(tr, parent, t);
	if (early_stops_take(es, child))
		thread_begin(tr, t, false);
	else
		t->pc = 0; /* waits for its first stop */
}

bool tracer_may_inject(struct proc *p, long nr, const uint64_t args[6])
{
	if (sandbox_allows(p->sandbox, nr, args))
		return true;
	if (nr >= 0 && nr < 64 && !(p->refused_syscalls & (1ull << nr))) {
		p->refused_syscalls |= 1ull << nr;
		log_warn("process %d: its seccomp filter would refuse prof's %s: prof does without "
			 "(see README, Sandboxes)", p->pid,
			 nr == SYS_mmap ? "mmap" : nr == SYS_munmap ? "munmap" : nr == SYS_mprotect
			 ? "mprotect" : "syscall");
	}
	return false;
}

void tracer_syscall_entry(struct tracer *tr, struct tracee *t, long nr, const uint64_t args[6])
{
	sandbox_note_syscall(&t->proc->sandbox, t->tid, nr, args);
	t->holds_terminal = progress_syscall_entry(tr->progress, t->proc->pid, nr, args);
	if (!affinity_before_syscall(tr->affinity, t->tid, t->proc->pid, t->own_affinity, nr, args))
		tracer_lost(tr, "prof's CPU pin shown to the program", "thread %d: its status", t->tid);
	maps_view_syscall_entry(tr, t, nr, args);
}

/* Block and cache mode's syscall-entry stops, seen before the mode resumes
 * the thread into the call (step mode reports its own from step.c). False
 * when the call was put back to start again (pages opened for the kernel's
 * writes, write_guard_syscall_entry): the thread goes on as if unstopped. */
static bool on_syscall_stop_entry(struct tracer *tr, struct tracee *t)
{
	struct __ptrace_syscall_info info;
	/* Always: a seccomp filter being installed must be seen. */
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof info, &info) <= 0 ||
	    info.op != PTRACE_SYSCALL_INFO_ENTRY)
		return true;
	if (!write_guard_syscall_entry(tr, t, (long)info.entry.nr, info.entry.args))
		return false;
	tracer_syscall_entry(tr, t, (long)info.entry.nr, info.entry.args);
	return true;
}

void tracer_finish_syscall(struct tracer *tr, struct tracee *t, bool returned, int64_t ret)
{
	struct prof_event ev = { .kind = EV_SYSCALL, .thread = t->id };
	ret = maps_view_syscall_exit(tr, t, returned, ret);
	const struct user_regs_struct *r = &t->sys_regs;
	ev.sys.nr = t->sys_nr;
	uint64_t args[6] = { r->rdi, r->rsi, r->rdx, r->r10, r->r8, r->r9 };
	if (t->holds_terminal)
		progress_syscall_exit(tr->progress, t->proc->pid, (long)t->sys_nr, args, returned, ret);
	t->holds_terminal = false;
	if (returned) {
		if (!affinity_after_syscall(tr->affinity, t->tid, t->proc->pid, &t->own_affinity,
					    (long)t->sys_nr, args, ret))
			tracer_lost(tr, "prof's CPU pin shown to the program", "thread %d: "
				    "sched_getaffinity", t->tid);
		aslimit_after_syscall(&t->proc->as_limit, t->tid, t->proc->pid, (long)t->sys_nr, args, ret);
		privilege_check_syscall(tr, t, ret);
	}
	memcpy(ev.sys.args, args, sizeof args);
	ev.sys.returned = returned;
	ev.sys.ret = ret;
	ev.sys.start_ns = t->sys_start_ns;
	ev.sys.end_ns = now_ns();
	if (tracer_counting(tr, t)) { /* recorded as the instructions are */
		tracer_emit(tr, &ev);
		tr->syscalls++;
	}
	t->in_syscall = false;
	t->syscall_interrupted = false;
}

/* --cpu where the kernel traps cpuid: each new image turns it on (forked
 * children and threads inherit it). */
static bool wants_faulting(const struct tracer *tr)
{
	return tr->opt.cpu && tr->opt.cpu->level != CPU_HOST && tr->opt.cpu->faulting;
}

/* exec replaces the process image: a new process row, new mappings, a new
 * thread row for the execing thread, which now has the leader's tid. */
static void on_exec(struct tracer *tr, struct tracee *t)
{
	/* A non-leader that execs takes the leader's tid: the stop arrives under
	 * the leader's tid, but the state of the step is in the former thread. */
	unsigned long former = (unsigned long)t->tid;
	if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &former) == 0 && (pid_t)former != t->tid) {
		struct tracee *f = thread_find(tr, (pid_t)former);
		if (f)
			t = f;
	}
	struct proc *old = t->proc;
	pid_t pid = old->pid, ppid = old->ppid;
	/* Every other thread of the old image is gone; their exits may or may not
	 * be reported, so forget them now. */
	for (size_t i = 0; i < tr->nthreads;) {
		struct tracee *o = tr->threads[i];
		if (o != t && o->proc == old)
			thread_remove(tr, o);
		else
			i++;
	}
	tr->opt.mode->on_exec(tr, t);
	if (t->in_syscall)
		tracer_finish_syscall(tr, t, true, 0);
	bool unfollowed = old->unfollowed;
	struct sandbox *filters = old->sandbox; /* they survive exec */
	old->sandbox = NULL;
	/* prof's memory went with the image; the limit it raised stays: lower it. */
	aslimit_release(&old->as_limit, pid, old->as_limit.extra);
	struct prof_event pe = { .kind = EV_PROCESS_EXIT };
	pe.process_exit.id = old->id;
	pe.process_exit.ns = now_ns();
	pe.process_exit.status = -1; /* replaced by exec, not exited */
	tracer_emit(tr, &pe);
	thread_remove(tr, t);
	proc_release(tr, old);
	struct proc *p = tracer_proc_new(tr, pid, ppid, unfollowed);
	p->sandbox = filters;
	p->arm_cpuid = wants_faulting(tr); /* exec turned it off */
	struct tracee *nt = tracer_thread_add(tr, pid, p);
	if (unfollowed) {
		/* A --no-follow-fork vfork child, traced until its exec only. */
		if (ptrace(PTRACE_DETACH, pid, 0, 0) != 0)
			log_debug("detach %d: %s", pid, strerror(errno));
		tracer_forget_thread(tr, nt);
		return;
	}
	privilege_check_exec(tr, pid);
	thread_begin(tr, nt, true);
}

void tracer_forget_thread(struct tracer *tr, struct tracee *t)
{
	struct proc *p = t->proc;
	thread_remove(tr, t);
	if (p->live_threads <= 0)
		proc_release(tr, p);
}

/* Whether t's process shares its parent's memory (vfork, CLONE_VM); when
 * unsure, it does. */
static bool shares_parent_memory(const struct tracee *t)
{
	long order = syscall(SYS_kcmp, t->proc->pid, t->proc->ppid, KCMP_VM, 0, 0);
	return order != 1 && order != 2; /* 0: the same memory; -1: cannot tell */
}

bool tracer_let_go(struct tracer *tr, struct tracee *t)
{
	/* Turning CPUID faulting off writes a stub over the child's code: not
	 * where the parent's threads may run it. */
	if (shares_parent_memory(t))
		return false;
	cpu_disarm(tr, t, 0);
	if (ptrace(PTRACE_DETACH, t->tid, 0, 0) != 0)
		log_debug("detach %d: %s", t->tid, strerror(errno));
	tracer_forget_thread(tr, t);
	return true;
}

static void on_thread_gone(struct tracer *tr, struct tracee *t, int status)
{
	struct proc *p = t->proc;
	bool leader = t->tid == p->pid;
	if (leader && p->pid == tr->main_pid) {
		tr->main_status = status;
		tr->main_ended = true;
	}
	thread_remove(tr, t);
	if (p->live_threads <= 0) {
		struct prof_event ev = { .kind = EV_PROCESS_EXIT };
		ev.process_exit.id = p->id;
		ev.process_exit.ns = now_ns();
		ev.process_exit.status = WIFEXITED(status) ? WEXITSTATUS(status)
							   : 128 + WTERMSIG(status);
		tracer_emit(tr, &ev);
		proc_release(tr, p);
	}
}

static void on_signal_stop(struct tracer *tr, struct tracee *t, int sig)
{
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) != 0 && errno == EINVAL) {
		/* Group-stop: resuming continues the thread as before. */
		tr->opt.mode->resume(tr, t);
		return;
	}
	tr->opt.mode->on_signal(tr, t, sig);
}

/* A seized thread that stopped for an event (a clone under way) before its
 * interrupt stop: that stop will not come (the kernel drops a pending
 * interrupt at any other ptrace stop), so it goes on, untouched by the mode,
 * to the syscall's exit stop, where it begins (or, detaching, is parked)
 * before it runs anything. Let go with PTRACE_CONT, it ran on unbegun, and
 * the first int3 of prof's it met was delivered to it as its own SIGTRAP. */
static void let_unbegun_thread_go(struct tracer *tr, struct tracee *t)
{
	(void)tr;
	if (ptrace(PTRACE_SYSCALL, t->tid, 0, 0) != 0 && errno != ESRCH)
		log_warn("cannot resume thread %d: %s", t->tid, strerror(errno));
}

/* Detaching, a thread at a clone, fork or vfork event is inside the syscall:
 * no syscall of prof's can be injected through it, and the cleanup may have
 * no other thread to use. So it finishes the syscall, and the interrupt
 * stops it before it runs anything (at the syscall's exit stop, or back at
 * the user boundary), where it is parked as the others are. (Parked at the
 * event, it was once picked to unmap the scratch page: the injection ran the
 * rest of clone instead, and its caller was given -ENOSYS back.) */
static void finish_syscall_then_park(struct tracer *tr, struct tracee *t)
{
	tr->opt.mode->resume(tr, t);
	if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) != 0 && errno != ESRCH)
		log_debug("interrupt %d: %s", t->tid, strerror(errno));
}

bool tracer_is_group_stop(int status)
{
	int sig = WSTOPSIG(status);
	return WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_STOP &&
	       (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU);
}

void tracer_on_stop(struct tracer *tr, struct tracee *t, int status, struct early_stops *es)
{
	int sig = WSTOPSIG(status), event = status >> 16;
	if (!tr->detaching && tracer_is_group_stop(status)) {
		/* The program is stopped (SIGSTOP, Ctrl-Z): it stays stopped, as
		 * without prof. PTRACE_LISTEN keeps the thread from running and
		 * reports its SIGCONT (a thread attached stopped begins then);
		 * PTRACE_CONT here would run it while stopped. */
		log_debug("thread %d: in a group-stop (signal %d)", t->tid, sig);
		if (ptrace(PTRACE_LISTEN, t->tid, 0, 0) != 0 && errno != ESRCH)
			log_debug("listen %d: %s", t->tid, strerror(errno));
		return;
	}
	/* A new or just-attached thread's first stop. Seized (attached, sample
	 * mode), that is an event stop: a SIGSTOP first is the program's own
	 * (sent as prof attached), delivered below; a thread traced through
	 * PTRACE_TRACEME's clone starts with a SIGSTOP that is prof's. */
	bool seized = tr->attached || tr->opt.mode == &sample_mode;
	if (t->pc == 0 && (event == PTRACE_EVENT_STOP || (event == 0 && sig == SIGSTOP && !seized))) {
		thread_begin(tr, t, false);
		return;
	}
	switch (event) {
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		on_new_task(tr, t, event, es);
		if (t->pc == 0)
			let_unbegun_thread_go(tr, t); /* seized inside clone */
		else if (tr->detaching)
			finish_syscall_then_park(tr, t);
		else
			tr->opt.mode->resume(tr, t);
		return;
	case PTRACE_EVENT_EXEC:
		on_exec(tr, t);
		return;
	case PTRACE_EVENT_EXIT:
		remember_name(t);
		/* The JIT wrote its files by now; read them while the pid is ours. */
		jit_files_poll(tr, t->proc);
		tr->opt.mode->on_exit_event(tr, t);
		t->exiting = true;
		move_mm_tid(tr, t);
		if (ptrace(PTRACE_CONT, t->tid, 0, 0) != 0 && errno != ESRCH)
			log_warn("cannot resume exiting thread %d: %s", t->tid, strerror(errno));
		return;
	case 0:
		break;
	default: /* PTRACE_EVENT_STOP and others: just continue */
		tr->opt.mode->resume(tr, t);
		return;
	}
	if (t->pc == 0 && sig == (SIGTRAP | 0x80)) {
		/* Seized inside clone: the exit stop let_unbegun_thread_go asked for
		 * (not a signal to deliver: taken for one, the thread stayed
		 * stopped for good). */
		thread_begin(tr, t, false);
		return;
	}
	if (t->pc == 0) { /* a new thread's first stop is a signal: deliver it */
		t->pc = tracer_read_pc(t);
		tr->opt.mode->on_signal(tr, t, sig);
		return;
	}
	if (sig == (SIGTRAP | 0x80) && !on_syscall_stop_entry(tr, t)) {
		tr->opt.mode->resume(tr, t);
		return;
	}
	if ((sig & 0x7f) == SIGTRAP)
		tr->opt.mode->on_trap(tr, t, sig);
	else
		on_signal_stop(tr, t, sig);
}

void tracer_adopt_first(struct tracer *tr, pid_t pid)
{
	tr->main_pid = pid;
	privilege_check_exec(tr, pid);
	struct proc *p = tracer_proc_new(tr, pid, getpid(), false);
	p->arm_cpuid = wants_faulting(tr);
	thread_begin(tr, tracer_thread_add(tr, pid, p), false);
}

static void kill_all(struct tracer *tr)
{
	for (struct proc *p = tr->procs; p; p = p->next)
		kill(p->pid, SIGKILL);
	for (size_t i = 0; i < tr->nthreads; i++)
		kill(tr->threads[i]->tid, SIGKILL);
}

/* Stops of threads we do not know yet: a new thread's first stop before its
 * creator's event waits for it; a dying one is let go. */
static void on_unknown_stop(pid_t tid, int status, struct early_stops *es)
{
	if (!WIFSTOPPED(status))
		return;
	if (status >> 16 == PTRACE_EVENT_EXIT)
		ptrace(PTRACE_CONT, tid, 0, 0);
	else
		early_stops_add(es, tid);
}

/* Ctrl-C, SIGTERM or --duration: a launched program is killed, an attached
 * one is interrupted everywhere so each thread can be detached at its stop. */
static void begin_stopping(struct tracer *tr)
{
	if (!tr->attached) {
		if (tr->opt.mode->before_kill)
			tr->opt.mode->before_kill(tr);
		kill_all(tr);
		return;
	}
	tracer_begin_detach(tr);
}

int tracer_run(struct tracer *tr)
{
	struct early_stops es = { 0 };
	bool stopping = false;
	while (tr->nthreads > 0) {
		if (!stopping && (*tr->interrupted || *tr->time_up)) {
			stopping = true;
			begin_stopping(tr);
		}
		/* Detach once every thread stands still, or at once when asked
		 * twice: the threads that did stop leave cleanly. */
		if (tr->detaching && (tracer_detach_ready(tr) || tracer_giving_up(tr))) {
			if (!tracer_detach_ready(tr))
				log_warn("stopping at once: threads that did not stop yet are left as they are");
			tracer_detach_all(tr);
			continue;
		}
		if (tr->tick && *tr->tick && !stopping) {
			*tr->tick = 0;
			tr->opt.mode->on_tick(tr, 1000000000ull / tr->opt.freq);
		}
		int status;
		pid_t tid;
		if (!take_deferred(tr, &tid, &status))
			tid = waitpid(-1, &status, __WALL);
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_error("waitpid: %s", strerror(errno));
			break;
		}
		struct tracee *t = thread_find(tr, tid);
		tr->stops++;
		if (!t)
			on_unknown_stop(tid, status, &es);
		else if (WIFEXITED(status) || WIFSIGNALED(status))
			on_thread_gone(tr, t, status);
		else if (stopping && tr->attached)
			tracer_detach_stop(tr, t, status, &es);
		else if (stopping)
			/* A killed thread still stops at PTRACE_EVENT_EXIT: let it go. */
			ptrace(PTRACE_CONT, tid, 0, 0);
		else
			tracer_on_stop(tr, t, status, &es);
		progress_tick(tr->progress, tr->insns + tr->uncounted);
	}
	early_stops_free(&es);
	tracer_flush_arcs(tr);
	log_debug("%llu stops for %llu instructions", (unsigned long long)tr->stops,
		  (unsigned long long)tr->insns);
	log_debug("deepest call stack: %zu frames", tr->deepest_stack);
	if (tr->decode_memo) {
		size_t hits, misses;
		decode_memo_stats(tr->decode_memo, &hits, &misses);
		log_debug("instructions decoded: %zu, found decoded before: %zu", misses, hits);
		log_debug("blocks known by file for later processes: %zu", warm_start_size(tr->warm));
	}
	free(tr->deferred);
	tr->deferred = NULL;
	tr->ndeferred = tr->deferred_head = tr->deferred_cap = 0;
	if (tr->nthreads == 0) {
		free(tr->threads);
		tr->threads = NULL;
		tr->threads_cap = 0;
	}
	return 0;
}
