/* valgrind's client requests: recognised by their bytes, read from the
 * program's memory, carried out as callgrind does (its manual and
 * callgrind.h): instrumentation on and off per process, collection toggled
 * per thread, the current part's counts zeroed or dumped (a dump ends a
 * part of the recording). A request prof does not implement, and one it
 * cannot read, is ignored: the program goes on exactly as without valgrind,
 * and prof says so once per kind. */
#include "client_request.h"
#include "block.h"
#include "callstack.h"
#include "tracer.h"
#include "prof/log.h"
#include "prof/util.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

static const uint8_t sequence[CREQ_PREAMBLE_LEN + CREQ_MARKER_LEN] = {
	0x48, 0xc1, 0xc7, 0x03,         /* rol rdi, 3 */
	0x48, 0xc1, 0xc7, 0x0d,         /* rol rdi, 13 */
	0x48, 0xc1, 0xc7, 0x3d,         /* rol rdi, 61 */
	0x48, 0xc1, 0xc7, 0x33,         /* rol rdi, 51 */
	0x48, 0x87, 0xdb,               /* xchg rbx, rbx */
};

bool creq_is_sequence(const uint8_t *bytes)
{
	return memcmp(bytes, sequence, sizeof sequence) == 0;
}

enum creq_action creq_action_of(uint64_t code)
{
	switch (code) {
	case CREQ_RUNNING_ON_VALGRIND: return CREQ_DO_NOTHING;
	case CREQ_DISCARD_TRANSLATIONS: return CREQ_DO_DISCARD;
	case CREQ_DUMP_STATS:
	case CREQ_DUMP_STATS_AT: return CREQ_DO_DUMP;
	case CREQ_ZERO_STATS: return CREQ_DO_ZERO;
	case CREQ_TOGGLE_COLLECT: return CREQ_DO_TOGGLE;
	case CREQ_START_INSTRUMENTATION:
	case CREQ_CG_START_INSTRUMENTATION: return CREQ_DO_START;
	case CREQ_STOP_INSTRUMENTATION:
	case CREQ_CG_STOP_INSTRUMENTATION: return CREQ_DO_STOP;
	default: return CREQ_DO_UNKNOWN;
	}
}

enum creq_name_check creq_check_name(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\0')
			return CREQ_NAME_OK;
		if (iscntrl((unsigned char)buf[i]))
			return CREQ_NAME_CONTROL;
	}
	return CREQ_NAME_UNTERMINATED;
}

/* Up to n bytes at addr, page by page: stops at the first that cannot be
 * read. Returns how many were read. */
static size_t read_memory(struct tracee *t, uint64_t addr, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		size_t page_left = 4096 - ((addr + got) & 4095);
		size_t want = n - got < page_left ? n - got : page_left;
		struct iovec local = { (char *)buf + got, want }, remote = { (void *)(addr + got), want };
		if (process_vm_readv(t->tid, &local, 1, &remote, 1, 0) != (ssize_t)want)
			break;
		got += want;
	}
	return got;
}

bool creq_at(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	uint8_t bytes[sizeof sequence];
	uint64_t start = pc - CREQ_PREAMBLE_LEN;
	if (pc < CREQ_PREAMBLE_LEN || read_memory(t, start, bytes, sizeof bytes) != sizeof bytes)
		return false;
	/* The sequence holds no block end but the xchg, where block mode may
	 * have put an int3: the program's own bytes count. */
	uint8_t orig;
	for (size_t i = 0; t->proc->as && i < sizeof bytes; i++)
		if (aspace_bp_orig(t->proc->as, start + i, &orig))
			bytes[i] = orig;
	(void)tr;
	return creq_is_sequence(bytes);
}

/* ---- bad input: the program goes on as natively, prof says so once ---- */

enum creq_warning {
	WARN_ARGS = 1,          /* the argument block cannot be read */
	WARN_UNKNOWN = 2,       /* a request prof does not implement */
	WARN_NAME_UNREADABLE = 4,
	WARN_NAME_UNTERMINATED = 8,
	WARN_NAME_CONTROL = 16,
};

static bool first_time(struct tracer *tr, enum creq_warning w)
{
	bool first = !(tr->creq_warned & w);
	tr->creq_warned |= w;
	return first;
}

/* A dump's name, or NULL when the part goes by its number (warned). */
static char *read_name(struct tracer *tr, struct tracee *t, uint64_t pc, uint64_t addr)
{
	char buf[CREQ_NAME_MAX];
	size_t n = addr ? read_memory(t, addr, buf, sizeof buf) : 0;
	if (!n) {
		if (first_time(tr, WARN_NAME_UNREADABLE))
			log_warn("CALLGRIND_DUMP_STATS_AT at %#llx: its name at %#llx cannot be read; "
				 "the part goes by its number (warned once)",
				 (unsigned long long)pc, (unsigned long long)addr);
		return NULL;
	}
	switch (creq_check_name(buf, n)) {
	case CREQ_NAME_OK:
		return xstrdup(buf);
	case CREQ_NAME_UNTERMINATED:
		if (first_time(tr, WARN_NAME_UNTERMINATED))
			log_warn("CALLGRIND_DUMP_STATS_AT at %#llx: its name is not NUL-terminated within "
				 "%d bytes; the part goes by its number (warned once)",
				 (unsigned long long)pc, CREQ_NAME_MAX);
		return NULL;
	default:
		if (first_time(tr, WARN_NAME_CONTROL))
			log_warn("CALLGRIND_DUMP_STATS_AT at %#llx: its name holds control characters; "
				 "the part goes by its number (warned once)", (unsigned long long)pc);
		return NULL;
	}
}

/* ---- what the requests do ---- */

/* The current part ends: calls under way leave their share so far in it. */
static void end_part(struct tracer *tr, struct tracee *t, char *name)
{
	for (size_t i = 0; i < tr->nthreads; i++)
		if (tr->threads[i]->id)
			callstack_end_part(tr, tr->threads[i]);
	struct prof_event ev = { .kind = EV_PART, .thread = t->id };
	ev.part.name = name;
	ev.part.ns = now_ns();
	tracer_emit(tr, &ev);
	tr->parts_ended++;
	tr->part_insns = 0;
}

/* The current part starts afresh: calls under way count from here. */
static void zero_part(struct tracer *tr, struct tracee *t)
{
	for (size_t i = 0; i < tr->nthreads; i++)
		callstack_restart(tr->threads[i]);
	struct prof_event ev = { .kind = EV_ZERO, .thread = t->id };
	tracer_emit(tr, &ev);
	tr->insns -= tr->part_insns;
	tr->part_insns = 0;
}

static void act(struct tracer *tr, struct tracee *t, uint64_t pc, enum creq_action a,
		const uint64_t args[6])
{
	switch (a) {
	case CREQ_DO_DUMP:
		end_part(tr, t, args[0] == CREQ_DUMP_STATS_AT ? read_name(tr, t, pc, args[1]) : NULL);
		break;
	case CREQ_DO_ZERO:
		zero_part(tr, t);
		break;
	case CREQ_DO_TOGGLE:
		t->collect_off = !t->collect_off;
		break;
	case CREQ_DO_START:
	case CREQ_DO_STOP:
		t->proc->instr_off = a == CREQ_DO_STOP;
		break;
	case CREQ_DO_DISCARD:
		tracer_discard_code(tr, t, args[1], args[2]);
		break;
	default:
		break;
	}
}

/* The class of the xchg, as the classifier sees it everywhere else. */
static uint8_t marker_class(struct tracer *tr, uint64_t pc)
{
	struct insn_info info;
	const uint8_t *marker = sequence + CREQ_PREAMBLE_LEN;
	return classifier_decode(tr->classifier, marker, CREQ_MARKER_LEN, pc, &info) ? info.cls
										  : CLASS_OTHER;
}

uint64_t creq_run(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	uint64_t next = pc + CREQ_MARKER_LEN, args[6];
	struct user_regs_struct r;
	if (!t->id || ptrace(PTRACE_GETREGS, t->tid, 0, &r) != 0)
		return next; /* left out of the recording, or gone: a no-op, as natively */
	if (read_memory(t, r.rax, args, sizeof args) != sizeof args) {
		tracer_count_insn(tr, t, pc, marker_class(tr, pc));
		if (first_time(tr, WARN_ARGS))
			log_warn("client request at %#llx: its arguments at %#llx cannot be read; ignored, "
				 "the program goes on as without valgrind (warned once)",
				 (unsigned long long)pc, (unsigned long long)r.rax);
		return next;
	}
	enum creq_action a = creq_action_of(args[0]);
	if (a == CREQ_DO_UNKNOWN && first_time(tr, WARN_UNKNOWN))
		log_warn("client request %#llx at %#llx is not one prof implements (callgrind's and "
			 "cachegrind's are); ignored, as without valgrind (warned once)",
			 (unsigned long long)args[0], (unsigned long long)pc);
	bool changes = a != CREQ_DO_NOTHING && a != CREQ_DO_UNKNOWN;
	/* What ran before the request is counted as things stood before it. A
	 * DISCARD counts first only what ran of the code it discards, as any
	 * change of code does (mode_ops.before_code_change): V8 makes one at
	 * every patch of its code, and reading every counter of every thread
	 * each time was a tenth of prof's time on node. */
	if (changes && a != CREQ_DO_DISCARD && tr->opt.mode->count_now)
		tr->opt.mode->count_now(tr, t);
	tracer_count_insn(tr, t, pc, marker_class(tr, pc));
	act(tr, t, pc, a, args);
	bool answer = changes || (a == CREQ_DO_NOTHING && tr->opt.pretend_valgrind);
	if (answer) {
		/* callgrind's requests return 0; RUNNING_ON_VALGRIND the number of
		 * valgrinds the program runs under. */
		r.rdx = a == CREQ_DO_NOTHING ? 1 : 0;
		if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) != 0)
			log_debug("thread %d: rdx of a client request not set: %s", t->tid, strerror(errno));
	}
	return next;
}
