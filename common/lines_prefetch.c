#include "prof/lines_prefetch.h"
#include "prof/elf_file.h"
#include "prof/lines.h"
#include "prof/log.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

struct prefetched {
	char *path;
	char build_id[41];
	struct line_table *lt;
	bool done, taken;
};

struct lines_prefetch {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;   /* a file was added, one was opened, or stop */
	struct prefetched *v;
	size_t n, cap, next;      /* next: the first file not opened yet */
	bool stopping;
};

static void open_one(struct prefetched *p, const char *path)
{
	struct elf_file *ef = elf_file_open(path);
	if (!ef)
		return;
	memcpy(p->build_id, ef->build_id, sizeof p->build_id);
	p->lt = lines_open(ef);
	elf_file_close(ef);
}

static void *prefetch_main(void *arg)
{
	struct lines_prefetch *lp = arg;
	pthread_mutex_lock(&lp->lock);
	for (;;) {
		while (!lp->stopping && lp->next == lp->n)
			pthread_cond_wait(&lp->changed, &lp->lock);
		if (lp->stopping)
			break;
		size_t i = lp->next++;
		char *path = lp->v[i].path; /* never freed before the thread ends */
		struct prefetched got = { 0 };
		pthread_mutex_unlock(&lp->lock);
		open_one(&got, path);
		pthread_mutex_lock(&lp->lock);
		memcpy(lp->v[i].build_id, got.build_id, sizeof got.build_id);
		lp->v[i].lt = got.lt;
		lp->v[i].done = true;
		pthread_cond_broadcast(&lp->changed);
	}
	pthread_mutex_unlock(&lp->lock);
	return NULL;
}

struct lines_prefetch *lines_prefetch_start(void)
{
	struct lines_prefetch *lp = xcalloc(1, sizeof *lp);
	pthread_mutex_init(&lp->lock, NULL);
	pthread_cond_init(&lp->changed, NULL);
	int rc = start_helper_thread(&lp->thread, prefetch_main, lp);
	if (rc != 0) {
		log_debug("line tables are not opened ahead: %s", strerror(rc));
		pthread_mutex_destroy(&lp->lock);
		pthread_cond_destroy(&lp->changed);
		free(lp);
		return NULL;
	}
	return lp;
}

pthread_t lines_prefetch_thread(const struct lines_prefetch *lp)
{
	return lp->thread;
}

static struct prefetched *find(struct lines_prefetch *lp, const char *path)
{
	for (size_t i = 0; i < lp->n; i++)
		if (strcmp(lp->v[i].path, path) == 0)
			return &lp->v[i];
	return NULL;
}

void lines_prefetch_add(struct lines_prefetch *lp, const char *path)
{
	if (!lp || path[0] != '/')
		return;
	pthread_mutex_lock(&lp->lock);
	if (!find(lp, path)) {
		if (lp->n == lp->cap) {
			lp->cap = lp->cap ? 2 * lp->cap : 16;
			lp->v = xrealloc(lp->v, lp->cap * sizeof *lp->v);
		}
		lp->v[lp->n++] = (struct prefetched){ .path = xstrdup(path) };
		pthread_cond_broadcast(&lp->changed);
	}
	pthread_mutex_unlock(&lp->lock);
}

struct line_table *lines_prefetch_take(struct lines_prefetch *lp, const char *path,
				       const char *build_id)
{
	if (!lp)
		return NULL;
	struct line_table *lt = NULL;
	pthread_mutex_lock(&lp->lock);
	struct prefetched *p = find(lp, path);
	while (p && !p->done && !lp->stopping) {
		pthread_cond_wait(&lp->changed, &lp->lock);
		p = find(lp, path); /* (v may have moved) */
	}
	/* Only a table is an answer: a file without one here may have failed
	 * to open for a reason of the moment (out of descriptors: every mapped
	 * file is opened here, not only those that ran). */
	if (p && p->done && p->lt && !p->taken && strcmp(p->build_id, build_id) == 0) {
		lt = p->lt;
		p->lt = NULL;
		p->taken = true;
	}
	pthread_mutex_unlock(&lp->lock);
	return lt;
}

void lines_prefetch_stop(struct lines_prefetch *lp)
{
	if (!lp)
		return;
	pthread_mutex_lock(&lp->lock);
	lp->stopping = true;
	pthread_cond_broadcast(&lp->changed);
	pthread_mutex_unlock(&lp->lock);
	pthread_join(lp->thread, NULL);
	for (size_t i = 0; i < lp->n; i++) {
		lines_close(lp->v[i].lt);
		free(lp->v[i].path);
	}
	free(lp->v);
	pthread_mutex_destroy(&lp->lock);
	pthread_cond_destroy(&lp->changed);
	free(lp);
}
