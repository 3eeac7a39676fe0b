#include "tracer.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(uint64_t pc, size_t cap)
{
	return (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

void decode_cache_clear(struct decode_cache *c)
{
	free(c->keys);
	free(c->vals);
	memset(c, 0, sizeof *c);
}

const struct insn_info *decode_cache_get(const struct decode_cache *c, uint64_t pc)
{
	if (!c->cap)
		return NULL;
	for (size_t h = slot_of(pc, c->cap); c->keys[h]; h = (h + 1) & (c->cap - 1))
		if (c->keys[h] == pc + 1)
			return &c->vals[h];
	return NULL;
}

static void grow(struct decode_cache *c)
{
	struct decode_cache bigger = { 0 };
	bigger.cap = c->cap ? c->cap * 2 : 4096;
	bigger.keys = xcalloc(bigger.cap, sizeof *bigger.keys);
	bigger.vals = xcalloc(bigger.cap, sizeof *bigger.vals);
	for (size_t i = 0; i < c->cap; i++)
		if (c->keys[i])
			decode_cache_put(&bigger, c->keys[i] - 1, &c->vals[i]);
	decode_cache_clear(c);
	*c = bigger;
}

void decode_cache_put(struct decode_cache *c, uint64_t pc, const struct insn_info *info)
{
	if ((c->n + 1) * 2 > c->cap)
		grow(c);
	size_t h = slot_of(pc, c->cap);
	while (c->keys[h] && c->keys[h] != pc + 1)
		h = (h + 1) & (c->cap - 1);
	if (!c->keys[h])
		c->n++;
	c->keys[h] = pc + 1;
	c->vals[h] = *info;
}
