/* SPSC ring: the producer owns tail, the consumer owns head; each publishes its
 * index with release and reads the other's with acquire. An idle consumer
 * sleeps on a futex and is woken only when a batch is waiting (or the ring
 * closes), with a timeout as backstop: no polling wake-ups compete with the
 * traced program for its CPU. A producer finding the ring full sleeps
 * briefly: the consumer is busy then. */
#include "prof/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WAKE_BATCH 512
#define CONSUMER_NAP_NS 50000000l

int ring_init(struct ring *r, size_t capacity, size_t item_size)
{
	size_t cap = 1;
	while (cap < capacity)
		cap <<= 1;
	memset(r, 0, sizeof *r);
	r->slots = malloc(cap * item_size);
	if (!r->slots)
		return -ENOMEM;
	r->mask = cap - 1;
	r->item_size = item_size;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->closed, false);
	atomic_init(&r->producer_waits, 0);
	atomic_init(&r->consumer_sleeping, 0);
	return 0;
}

void ring_destroy(struct ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

static void ring_wait(unsigned *spins)
{
	/* Short waits first: the other side is usually just behind. */
	long ns = *spins < 8 ? 20000 : 200000;
	struct timespec ts = { 0, ns };
	nanosleep(&ts, NULL);
	(*spins)++;
}

bool ring_try_push(struct ring *r, const void *item)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	if (tail - head > r->mask)
		return false;
	memcpy(r->slots + (tail & r->mask) * r->item_size, item, r->item_size);
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return true;
}

static void wake_consumer(struct ring *r)
{
	if (atomic_exchange(&r->consumer_sleeping, 0))
		syscall(SYS_futex, &r->consumer_sleeping, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void ring_push(struct ring *r, const void *item)
{
	unsigned spins = 0;
	if (!ring_try_push(r, item)) {
		atomic_fetch_add_explicit(&r->producer_waits, 1, memory_order_relaxed);
		wake_consumer(r);
		while (!ring_try_push(r, item))
			ring_wait(&spins);
	}
	if (atomic_load_explicit(&r->consumer_sleeping, memory_order_relaxed) &&
	    ring_count(r) >= WAKE_BATCH)
		wake_consumer(r);
}

bool ring_try_pop(struct ring *r, void *item)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (head == tail)
		return false;
	memcpy(item, r->slots + (head & r->mask) * r->item_size, r->item_size);
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

int ring_pop_wait(struct ring *r, void *item)
{
	if (ring_try_pop(r, item))
		return 1;
	/* Closed is set after the last push, so re-check once after seeing it. */
	if (atomic_load_explicit(&r->closed, memory_order_acquire))
		return ring_try_pop(r, item) ? 1 : -1;
	atomic_store(&r->consumer_sleeping, 1);
	/* Items pushed before the flag was visible are seen on this re-check. */
	if (ring_count(r) == 0 && !atomic_load(&r->closed)) {
		struct timespec nap = { 0, CONSUMER_NAP_NS };
		syscall(SYS_futex, &r->consumer_sleeping, FUTEX_WAIT_PRIVATE, 1, &nap, NULL, 0);
	}
	atomic_store(&r->consumer_sleeping, 0);
	return ring_try_pop(r, item) ? 1 : 0;
}

bool ring_pop(struct ring *r, void *item)
{
	for (;;) {
		int got = ring_pop_wait(r, item);
		if (got != 0)
			return got > 0;
	}
}

void ring_close(struct ring *r)
{
	atomic_store_explicit(&r->closed, true, memory_order_release);
	wake_consumer(r);
}

size_t ring_count(struct ring *r)
{
	return atomic_load(&r->tail) - atomic_load(&r->head);
}
