#include "sample_stream.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* 512 KiB: 31 samples of 16 KiB stacks, three times what prof finds at each
 * tick (sample.c). An unprivileged user's perf buffers may lock 516 KiB per
 * CPU, and then RLIMIT_MEMLOCK (often 8 MiB) per process: a thread past
 * that is sampled by ptrace. */
#define RING_PAGES 128

/* x86-64 perf register numbers: ax bx cx dx si di bp sp ip flags cs ss, then
 * r8..r15 (16-23). ds/es/fs/gs (12-15) are refused for 64-bit threads. */
#define REGS_MASK 0xff0fffull
#define NREGS 20

struct sample_stream {
	int fd;
	uint64_t period_ns;        /* the mean period */
	uint64_t random;           /* xorshift state for the next period */
	uint8_t *ring;             /* the control page, then the data pages */
	size_t data_len;
	uint64_t lost;
	uint8_t record[SAMPLE_STREAM_STACK + 512]; /* a record that wraps, made whole */
};

static int open_event(pid_t tid, uint64_t period_ns, bool exclude_kernel)
{
	struct perf_event_attr a = {
		.size = sizeof a,
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_TASK_CLOCK,
		.sample_period = period_ns,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER,
		.sample_regs_user = REGS_MASK,
		.sample_stack_user = SAMPLE_STREAM_STACK,
		.exclude_kernel = exclude_kernel,
		.exclude_hv = 1,
	};
	return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

/* PROF_SAMPLE_PTRACE set: the kernel is not asked, so that tests cover the
 * ptrace path on machines where it would sample. */
static bool ptrace_only(void)
{
	return getenv("PROF_SAMPLE_PTRACE") != NULL;
}

bool sample_stream_supported(void)
{
	if (ptrace_only())
		return false;
	int fd = open_event(0, 1000000, true);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

struct sample_stream *sample_stream_open(pid_t tid, uint64_t period_ns)
{
	/* Ticks that land in a syscall count too (as the ptrace path's do, at
	 * the call's user PC) where the kernel lets us see them. */
	if (ptrace_only())
		return NULL;
	int fd = open_event(tid, period_ns, false);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fd = open_event(tid, period_ns, true);
	if (fd < 0) {
		log_debug("no kernel sampling of thread %d: %s", tid, strerror(errno));
		return NULL;
	}
	size_t len = (RING_PAGES + 1) * (size_t)sysconf(_SC_PAGESIZE);
	void *ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		log_debug("no sample buffer for thread %d: %s", tid, strerror(errno));
		close(fd);
		return NULL;
	}
	struct sample_stream *s = xmalloc(sizeof *s);
	s->fd = fd;
	s->period_ns = period_ns;
	s->random = ((uint64_t)tid << 32) ^ (uint64_t)(uintptr_t)s ^ 0x9e3779b97f4a7c15ull;
	s->ring = ring;
	s->data_len = RING_PAGES * (size_t)sysconf(_SC_PAGESIZE);
	s->lost = 0;
	return s;
}

void sample_stream_close(struct sample_stream *s)
{
	if (!s)
		return;
	munmap(s->ring, s->data_len + (size_t)sysconf(_SC_PAGESIZE));
	close(s->fd);
	free(s);
}

uint64_t sample_stream_lost(const struct sample_stream *s)
{
	return s->lost;
}

/* The record at offset off of the data area, in one piece. */
static const uint8_t *record_at(struct sample_stream *s, const uint8_t *data, uint64_t off,
				size_t size)
{
	size_t at = off % s->data_len;
	if (at + size <= s->data_len)
		return data + at;
	if (size > sizeof s->record)
		return NULL;
	size_t first = s->data_len - at;
	memcpy(s->record, data + at, first);
	memcpy(s->record + first, data, size - first);
	return s->record;
}

/* PERF_RECORD_SAMPLE with TID, REGS_USER, STACK_USER, in that order. */
static bool parse_sample(const uint8_t *p, size_t size, struct stream_sample *out)
{
	const uint8_t *end = p + size;
	p += sizeof(struct perf_event_header);
	uint32_t ids[2];
	uint64_t abi, regs[NREGS], len;
	memcpy(ids, p, sizeof ids);
	p += sizeof ids;
	memcpy(&abi, p, 8);
	p += 8;
	if (abi == PERF_SAMPLE_REGS_ABI_NONE || p + sizeof regs + 8 > end)
		return false; /* no user state: a kernel thread, or an exiting one */
	memcpy(regs, p, sizeof regs);
	p += sizeof regs;
	memcpy(&len, p, 8);
	p += 8;
	uint64_t dyn = 0;
	if (len && p + len + 8 <= end)
		memcpy(&dyn, p + len, 8);
	struct user_regs_struct *r = &out->regs;
	memset(r, 0, sizeof *r);
	r->rax = regs[0], r->rbx = regs[1], r->rcx = regs[2], r->rdx = regs[3];
	r->rsi = regs[4], r->rdi = regs[5], r->rbp = regs[6], r->rsp = regs[7];
	r->rip = regs[8], r->eflags = regs[9], r->cs = regs[10], r->ss = regs[11];
	r->r8 = regs[12], r->r9 = regs[13], r->r10 = regs[14], r->r11 = regs[15];
	r->r12 = regs[16], r->r13 = regs[17], r->r14 = regs[18], r->r15 = regs[19];
	out->tid = (pid_t)ids[1];
	out->stack = p;
	out->stack_len = dyn <= len ? dyn : 0;
	return true;
}

/* PERF_RECORD_LOST: the header, the event id, how many samples. */
static uint64_t lost_count(const uint8_t *rec)
{
	uint64_t n;
	memcpy(&n, rec + sizeof(struct perf_event_header) + 8, 8);
	return n;
}

/* A period every sample would take at the same point of a loop whose
 * rounds last a multiple of it (or a simple fraction more): the samples
 * would all land in the same few places and the shares would be wrong by
 * points (ptrace's stops blur the phase; the kernel's samples do not). Each
 * drain draws the next period within +-10 % of the mean. */
static void jitter_period(struct sample_stream *s)
{
	s->random ^= s->random << 13;
	s->random ^= s->random >> 7;
	s->random ^= s->random << 17;
	uint64_t spread = s->period_ns / 5;
	uint64_t period = s->period_ns - spread / 2 + (spread ? s->random % spread : 0);
	if (ioctl(s->fd, PERF_EVENT_IOC_PERIOD, &period) != 0)
		log_debug("cannot change the sample period: %s", strerror(errno));
}

void sample_stream_drain(struct sample_stream *s,
			 void (*fn)(void *ctx, const struct stream_sample *sample), void *ctx)
{
	struct perf_event_mmap_page *ctl = (struct perf_event_mmap_page *)s->ring;
	const uint8_t *data = s->ring + ctl->data_offset;
	uint64_t head = __atomic_load_n(&ctl->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = ctl->data_tail;
	while (tail + sizeof(struct perf_event_header) <= head) {
		struct perf_event_header h;
		memcpy(&h, record_at(s, data, tail, sizeof h), sizeof h);
		if (h.size < sizeof h)
			break; /* cannot happen; do not spin on it */
		const uint8_t *rec = record_at(s, data, tail, h.size);
		struct stream_sample sample;
		if (rec && h.type == PERF_RECORD_SAMPLE && parse_sample(rec, h.size, &sample))
			fn(ctx, &sample);
		else if (rec && h.type == PERF_RECORD_LOST && h.size >= sizeof h + 16)
			s->lost += lost_count(rec);
		tail += h.size;
	}
	__atomic_store_n(&ctl->data_tail, tail, __ATOMIC_RELEASE);
	jitter_period(s);
}
