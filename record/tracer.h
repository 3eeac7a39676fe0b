/* The tracer loop's own state: traced threads, process images, counters.
 * Only the tracer thread touches any of it. */
#ifndef PROF_TRACER_H
#define PROF_TRACER_H

#include "codegen.h"
#include "collect.h"
#include "arc_sum.h"
#include "aslimit.h"
#include "funcmap.h"
#include "jit.h"
#include "maps_view.h"
#include "prof/classes.h"
#include "prof/events.h"
#include "prof/maps.h"
#include "prof/u64_table.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct writer;
struct progress;
struct affinity;
struct aspace;
struct proc;
struct block;
struct tracer;
struct tracee;
struct cpu_view;
struct block_ext;

/* How a recording mode advances threads between stops. The tracer loop owns
 * the threads and processes and calls these at each kind of stop. */
struct mode_ops {
	const char *name;
	/* t stands at t->pc: its first stop, or the first after exec. */
	void (*begin)(struct tracer *tr, struct tracee *t, bool after_exec);
	/* SIGTRAP stop (sig is SIGTRAP, or SIGTRAP|0x80 for a syscall stop). */
	void (*on_trap)(struct tracer *tr, struct tracee *t, int sig);
	/* Signal-delivery stop. */
	void (*on_signal)(struct tracer *tr, struct tracee *t, int sig);
	/* Let t go on after an event or group stop. */
	void (*resume)(struct tracer *tr, struct tracee *t);
	/* PTRACE_EVENT_EXIT: t dies (counts what must be counted). */
	void (*on_exit_event)(struct tracer *tr, struct tracee *t);
	/* t's execve succeeded: finish its accounting before the image goes. */
	void (*on_exec)(struct tracer *tr, struct tracee *t);
	/* A new process: its memory is a copy of parent's, or shared (vfork). */
	void (*on_new_process)(struct tracer *tr, struct proc *parent, struct proc *child,
			       bool shares_memory);
	/* Detaching, with no thread running: t, parked at a stop with status,
	 * goes back to the program's own code and registers, what it ran
	 * counted. Returns the signal to deliver as it is detached (0: none). */
	int (*settle)(struct tracer *tr, struct tracee *t, int status);
	/* Detaching, every thread settled: takes out of p's memory what the
	 * mode put there, running syscalls in injector (a parked thread, at a
	 * syscall's entry when entry; NULL: none can run them). */
	void (*clean_process)(struct tracer *tr, struct proc *p, struct tracee *injector, bool entry);
	/* t is gone: release what the mode kept for it. */
	void (*thread_gone)(struct tracer *tr, struct tracee *t);
	/* parent made child, a thread of its own process (NULL: nothing to do). */
	void (*on_new_thread)(struct tracer *tr, struct tracee *parent, struct tracee *child);
	/* The recording stops and the launched program is about to be killed:
	 * count what can still be read (NULL: nothing to do). */
	void (*before_kill)(struct tracer *tr);
	/* A timer tick (sample mode only; NULL elsewhere). */
	void (*on_tick)(struct tracer *tr, uint64_t period_ns);
	/* What is counted is about to change (a client request of t's, t
	 * stopped): count everything every thread ran so far (NULL: the mode
	 * counts as the program runs). */
	void (*count_now)(struct tracer *tr, struct tracee *t);
	/* --collect: t calls FUNC, which will return to ret_addr (NULL: the
	 * mode sees every return anyway). */
	void (*on_collect_call)(struct tracer *tr, struct tracee *t, uint64_t ret_addr);
	/* Code of t's process in [lo, hi) is about to change (t stopped): count
	 * what ran there before, for the old generation (NULL: the mode counts
	 * at once). */
	void (*before_code_change)(struct tracer *tr, struct tracee *t, uint64_t lo, uint64_t hi);
	/* The code of t's process in [lo, hi) changed or went (after
	 * before_code_change): what the mode made of it must go (NULL:
	 * nothing kept beyond what the tracer forgets itself). */
	void (*code_changed)(struct tracer *tr, struct tracee *t, uint64_t lo, uint64_t hi);
	/* A mode built on block mode: what it adds there (block.h; NULL: none). */
	const struct block_ext *block_ext;
};

extern const struct mode_ops step_mode, block_mode, cache_mode, sample_mode;
struct unwinder;

/* PC -> decoded instruction, per process image. */
struct decode_cache {
	struct u64_table index;    /* pc -> position in vals */
	struct insn_info *vals;
	size_t cap, n;
};

struct proc {
	uint32_t id;               /* process row id; 0 = left out of the recording */
	pid_t pid, ppid;
	pid_t mm_tid;              /* a live thread: /proc/mm_tid shows the memory (a zombie leader's shows none) */
	int live_threads;
	struct decode_cache cache;
	struct map_list maps;      /* executable mappings as last stored */
	struct aspace *as;         /* block mode: blocks and breakpoints */
	struct unwinder *unwinder; /* sample mode: stacks */
	bool unfollowed;           /* --no-follow-fork child traced only to clean up */
	struct collect_targets collect;  /* --collect: where FUNC starts */
	struct funcmap_cache jumps; /* which jumps enter another function */
	struct sandbox *sandbox;   /* its seccomp filters (NULL: none) */
	struct as_limit as_limit;  /* its RLIMIT_AS, raised by what prof maps */
	uint64_t refused_syscalls; /* bit nr: prof said once that its filter refuses it */
	bool arm_cpuid;            /* --cpu: CPUID faulting still to be turned on in this image */
	bool instr_off;            /* client requests: instrumentation off (callgrind's, per process) */
	struct code_gens gens;     /* code generations of its address ranges */
	struct u64_table writable_code; /* step mode: pc in writable memory -> hash of its bytes */
	struct jit_files jit;      /* the perf map and jitdump its JIT writes */
	struct code_seen *seen;    /* bytes of its anonymous code prof decoded */
	struct maps_snapshot *maps_snap; /* the maps file it reads (maps_view.h) */
	struct proc *next;
};

struct tracee {
	struct tracer *tracer;     /* the tracer that owns it */
	pid_t tid;
	uint32_t id;               /* thread row id; 0 = left out of the recording */
	struct proc *proc;
	uint64_t pc;               /* where the pending step starts */
	struct insn_info insn;     /* the instruction at pc, when insn_valid */
	bool insn_valid;
	bool in_syscall;           /* stepping a `syscall`: sys_regs holds its entry */
	struct user_regs_struct sys_regs;
	uint64_t sys_start_ns;
	bool signal_injected;      /* the pending step delivers a signal */
	bool syscall_interrupted;  /* a signal stopped the syscall; it may restart */
	bool exiting;              /* PTRACE_EVENT_EXIT seen */
	bool exec_trap_pending;    /* a step trap may follow the exec event */
	char *final_name;          /* comm at PTRACE_EVENT_EXIT; handed to the writer */
	bool draining_trap;        /* detaching: a queued step SIGTRAP is being consumed */
	bool parked;               /* detaching: stopped and left so until all are */
	int park_status;           /* the stop it is parked at */
	int64_t sys_nr;            /* the syscall being made, while in_syscall */
	bool holds_terminal;       /* the syscall reads or writes prof's terminal */
	bool own_affinity;         /* set its own CPU mask: prof no longer hides its pin */
	struct maps_read maps_read; /* a read of a maps file prof answers (maps_view.h) */
	uint64_t icount;           /* instructions counted so far (inclusive costs) */
	struct callstack *stack;   /* the shadow call stack (step and block) */
	uint32_t collect_depth;    /* --collect: FUNC's frames on the call stack */
	bool collect_off;          /* client requests: collection off (callgrind's, per thread) */
	void *mode_state;          /* the mode's own state of the thread; freed by thread_gone */
	/* sample mode */
	int cpu_fd;                /* /proc/.../stat, open */
	uint64_t sample_weight;
	bool sample_pending;       /* interrupted for a sample */
};

struct tracer_options {
	const struct mode_ops *mode;
	bool follow_fork;
	bool pin_cpu;
	bool no_scratch;           /* block: no scratch page; REP instructions single-stepped */
	bool quiet;
	bool no_aslr;              /* launch with ADDR_NO_RANDOMIZE */
	bool clock_wall;           /* sample: every thread, on CPU or not */
	unsigned freq;             /* sample: ticks per second */
	const char *collect;       /* count only while this function is on the stack */
	const struct cpu_view *cpu; /* --cpu: the CPU the program is shown; NULL: the host */
	bool instr_off_at_start;   /* --instr-atstart=no: until CALLGRIND_START_INSTRUMENTATION */
	bool collect_off_at_start; /* --collect-atstart=no: until CALLGRIND_TOGGLE_COLLECT */
	bool pretend_valgrind;     /* RUNNING_ON_VALGRIND answers 1 (else the program's default) */
};

struct tracer {
	struct tracer_options opt;
	struct writer *writer;
	struct arc_sum arcs;        /* arcs on their way to the writer */
	struct classifier *classifier;
	struct funcmap *funcmap;   /* function entries of mapped files (tail calls, PLT stubs) */
	struct lines_prefetch *lines_ahead; /* line tables of mapped files, opened meanwhile (or NULL) */
	struct decode_memo *decode_memo;    /* the code cache's decoded instructions, all processes' */
	struct warm_start *warm;   /* the code cache's blocks by file, all processes' (or NULL) */
	struct progress *progress;
	const struct affinity *affinity;
	struct tracee **threads;
	size_t nthreads, threads_cap;
	struct tracee *last_hit;
	struct proc *procs;
	uint32_t next_thread_id, next_proc_id;
	pid_t main_pid;
	int main_status;           /* wait status of the first process, once it ended */
	bool main_ended;
	uint64_t insns, syscalls, threads_seen, signals;
	uint64_t uncounted;         /* cache mode: run, not counted yet (the progress line) */
	uint64_t stops;             /* statuses the loop handled (PROF_DEBUG prints them) */
	size_t deepest_stack;       /* the most frames a shadow call stack held (PROF_DEBUG) */
	bool attached;             /* -p: detach at the end instead of killing */
	bool detaching;            /* threads are being stopped to be detached */
	/* Statuses reaped outside the loop (during a syscall injection, at
	 * attach), handed to it before it waits again; in arrival order. */
	struct deferred_status *deferred;
	size_t ndeferred, deferred_head, deferred_cap;
	bool collect_found;        /* --collect: the function was found in some image */
	bool privilege_warned, ptrace_warned;  /* privilege.c said so once */
	bool write_guard_warned;   /* a page of code could not be protected (said once) */
	/* What cost the recording its exactness (tracer_lost), per kind. */
	struct lost_kind {
		const char *what;      /* a string literal: the kind */
		uint64_t n;
	} lost[16];
	int nlost;
	uint32_t parts_ended;      /* parts the program dumped (client requests) */
	uint64_t part_insns;       /* instructions counted in the current part */
	unsigned creq_warned;      /* kinds of bad client request already warned about */
	uint64_t code_bytes;       /* bytes of code copied into the recording (bounded) */
	bool code_budget_spent;    /* ... and the warning that the bound was reached */
	const volatile sig_atomic_t *interrupted;  /* signal number that asks us to stop */
	const volatile sig_atomic_t *interrupts;   /* how many such signals came */
	const volatile sig_atomic_t *time_up;      /* --duration elapsed */
	volatile sig_atomic_t *tick;               /* sample timer fired */
};

/* decode_cache.c */
void decode_cache_clear(struct decode_cache *c);
const struct insn_info *decode_cache_get(const struct decode_cache *c, uint64_t pc);
void decode_cache_put(struct decode_cache *c, uint64_t pc, const struct insn_info *info);

/* privilege.c: a warning, once, when pid's new image would have gained
 * privileges prof cannot give it (setuid, setgid, file capabilities). */
void privilege_check_exec(struct tracer *tr, pid_t pid);
/* At t's syscall exit (ret): a warning, once, when t's ptrace was refused
 * because prof traces it. */
void privilege_check_syscall(struct tracer *tr, struct tracee *t, int64_t ret);

/* Something cost the recording its exactness (counts, or what the program
 * sees): a counter unreadable, a register or a byte of code not restored, a
 * signal or its siginfo lost, memory of prof's left in the program. Counted
 * per kind (what: a string literal) for the summary line and the
 * recording's meta (the report's header), a warning the first time per
 * kind; detail (printf-like: which thread, where) under PROF_DEBUG. Never
 * silent. */
void tracer_lost(struct tracer *tr, const char *what, const char *detail, ...)
	__attribute__((format(printf, 3, 4)));
/* Events tracer_lost counted: "N events" and "KIND N, KIND N" (caller frees
 * the latter), or 0 and NULL when none. */
uint64_t tracer_lost_list(const struct tracer *tr, char **list);

/* tracer.c: the event loop and the thread/process bookkeeping modes rely on. */
int tracer_run(struct tracer *tr);
/* The arcs summed so far go to the writer (tracer_run does it at its end). */
void tracer_flush_arcs(struct tracer *tr);
/* Takes charge of the first program, stopped after its exec. */
void tracer_adopt_first(struct tracer *tr, pid_t pid);
/* A new process image; an unfollowed one is traced but left out of the recording. */
struct proc *tracer_proc_new(struct tracer *tr, pid_t pid, pid_t ppid, bool unfollowed);
struct tracee *tracer_thread_add(struct tracer *tr, pid_t tid, struct proc *p);

/* attach.c: -p PID. Seizes the process (nothing recorded yet); returns 0,
 * or -1 after one error line. */
int tracer_attach_seize(pid_t pid, long ptrace_options);
/* Checks that pid can be traced (seizes, stops and detaches it at once), so
 * a refusal is known before anything is written. 0, or -1 after one line. */
int tracer_attach_probe(pid_t pid);
/* Takes charge of a just seized process (at once: threads it starts meanwhile
 * must not be missed): seizes its other threads, records them. */
void tracer_attach(struct tracer *tr, pid_t pid, long ptrace_options);
/* Drops a thread no longer traced (detached); its process goes with its last thread. */
void tracer_forget_thread(struct tracer *tr, struct tracee *t);

/* detach.c: ending an attached recording (see there). */
struct early_stops;
void tracer_begin_detach(struct tracer *tr);
/* A status of t while detaching. */
void tracer_detach_stop(struct tracer *tr, struct tracee *t, int status, struct early_stops *es);
/* t stays stopped where it is until every thread is. */
void tracer_park(struct tracer *tr, struct tracee *t, int status);
bool tracer_detach_ready(const struct tracer *tr);
/* Settles, cleans and detaches every parked thread; forgets every thread. */
void tracer_detach_all(struct tracer *tr);
/* tracer.c: the loop's handling of one stop (events, signals, traps). */
void tracer_on_stop(struct tracer *tr, struct tracee *t, int status, struct early_stops *es);
/* Lets a --no-follow-fork child go at its first stop, as it was before
 * prof (CPUID faulting off), and returns true; false for one that shares
 * its parent's memory (vfork): it stays traced, unrecorded, until its exec. */
bool tracer_let_go(struct tracer *tr, struct tracee *t);
/* Decodes (through the cache) the instruction at pc in t's process. */
const struct insn_info *tracer_decode(struct tracer *tr, struct tracee *t, uint64_t pc);
void tracer_emit(struct tracer *tr, const struct prof_event *ev);
/* An EV_ARC's parts, summed straight into tr->arcs (callstack.c). */
void tracer_add_arc(struct tracer *tr, const struct arc_key *k, uint64_t inclusive,
		    uint64_t outer_inclusive, uint32_t calls);
void tracer_count_insn(struct tracer *tr, struct tracee *t, uint64_t pc, uint8_t cls);
/* Whether what t runs now is counted: its process's instrumentation and its
 * own collection are on (client requests), and with --collect, FUNC is on
 * its call stack. (Inline: every call and return the code cache logs asks.) */
static inline bool tracer_counting(const struct tracer *tr, const struct tracee *t)
{
	return t->id && !t->proc->instr_off && !t->collect_off &&
	       (!tr->opt.collect || t->collect_depth);
}
/* The instruction at pc ran n times (a REP string instruction's iterations). */
void tracer_count_insns(struct tracer *tr, struct tracee *t, uint64_t pc, uint8_t cls, uint64_t n);
/* How the jump at site, decoded as br, leaves its function when taken
 * (JUMP_STAYS for anything but BR_JMP and BR_JCC). */
enum jump_exit tracer_jump_exit(struct tracer *tr, struct proc *p, uint64_t site, const struct branch *br);
/* t ran the jump at site (a jmp or jcc, decoded or not) and went on at to:
 * a jump into another function gives it an activation on t's call stack. */
void tracer_jump_taken(struct tracer *tr, struct tracee *t, uint64_t site, uint64_t to);
/* Stores executable mappings that changed since the last look. */
void tracer_refresh_maps(struct tracer *tr, struct proc *p);

/* Code generations (codegen.h). The generation of the code at pc now. */
uint32_t tracer_code_gen(const struct proc *p, uint64_t pc);
/* Code in [start, end) of p may have changed (unmapped, remapped, protected,
 * rewritten in place): what runs there from now on is counted apart from
 * what ran before. replaced: the old code is certainly gone (unmapped,
 * mapped over), so the names the JIT gave it do not carry over; otherwise
 * (protection changed, written in place) they do until the JIT names the
 * code there again. The JIT's files are read first, so the names they gave
 * so far go with the code they named. Counts not made yet (translations
 * not harvested) must be made before: they would go to the new generation.
 * Returns false, doing nothing, when no executable mapping (as last stored)
 * overlaps the range. */
bool tracer_code_changed(struct tracer *tr, struct proc *p, uint64_t start, uint64_t end,
			 bool replaced);
/* t's mmap, munmap, mprotect or mremap (nr) returned ret: new generations
 * for the code it touched (mode's before_code_change first), then the
 * mappings are stored again. */
void tracer_memory_syscall_exit(struct tracer *tr, struct tracee *t, long nr, int64_t ret);
/* nr is one of those syscalls. */
bool tracer_is_memory_syscall(long nr);
/* A stop that reports the program stopped by a signal (SIGSTOP, Ctrl-Z's
 * SIGTSTP, SIGTTIN, SIGTTOU): a group-stop of a seized thread. */
bool tracer_is_group_stop(int status);
/* The program says it changed its code in [start, start + len) in place
 * (valgrind's DISCARD_TRANSLATIONS, t stopped): counted so far at the old
 * code, from here at the new; every decoded or translated copy of it goes. */
void tracer_discard_code(struct tracer *tr, struct tracee *t, uint64_t start, uint64_t len);
/* The program is about to write [start, start + len) (a fault at a page
 * prof protected, write_guard.h): as tracer_discard_code, but the JIT's
 * names carry over (replaced false), and block mode's int3s stay, as threads may be running up to them; one the program writes
 * over is found gone when the code is next read (aspace_code_at). */
void tracer_code_written(struct tracer *tr, struct tracee *t, uint64_t start, uint64_t len);
/* prof decoded len bytes of the program's code at pc: kept in the
 * recording when pc is in anonymous executable memory (JIT code). */
void tracer_saw_code(struct tracer *tr, struct proc *p, uint64_t pc, const uint8_t *bytes, size_t len);
/* Takes n bytes from the bound on code copied into the recording; false
 * (one warning, the first time) when they do not fit. */
bool tracer_take_code_budget(struct tracer *tr, uint64_t n);
/* A register of the stopped thread (offsetof(struct user_regs_struct, ...)); 0 when unreadable. */
uint64_t tracer_read_reg(struct tracee *t, size_t offset);
uint64_t tracer_read_pc(struct tracee *t);

/* Reads the process's memory through t (false when unreadable). */
bool tracer_read_word(struct tracee *t, uint64_t addr, uint64_t *value);
/* The one place prof waits for a traced thread outside the loop: the next
 * status of tid, with every other status met meanwhile kept for the loop
 * (so waiting on a zombie leader never blocks another thread's exit).
 * false when there is none to wait for, or prof is being ended by force. */
bool tracer_wait_thread(struct tracer *tr, pid_t tid, int *status);
/* A second Ctrl-C (or SIGTERM...) came while prof was ending: stop waiting. */
bool tracer_giving_up(const struct tracer *tr);
/* Keeps a status reaped outside the loop for the loop to handle next. */
void tracer_defer_status(struct tracer *tr, pid_t tid, int status);
/* Writes n bytes into the tracee's memory, code pages included (PTRACE_POKEDATA). */
bool tracer_write_code(pid_t tid, uint64_t addr, const uint8_t *buf, size_t n);
/* At a popfq (t's RIP), does it instead of a single step: stepping a popf,
 * the kernel lets it own the trap flag it set for the step, and the flag
 * then stays set after the last step and traps the program at each
 * instruction. The flags the program can change come from the stack, the
 * trap flag (pushed by a stepped pushfq) not. False: not a popfq, RIP not at
 * (when at is not 0), or ptrace failed: nothing done. */
bool tracer_popf_by_hand(struct tracee *t, uint64_t at);
/* Stepping pushf stores RFLAGS with the trap flag set: clears it in the pushed word. */
void tracer_clear_pushed_tf(struct tracee *t);
/* At a handler's first instruction, after a signal delivered with a single
 * step: the trap flag out of the RFLAGS the frame saved. Stepped onto a
 * popf, the kernel leaves the flag to the popf and saves it in the frame;
 * rt_sigreturn would give it back and the program would trap for ever. */
void tracer_clear_frame_tf(struct tracee *t);
/* Reads up to 16 code bytes at pc; returns how many. */
size_t tracer_read_code(pid_t tid, uint64_t pc, uint8_t buf[16]);
/* Reads n bytes at addr of thread tid's memory (process_vm_readv); false
 * unless all of them were read. */
bool tracer_read_mem(pid_t tid, uint64_t addr, void *buf, size_t n);
/* Records a delivered signal. */
void tracer_record_signal(struct tracer *tr, struct tracee *t, int sig, uint64_t pc);
/* Whether prof may run syscall nr(args) in p without its seccomp filters
 * punishing the program; says so once per syscall when not. */
bool tracer_may_inject(struct proc *p, long nr, const uint64_t args[6]);
/* t is about to make syscall nr (hooks that must act before it runs). */
void tracer_syscall_entry(struct tracer *tr, struct tracee *t, long nr, const uint64_t args[6]);
/* Records the syscall t is stepping, with ret when it returned. */
void tracer_finish_syscall(struct tracer *tr, struct tracee *t, bool returned, int64_t ret);

#endif
