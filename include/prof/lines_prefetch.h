/* Line tables opened ahead, in a thread of their own: libdw inflates every
 * compressed DWARF section of a file when it opens it (about 40 ms for
 * libc's separate debug file), and names_write needs them only at the end
 * of a recording. Files are handed in as the program maps them; the thread
 * opens them while the program runs, on another CPU. */
#ifndef PROF_LINES_PREFETCH_H
#define PROF_LINES_PREFETCH_H

#include <pthread.h>
#include <stdbool.h>

struct line_table;
struct lines_prefetch;

/* NULL (and a debug line) when the thread cannot start: lines are then
 * opened where they are needed, as without it. */
struct lines_prefetch *lines_prefetch_start(void);
pthread_t lines_prefetch_thread(const struct lines_prefetch *lp);
/* The file at path will be asked for (once per path; later calls do nothing). */
void lines_prefetch_add(struct lines_prefetch *lp, const char *path);
/* The line table opened for path (waiting until it is), if the file opened
 * then had build id build_id (hex, "" for none); the caller owns it. NULL
 * when path was not handed in, the file opened had another build id or no
 * table was opened: the caller opens it itself then. */
struct line_table *lines_prefetch_take(struct lines_prefetch *lp, const char *path,
				       const char *build_id);
/* Stops the thread (files not yet opened are left) and frees what was not taken. */
void lines_prefetch_stop(struct lines_prefetch *lp);

#endif
