#include "prof/maps.h"
#include "prof/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void maps_add(struct map_list *l, uint64_t start, uint64_t end, uint64_t pgoff,
	      uint32_t prot, const char *path)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = (struct map_entry){ start, end, pgoff, prot, xstrdup(path) };
}

void maps_free(struct map_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static uint32_t parse_prot(const char *perms)
{
	return (perms[0] == 'r' ? MAP_PROT_R : 0) | (perms[1] == 'w' ? MAP_PROT_W : 0) |
	       (perms[2] == 'x' ? MAP_PROT_X : 0) | (perms[3] == 's' ? MAP_PROT_SHARED : 0);
}

static int maps_read(pid_t pid, bool exec_only, struct map_list *out)
{
	char name[64];
	snprintf(name, sizeof name, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(name, "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		uint64_t start, end, pgoff;
		char perms[8];
		int path_at = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %n",
			   &start, &end, perms, &pgoff, &path_at) < 4)
			continue;
		if (exec_only && perms[2] != 'x')
			continue;
		const char *path = "";
		if (path_at) { /* anonymous mappings have none */
			line[path_at + strcspn(line + path_at, "\n")] = '\0';
			path = line + path_at;
		}
		maps_add(out, start, end, pgoff, parse_prot(perms), path);
	}
	free(line);
	fclose(f);
	return 0;
}

int maps_read_exec(pid_t pid, struct map_list *out)
{
	return maps_read(pid, true, out);
}

int maps_read_all(pid_t pid, struct map_list *out)
{
	return maps_read(pid, false, out);
}

static int cmp_start(const void *a, const void *b)
{
	const struct map_entry *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

void maps_sort(struct map_list *l)
{
	sort_array(l->v, l->n, sizeof *l->v, cmp_start);
}

const struct map_entry *maps_find(const struct map_list *l, uint64_t addr)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < l->v[mid].start)
			hi = mid;
		else if (addr >= l->v[mid].end)
			lo = mid + 1;
		else
			return &l->v[mid];
	}
	return NULL;
}

bool maps_equal(const struct map_list *a, const struct map_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct map_entry *x = &a->v[i], *y = &b->v[i];
		if (x->start != y->start || x->end != y->end || x->pgoff != y->pgoff ||
		    x->prot != y->prot || strcmp(x->path, y->path) != 0)
			return false;
	}
	return true;
}
