/* The writer thread: owns SQLite during record. It aggregates instruction
 * counts per (thread, pc) in memory and flushes them in batched transactions. */
#ifndef PROF_WRITER_H
#define PROF_WRITER_H

#include "prof/events.h"
#include "prof/ring.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

struct insn_slot {
	uint64_t key_pc;     /* pc + 1; 0 = empty */
	uint32_t thread;
	uint8_t cls;
	uint64_t count;
};

struct arc_slot {
	uint64_t caller_pc, callee_pc;
	uint32_t thread;          /* 0 = empty (thread ids start at 1) */
	uint64_t calls, inclusive, outer_inclusive;
};

/* Stack frames interned as a tree: (parent, pc) -> row id. */
struct frame_slot {
	uint64_t parent, pc;
	uint64_t id;              /* 0 = empty */
};

struct sample_slot {
	uint64_t stack;
	uint32_t thread;          /* 0 = empty */
	uint64_t count, weight_ns;
};

struct writer {
	sqlite3 *db;
	struct ring ring;
	pthread_t thread;
	sqlite3_stmt *st_insn, *st_syscall, *st_process, *st_process_exit, *st_thread,
		*st_thread_exit, *st_map, *st_signal, *st_meta, *st_arc, *st_stack, *st_sample;
	struct insn_slot *slots;
	size_t slots_cap, slots_used;
	struct arc_slot *arcs;
	size_t arcs_cap, arcs_used;
	struct frame_slot *frames;
	size_t frames_cap, frames_used;
	uint64_t next_frame_id;
	struct sample_slot *samples;
	size_t samples_cap, samples_used;
	bool in_txn;
	uint64_t last_commit_ns;
	int failed;          /* a database error happened: reported once */
};

int writer_start(struct writer *w, sqlite3 *db);
/* Blocks while the ring is full. */
void writer_send(struct writer *w, const struct prof_event *ev);
/* Drains the ring, flushes everything and stops the thread. Returns 0 or -1. */
int writer_finish(struct writer *w);

#endif
