#include "tracer.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

void decode_cache_clear(struct decode_cache *c)
{
	u64_table_clear(&c->index);
	free(c->vals);
	memset(c, 0, sizeof *c);
}

const struct insn_info *decode_cache_get(const struct decode_cache *c, uint64_t pc)
{
	uint64_t i;
	return u64_table_get(&c->index, pc, &i) ? &c->vals[i] : NULL;
}

void decode_cache_put(struct decode_cache *c, uint64_t pc, const struct insn_info *info)
{
	uint64_t i;
	if (u64_table_get(&c->index, pc, &i)) {
		c->vals[i] = *info;
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4096;
		c->vals = xrealloc(c->vals, c->cap * sizeof *c->vals);
	}
	c->vals[c->n] = *info;
	u64_table_put(&c->index, pc, c->n++);
}
