/* What the program reads of a maps file (/proc/PID/maps, smaps, numa_maps,
 * and the same under task/TID) of a process prof traces: the file as the
 * kernel writes it, less the mappings prof put there (scratch page, code
 * regions, data areas), so that a program reading its own layout (gnulib's
 * c-stack, libsigsegv, a JIT looking for room) sees what it would natively.
 *
 * The read itself runs with nothing to read (its count set to 0); when it
 * returns, prof writes the filtered file from the position read at, and
 * moves the descriptor's position on through a copy of it (pidfd_getfd):
 * positions are the filtered file's, so reads, preads and lseeks agree; a
 * read from position 0 takes the file anew.
 * What other calls take from these files (sendfile, splice,
 * copy_file_range, smaps_rollup's sums) still shows prof: see README. */
#ifndef PROF_MAPS_VIEW_H
#define PROF_MAPS_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tracer;
struct tracee;
struct vm_range;

/* A read of a maps file in flight (tracee.maps_read). */
struct maps_read {
	int fd;                 /* prof's copy of the descriptor; -1: none in flight */
	pid_t of;               /* the process it describes */
	char path[64];          /* the file, as the descriptor names it */
	uint64_t count;         /* the argument set to 0, as the program passed it */
};

/* The filtered file a process last read (tracer.h's proc.maps_snap): read
 * on from where it stopped, the file stays the one the first read saw, as
 * the kernel's own does (it goes on from the entry after the last one
 * read, where offsets in a file written anew would not). */
struct maps_snapshot {
	int fd;                 /* prof's copy of the descriptor it was read through */
	char *text;
	size_t len;
};

void maps_read_init(struct maps_read *m);
void maps_snapshot_free(struct maps_snapshot *s);
/* Thread t, stopped before syscall nr, is about to read: a read of a maps
 * file of a traced process holding prof's mappings is taken over. */
void maps_view_syscall_entry(struct tracer *tr, struct tracee *t, long nr, const uint64_t args[6]);
/* The syscall returned ret (returned false: it never will): a read taken
 * over gets the filtered file; returns what the program sees as the result. */
int64_t maps_view_syscall_exit(struct tracer *tr, struct tracee *t, bool returned, int64_t ret);

/* The text of the maps file called name ("maps", "smaps", "numa_maps"),
 * in place, less the entries of mappings inside one of the n ranges (an
 * smaps entry: its range's line and the field lines after it); returns
 * the new length. */
size_t maps_view_filter(char *text, size_t len, const char *name, const struct vm_range *v,
			size_t n);

#endif
