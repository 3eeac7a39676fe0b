/* Memory mappings: parsing /proc/PID/maps and resolving addresses in them. */
#ifndef PROF_MAPS_H
#define PROF_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAP_PROT_R 4
#define MAP_PROT_W 2
#define MAP_PROT_X 1
#define MAP_PROT_SHARED 8 /* MAP_SHARED (an 's' in the maps file) */

struct map_entry {
	uint64_t start, end, pgoff;
	uint32_t prot;     /* MAP_PROT_* */
	char *path;        /* "" for anonymous, "[vdso]", "[stack]", ... */
};

struct map_list {
	struct map_entry *v;
	size_t n, cap;
};

/* Reads the executable mappings of pid. Returns 0 or -errno. */
int maps_read_exec(pid_t pid, struct map_list *out);
/* Reads every mapping of pid. Returns 0 or -errno. */
int maps_read_all(pid_t pid, struct map_list *out);
void maps_add(struct map_list *l, uint64_t start, uint64_t end, uint64_t pgoff,
	      uint32_t prot, const char *path);
void maps_free(struct map_list *l);
/* Sorts by start so maps_find can search. */
void maps_sort(struct map_list *l);
const struct map_entry *maps_find(const struct map_list *l, uint64_t addr);
/* True when both lists hold the same mappings in the same order. */
bool maps_equal(const struct map_list *a, const struct map_list *b);

#endif
