/* Blocks that earlier processes of a recording ran, by file: a later
 * process mapping the same file (cc1 once per source file, git once per
 * command) gets them all translated at its first stop in that file's
 * code, instead of a stop for each few blocks' first run. Only the file's
 * identity and offsets are kept: the code is read and translated afresh
 * from the new process's memory, so a block that turns out different, or
 * never runs, costs only its translation. */
#ifndef PROF_WARM_START_H
#define PROF_WARM_START_H

#include "prof/u64_table.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What is known of a block (bits). */
enum {
	WARM_RAN = 1,           /* it ran: only such blocks are translated again */
	WARM_LISTED_OWN = 2,    /* in its own region's lookup table: a return site */
	WARM_LISTED_ALL = 4,    /* in every region's: an indirect branch missed it */
};

struct warm_block {
	uint64_t offset;        /* in the file */
	uint8_t listed;         /* its WARM_LISTED_* bits */
};

struct warm_start;

struct warm_start *warm_start_new(void);
void warm_start_free(struct warm_start *w);
/* The file at path by its identity (device, inode, size, modification
 * time: a file rebuilt since is another), numbered from 0; -1 when path is
 * not a regular file. */
int warm_start_file(struct warm_start *w, const char *path);
/* Adds what (WARM_* bits) to what is known of the block at offset. */
void warm_start_learn(struct warm_start *w, int file, uint64_t offset, uint8_t what);
/* The file's blocks that ran, at offsets in [lo, hi), in the order of
 * their offsets (malloc'd; NULL and *n 0 when none). */
struct warm_block *warm_start_blocks(const struct warm_start *w, int file, uint64_t lo,
				     uint64_t hi, size_t *n);
/* Blocks known to have run, in all files (PROF_DEBUG). */
size_t warm_start_size(const struct warm_start *w);

#endif
