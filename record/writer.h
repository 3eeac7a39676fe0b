/* The writer thread: owns SQLite during record. It aggregates instruction
 * counts per (thread, pc) in memory and flushes them in batched transactions. */
#ifndef PROF_WRITER_H
#define PROF_WRITER_H

#include "prof/events.h"
#include "prof/ring.h"
#include "prof/u64_table.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

/* What the writer counts in memory between flushes, one row per key in
 * first-seen order; each kind's u64_table maps the hash of the row's key
 * to its index. */
struct insn_count {
	uint64_t pc;
	uint32_t thread, gen;
	uint8_t cls;
	uint64_t count;
};

struct arc_count {
	uint64_t caller_pc, callee_pc;
	uint32_t thread, caller_gen, callee_gen;
	uint64_t calls, inclusive, outer_inclusive;
};

/* Stack frames interned as a tree: (parent, pc) -> row id, the index + 1. */
struct stack_frame {
	uint64_t parent, pc;
};

struct sample_count {
	uint64_t stack;
	uint32_t thread;
	uint64_t count, weight_ns;
};

struct writer {
	sqlite3 *db;
	struct ring ring;
	pthread_t thread;
	sqlite3_stmt *st_insn, *st_syscall, *st_process, *st_process_exit, *st_thread,
		*st_thread_exit, *st_map, *st_signal, *st_meta, *st_arc, *st_stack, *st_sample,
		*st_code_gen, *st_jit, *st_code_seen, *st_blob_find, *st_blob_add;
	struct insn_count *insns;
	size_t ninsns;
	struct u64_table insn_index;
	struct arc_count *arcs;
	size_t narcs;
	struct u64_table arc_index;
	struct stack_frame *frames;
	size_t nframes, frames_cap;
	struct u64_table frame_index;
	struct sample_count *samples;
	size_t nsamples;
	struct u64_table sample_index;
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
