/* Sample mode's samples taken by the kernel (perf_event_open, a CPU-clock
 * event on one thread): at each period of the thread's CPU time the kernel
 * copies its user registers and the top of its stack into a ring buffer
 * without stopping it; prof reads the buffer at its own pace. A ptrace stop
 * per sample costs the program several times more (two wake-ups across
 * CPUs), more than the whole budget of a 1 kHz profiler on a VM. */
#ifndef PROF_SAMPLE_STREAM_H
#define PROF_SAMPLE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* The top of the stack the kernel copies at each sample (the ptrace path
 * copies as much). */
#define SAMPLE_STREAM_STACK (16 * 1024)

struct sample_stream;

struct stream_sample {
	pid_t tid;
	struct user_regs_struct regs;
	const uint8_t *stack;      /* copied from regs.rsp up */
	size_t stack_len;
};

/* Whether the kernel samples threads for prof at all (perf_event_paranoid,
 * seccomp). */
bool sample_stream_supported(void);
/* A stream sampling thread tid every period_ns of its CPU time, or NULL when
 * the kernel refuses (perf_event_paranoid, seccomp, locked-memory limit). */
struct sample_stream *sample_stream_open(pid_t tid, uint64_t period_ns);
void sample_stream_close(struct sample_stream *s);
/* Hands each sample in the buffer to fn, oldest first, and frees its room. */
void sample_stream_drain(struct sample_stream *s,
			 void (*fn)(void *ctx, const struct stream_sample *sample), void *ctx);
/* Samples the kernel dropped because the buffer was full. */
uint64_t sample_stream_lost(const struct sample_stream *s);

#endif
