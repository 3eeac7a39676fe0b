/* The tracer loop's own state: traced threads, process images, counters.
 * Only the tracer thread touches any of it. */
#ifndef PROF_TRACER_H
#define PROF_TRACER_H

#include "collect.h"
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
	/* t, stopped with status, is about to be detached: leave nothing of ours in it. */
	void (*before_detach)(struct tracer *tr, struct tracee *t, int status);
	/* t is gone: release what the mode kept for it. */
	void (*thread_gone)(struct tracer *tr, struct tracee *t);
	/* parent made child, a thread of its own process (NULL: nothing to do). */
	void (*on_new_thread)(struct tracer *tr, struct tracee *parent, struct tracee *child);
	/* The recording stops and the launched program is about to be killed:
	 * count what can still be read (NULL: nothing to do). */
	void (*before_kill)(struct tracer *tr);
	/* A timer tick (sample mode only; NULL elsewhere). */
	void (*on_tick)(struct tracer *tr, uint64_t period_ns);
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
	int live_threads;
	struct decode_cache cache;
	struct map_list maps;      /* executable mappings as last stored */
	struct aspace *as;         /* block mode: blocks and breakpoints */
	struct unwinder *unwinder; /* sample mode: stacks */
	bool unfollowed;           /* --no-follow-fork child traced only to clean up */
	struct collect_targets collect;  /* --collect: where FUNC starts */
	struct proc *next;
};

struct tracee {
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
	int64_t sys_nr;            /* the syscall being made, while in_syscall */
	bool holds_terminal;       /* the syscall reads or writes prof's terminal */
	bool own_affinity;         /* set its own CPU mask: prof no longer hides its pin */
	uint64_t icount;           /* instructions counted so far (inclusive costs) */
	struct callstack *stack;   /* the shadow call stack (step and block) */
	uint32_t collect_depth;    /* --collect: FUNC's frames on the call stack */
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
};

struct tracer {
	struct tracer_options opt;
	struct writer *writer;
	struct classifier *classifier;
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
	uint64_t stops;             /* statuses the loop handled (PROF_DEBUG prints them) */
	bool attached;             /* -p: detach at the end instead of killing */
	/* Statuses reaped outside the loop (during a syscall injection, at
	 * attach), handed to it before it waits again; in arrival order. */
	struct deferred_status *deferred;
	size_t ndeferred, deferred_head, deferred_cap;
	bool collect_found;        /* --collect: the function was found in some image */
	const volatile sig_atomic_t *interrupted;  /* signal number that asks us to stop */
	const volatile sig_atomic_t *time_up;      /* --duration elapsed */
	volatile sig_atomic_t *tick;               /* sample timer fired */
};

/* decode_cache.c */
void decode_cache_clear(struct decode_cache *c);
const struct insn_info *decode_cache_get(const struct decode_cache *c, uint64_t pc);
void decode_cache_put(struct decode_cache *c, uint64_t pc, const struct insn_info *info);

/* tracer.c: the event loop and the thread/process bookkeeping modes rely on. */
int tracer_run(struct tracer *tr);
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
/* Ends tracing of a thread stopped with status, passing on a pending signal. */
void tracer_detach_thread(struct tracer *tr, struct tracee *t, int status);
/* Decodes (through the cache) the instruction at pc in t's process. */
const struct insn_info *tracer_decode(struct tracer *tr, struct tracee *t, uint64_t pc);
void tracer_emit(struct tracer *tr, const struct prof_event *ev);
void tracer_count_insn(struct tracer *tr, struct tracee *t, uint64_t pc, uint8_t cls);
/* The instruction at pc ran n times (a REP string instruction's iterations). */
void tracer_count_insns(struct tracer *tr, struct tracee *t, uint64_t pc, uint8_t cls, uint64_t n);
/* Stores executable mappings that changed since the last look. */
void tracer_refresh_maps(struct tracer *tr, struct proc *p);
/* A register of the stopped thread (offsetof(struct user_regs_struct, ...)); 0 when unreadable. */
uint64_t tracer_read_reg(struct tracee *t, size_t offset);
uint64_t tracer_read_pc(struct tracee *t);

/* Reads the process's memory through t (false when unreadable). */
bool tracer_read_word(struct tracee *t, uint64_t addr, uint64_t *value);
/* Keeps a status reaped outside the loop for the loop to handle next. */
void tracer_defer_status(struct tracer *tr, pid_t tid, int status);
/* Writes n bytes into the tracee's memory, code pages included (PTRACE_POKEDATA). */
bool tracer_write_code(pid_t tid, uint64_t addr, const uint8_t *buf, size_t n);
/* Stepping pushf stores RFLAGS with the trap flag set: clears it in the pushed word. */
void tracer_clear_pushed_tf(struct tracee *t);
/* At a handler's first instruction, after a signal delivered with a single
 * step: the trap flag out of the RFLAGS the frame saved. Stepped onto a
 * popf, the kernel leaves the flag to the popf and saves it in the frame;
 * rt_sigreturn would give it back and the program would trap for ever. */
void tracer_clear_frame_tf(struct tracee *t);
/* Reads up to 16 code bytes at pc; returns how many. */
size_t tracer_read_code(pid_t tid, uint64_t pc, uint8_t buf[16]);
/* Records a delivered signal. */
void tracer_record_signal(struct tracer *tr, struct tracee *t, int sig, uint64_t pc);
/* t is about to make syscall nr (hooks that must act before it runs). */
void tracer_syscall_entry(struct tracer *tr, struct tracee *t, long nr, const uint64_t args[6]);
/* Records the syscall t is stepping, with ret when it returned. */
void tracer_finish_syscall(struct tracer *tr, struct tracee *t, bool returned, int64_t ret);

#endif
