#include "unwind.h"
#include "prof/log.h"
#include "prof/util.h"

#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* Covers typical stacks; deeper frames are read word by word. */
#define STACK_SNAPSHOT (16 * 1024)

struct unwinder {
	pid_t pid;
	Dwfl *dwfl;               /* NULL until needed, or after invalidation */
	bool broken;              /* elfutils could not attach: frame pointers only */
	/* the thread being unwound */
	pid_t tid;
	struct user_regs_struct regs;
	uint8_t *stack;
	uint64_t stack_lo;
	size_t stack_len;
	bool live;                /* the thread's stack may be read beyond the copy */
	uint64_t *pcs;
	size_t n, max;
};

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	return 0; /* only dwfl_getthread_frames is used */
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;
	*thread_argp = u;
	return tid == u->tid;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwinder *u = arg;
	if (addr >= u->stack_lo && addr + 8 <= u->stack_lo + u->stack_len) {
		memcpy(result, u->stack + (addr - u->stack_lo), 8);
		return true;
	}
	if (!u->live)
		return false; /* the thread ran on long ago: its stack holds other frames now */
	struct iovec local = { result, 8 }, remote = { (void *)addr, 8 };
	return process_vm_readv(u->tid, &local, 1, &remote, 1, 0) == 8;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwinder *u = arg;
	const struct user_regs_struct *r = &u->regs;
	/* x86-64 DWARF numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15, then RA. */
	Dwarf_Word dw[17] = { r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi, r->rbp, r->rsp,
			      r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
			      r->rip };
	if (!dwfl_thread_state_registers(thread, 0, 17, dw))
		return false;
	dwfl_thread_state_register_pc(thread, r->rip);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

struct unwinder *unwinder_new(pid_t pid)
{
	struct unwinder *u = xcalloc(1, sizeof *u);
	u->pid = pid;
	u->stack = xmalloc(STACK_SNAPSHOT);
	return u;
}

void unwinder_invalidate(struct unwinder *u)
{
	if (u->dwfl)
		dwfl_end(u->dwfl);
	u->dwfl = NULL;
	u->broken = false;
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	unwinder_invalidate(u);
	free(u->stack);
	free(u);
}

static bool attach(struct unwinder *u)
{
	if (u->dwfl || u->broken)
		return u->dwfl != NULL;
	u->dwfl = dwfl_begin(&dwfl_callbacks);
	if (u->dwfl && dwfl_linux_proc_report(u->dwfl, u->pid) == 0 &&
	    dwfl_report_end(u->dwfl, NULL, NULL) == 0 &&
	    dwfl_attach_state(u->dwfl, NULL, u->pid, &thread_callbacks, u))
		return true;
	log_debug("unwinder for %d: %s", u->pid, dwfl_errmsg(-1));
	if (u->dwfl)
		dwfl_end(u->dwfl);
	u->dwfl = NULL;
	u->broken = true;
	return false;
}

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct unwinder *u = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation) || pc == 0)
		return DWARF_CB_ABORT;
	/* A return address points after the call: the call site is one byte back. */
	u->pcs[u->n++] = activation ? pc : pc - 1;
	return u->n < u->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* The classic walk: [rbp] is the caller's rbp, [rbp+8] the return address. */
static void walk_frame_pointers(struct unwinder *u)
{
	u->n = 0;
	u->pcs[u->n++] = u->regs.rip;
	uint64_t fp = u->regs.rbp;
	while (u->n < u->max && fp >= u->stack_lo && fp + 16 <= u->stack_lo + u->stack_len) {
		uint64_t next, ret;
		memcpy(&next, u->stack + (fp - u->stack_lo), 8);
		memcpy(&ret, u->stack + (fp + 8 - u->stack_lo), 8);
		if (ret == 0 || next <= fp)
			break;
		u->pcs[u->n++] = ret - 1;
		fp = next;
	}
}

void unwind_capture(struct unwinder *u, pid_t tid, const struct user_regs_struct *regs)
{
	u->tid = tid;
	u->regs = *regs;
	/* One read of the stack's top serves nearly every memory access. It is
	 * split at page boundaries: a transfer stops cleanly at the first page
	 * past the end of the stack mapping. */
	u->stack_lo = regs->rsp;
	struct iovec local = { u->stack, STACK_SNAPSHOT }, remote[STACK_SNAPSHOT / 4096 + 1];
	size_t nr = 0, len = 0;
	for (uint64_t a = regs->rsp; len < STACK_SNAPSHOT; nr++) {
		size_t chunk = 4096 - (a & 4095);
		if (chunk > STACK_SNAPSHOT - len)
			chunk = STACK_SNAPSHOT - len;
		remote[nr] = (struct iovec){ (void *)a, chunk };
		a += chunk;
		len += chunk;
	}
	ssize_t got = process_vm_readv(tid, &local, 1, remote, nr, 0);
	u->stack_len = got > 0 ? (size_t)got : 0;
	u->live = true;
}

void unwind_load(struct unwinder *u, pid_t tid, const struct user_regs_struct *regs,
		 const uint8_t *stack, size_t len)
{
	u->tid = tid;
	u->regs = *regs;
	u->stack_lo = regs->rsp;
	u->stack_len = len < STACK_SNAPSHOT ? len : STACK_SNAPSHOT;
	memcpy(u->stack, stack, u->stack_len);
	u->live = false;
}

size_t unwind_captured(struct unwinder *u, uint64_t *pcs, size_t max)
{
	u->pcs = pcs;
	u->max = max;
	u->n = 0;
	if (attach(u))
		dwfl_getthread_frames(u->dwfl, u->tid, on_frame, u);
	if (u->n < 2)
		walk_frame_pointers(u);
	return u->n;
}
