/* Single-producer single-consumer ring buffer of fixed-size items.
 * The producer blocks when it is full (back-pressure: nothing is dropped). */
#ifndef PROF_RING_H
#define PROF_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct ring {
	_Atomic size_t head;   /* next slot the consumer reads */
	char pad1[64 - sizeof(size_t)];
	_Atomic size_t tail;   /* next slot the producer writes */
	char pad2[64 - sizeof(size_t)];
	_Atomic bool closed;
	size_t mask;
	size_t item_size;
	unsigned char *slots;
	_Atomic unsigned long producer_waits; /* times the producer found it full */
	_Atomic int consumer_sleeping;        /* futex word: the consumer waits on it */
};

/* capacity is rounded up to a power of two. Returns 0 or -errno. */
int ring_init(struct ring *r, size_t capacity, size_t item_size);
void ring_destroy(struct ring *r);
bool ring_try_push(struct ring *r, const void *item);
/* Blocks while the ring is full. */
void ring_push(struct ring *r, const void *item);
bool ring_try_pop(struct ring *r, void *item);
/* Blocks until an item arrives; returns false once the ring is closed and empty. */
bool ring_pop(struct ring *r, void *item);
/* Waits a little (one nap) for an item: 1 with one, 0 without, -1 once the
 * ring is closed and empty. */
int ring_pop_wait(struct ring *r, void *item);
/* Producer side: no more items will come. */
void ring_close(struct ring *r);
size_t ring_count(struct ring *r);

#endif
