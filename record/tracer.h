/* The tracer loop's own state: traced threads, process images, counters.
 * Only the tracer thread touches any of it. */
#ifndef PROF_TRACER_H
#define PROF_TRACER_H

#include "prof/classes.h"
#include "prof/events.h"
#include "prof/maps.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct writer;
struct progress;

/* PC -> decoded instruction, per process image. */
struct decode_cache {
	uint64_t *keys;            /* pc + 1; 0 = empty */
	struct insn_info *vals;
	size_t cap, n;
};

struct proc {
	uint32_t id;               /* process row id */
	pid_t pid, ppid;
	int live_threads;
	struct decode_cache cache;
	struct map_list maps;      /* executable mappings as last stored */
	struct proc *next;
};

struct tracee {
	pid_t tid;
	uint32_t id;               /* thread row id */
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
};

struct tracer_options {
	bool follow_fork;
	bool pin_cpu;
	bool quiet;
};

struct tracer {
	struct tracer_options opt;
	struct writer *writer;
	struct classifier *classifier;
	struct progress *progress;
	struct tracee **threads;
	size_t nthreads, threads_cap;
	struct tracee *last_hit;
	struct proc *procs;
	uint32_t next_thread_id, next_proc_id;
	pid_t main_pid;
	int main_status;           /* wait status of the first process, once it ended */
	bool main_ended;
	uint64_t insns, syscalls, threads_seen, signals;
	bool attached;             /* -p: detach at the end instead of killing */
	const volatile sig_atomic_t *interrupted;  /* signal number that asks us to stop */
	const volatile sig_atomic_t *time_up;      /* --duration elapsed */
};

/* decode_cache.c */
void decode_cache_clear(struct decode_cache *c);
const struct insn_info *decode_cache_get(const struct decode_cache *c, uint64_t pc);
void decode_cache_put(struct decode_cache *c, uint64_t pc, const struct insn_info *info);

/* tracer.c: the event loop and the thread/process bookkeeping modes rely on. */
int tracer_run(struct tracer *tr);
/* Takes charge of the first program, stopped after its exec. */
void tracer_adopt_first(struct tracer *tr, pid_t pid);
struct proc *tracer_proc_new(struct tracer *tr, pid_t pid, pid_t ppid);
struct tracee *tracer_thread_add(struct tracer *tr, pid_t tid, struct proc *p);

/* attach.c: -p PID. Seizes every thread; returns 0, or -1 after one error line. */
int tracer_attach(struct tracer *tr, pid_t pid, long ptrace_options);
/* Drops a thread no longer traced (detached); its process goes with its last thread. */
void tracer_forget_thread(struct tracer *tr, struct tracee *t);
/* Ends tracing of a thread stopped with status, passing on a pending signal. */
void tracer_detach_thread(struct tracer *tr, struct tracee *t, int status);
/* Decodes (through the cache) the instruction at pc in t's process. */
const struct insn_info *tracer_decode(struct tracer *tr, struct tracee *t, uint64_t pc);
void tracer_emit(struct tracer *tr, const struct prof_event *ev);
void tracer_count_insn(struct tracer *tr, struct tracee *t, uint64_t pc, uint8_t cls);
/* Stores executable mappings that changed since the last look. */
void tracer_refresh_maps(struct tracer *tr, struct proc *p);
uint64_t tracer_read_pc(struct tracee *t);

/* step.c: step mode. */
void step_resume(struct tracer *tr, struct tracee *t, int sig);
void step_on_trap(struct tracer *tr, struct tracee *t);
void step_on_signal(struct tracer *tr, struct tracee *t, int sig);
void step_on_exit_event(struct tracer *tr, struct tracee *t);
/* Records the syscall t is stepping, with ret when it returned. */
void tracer_finish_syscall(struct tracer *tr, struct tracee *t, bool returned, int64_t ret);

#endif
