/* prof record --collect FUNC: instructions count only while FUNC is on the
 * thread's call stack (entered by a call, directly or through its PLT stub),
 * as callgrind's --toggle-collect. */
#ifndef PROF_COLLECT_H
#define PROF_COLLECT_H

#include "prof/maps.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where FUNC starts in one process image: its runtime entry addresses (and
 * those of its FUNC@plt stubs), from the ELF files of the mappings. */
struct collect_targets {
	uint64_t *addrs;
	size_t n;
};

/* Re-reads the entry addresses of func in the executable mappings. */
void collect_resolve(const char *func, const struct map_list *maps, struct collect_targets *ct);
bool collect_is_entry(const struct collect_targets *ct, uint64_t addr);
void collect_free(struct collect_targets *ct);

#endif
