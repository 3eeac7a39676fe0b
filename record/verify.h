/* prof record --verify: two recordings of the same run compared. */
#ifndef PROF_VERIFY_H
#define PROF_VERIFY_H

#include <stdbool.h>

#define VERIFY_MISMATCH_EXIT 3

/* Compares per-instruction counts of two recordings; returns 0 when equal,
 * -1 (after printing the differences) when not. */
int verify_compare(const char *block_db, const char *step_db, const char *mode, bool quiet);

#endif
