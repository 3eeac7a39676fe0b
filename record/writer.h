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
	uint32_t thread, part, gen;
	uint8_t cls;
	uint64_t count;
};

struct arc_count {
	uint64_t caller_pc, callee_pc;
	uint32_t thread, part, caller_gen, callee_gen;
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

struct meta_row {
	char *key, *value;
};

struct writer {
	sqlite3 *db;
	struct ring ring;
	pthread_t thread;
	sqlite3_stmt *st_insn, *st_syscall, *st_process, *st_process_exit, *st_thread,
		*st_thread_exit, *st_map, *st_signal, *st_meta, *st_arc, *st_stack, *st_sample,
		*st_part, *st_code_gen, *st_jit, *st_code_seen, *st_blob_find, *st_blob_add;
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
	uint32_t part;       /* the part counts go to now (EV_PART ends it) */
	bool in_txn;
	uint64_t last_commit_ns;
	unsigned events_since_check;  /* events since the clock was last looked at */
	int failed;          /* a database error happened: reported once */
	/* A full disk: the transaction open then is rolled back, its counts and
	 * all later ones are dropped; meta rows are still written, into the
	 * space reserved at the start (a file next to the database) and given
	 * back then. Counts are instructions, or samples. */
	int reserve_fd;      /* the reserve, open; -1: none (given back or never had) */
	char *reserve_path;
	bool disk_full;
	uint64_t pending;    /* counted since the last commit */
	uint64_t kept;       /* committed */
	uint64_t dropped;    /* lost to the full disk */
	struct meta_row *metas;  /* every meta row written, its last value */
	size_t nmetas;
};

/* db is a database store_create made; the writer thread owns it until
 * writer_finish. Reserves RESERVE space next to it for a full disk. */
int writer_start(struct writer *w, sqlite3 *db);
/* Blocks while the ring is full. */
void writer_send(struct writer *w, const struct prof_event *ev);
/* Drains the ring, flushes everything and stops the thread. Returns 0 or -1
 * (a database error, reported; or a full disk: w->disk_full, w->kept and
 * w->dropped say what survived, for the caller to report). */
int writer_finish(struct writer *w);

#endif
