#include "warm_start.h"
#include "prof/util.h"

#include <stdlib.h>
#include <sys/stat.h>


struct warm_file {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct u64_table blocks; /* offset -> WARM_* bits */
};

struct warm_start {
	struct warm_file *v;
	size_t n, cap;
};

struct warm_start *warm_start_new(void)
{
	return xcalloc(1, sizeof(struct warm_start));
}

void warm_start_free(struct warm_start *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		u64_table_clear(&w->v[i].blocks);
	free(w->v);
	free(w);
}

static bool same_file(const struct warm_file *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
	       f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int warm_start_file(struct warm_start *w, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	for (size_t i = 0; i < w->n; i++)
		if (same_file(&w->v[i], &st))
			return (int)i;
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		w->v = xrealloc(w->v, w->cap * sizeof *w->v);
	}
	w->v[w->n] = (struct warm_file){ .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
					 .mtime = st.st_mtim };
	return (int)w->n++;
}

void warm_start_learn(struct warm_start *w, int file, uint64_t offset, uint8_t what)
{
	if (file < 0 || (size_t)file >= w->n)
		return;
	*u64_table_slot(&w->v[file].blocks, offset, NULL) |= what;
}

struct range {
	uint64_t lo, hi;
	struct warm_block *v;
	size_t n;
};

static void take_in_range(uint64_t offset, uint64_t val, void *ctx)
{
	struct range *r = ctx;
	if ((val & WARM_RAN) && offset >= r->lo && offset < r->hi)
		r->v[r->n++] = (struct warm_block){ offset, (uint8_t)(val & ~WARM_RAN) };
}

static int by_offset(const void *a, const void *b)
{
	uint64_t x = ((const struct warm_block *)a)->offset, y = ((const struct warm_block *)b)->offset;
	return x < y ? -1 : x > y;
}

struct warm_block *warm_start_blocks(const struct warm_start *w, int file, uint64_t lo,
				     uint64_t hi, size_t *n)
{
	*n = 0;
	if (file < 0 || (size_t)file >= w->n || !w->v[file].blocks.n)
		return NULL;
	struct range r = { lo, hi, xmalloc(w->v[file].blocks.n * sizeof *r.v), 0 };
	u64_table_each(&w->v[file].blocks, take_in_range, &r);
	qsort(r.v, r.n, sizeof *r.v, by_offset);
	*n = r.n;
	if (!r.n) {
		free(r.v);
		return NULL;
	}
	return r.v;
}

static void count_ran(uint64_t offset, uint64_t val, void *ctx)
{
	(void)offset;
	*(size_t *)ctx += val & WARM_RAN;
}

size_t warm_start_size(const struct warm_start *w)
{
	size_t n = 0;
	for (size_t i = 0; w && i < w->n; i++)
		u64_table_each(&w->v[i].blocks, count_ran, &n);
	return n;
}
