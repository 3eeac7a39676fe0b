/* --collect FUNC in cache mode. A translation's counter says how often it
 * ran, not whether FUNC was on the thread's stack meanwhile, so every
 * change of that stops the thread, where prof reads the counters (all of
 * them ran as things stood) before it replays the calls and returns that
 * change it:
 *   - FUNC's entries (its symbol, its PLT stubs) are never translated: a
 *     call into FUNC stops there;
 *   - the return address of every call into FUNC is kept out of the lookup
 *     tables: the return stops at the lookup's miss.
 * Between those stops the counts go where block mode's would. Everything
 * else runs from the cache as usual; a program without FUNC pays nothing. */
#include "block.h"
#include "cache.h"
#include "collect.h"
#include "tracer.h"

bool cache_collect_untranslated(struct tracer *tr, struct tracee *t, uint64_t pc)
{
	return tr->opt.collect && collect_is_entry(&t->proc->collect, pc);
}

void cache_collect_call(struct tracer *tr, struct tracee *t, uint64_t ret_addr)
{
	struct cache *c = t->proc->as ? t->proc->as->cache : NULL;
	if (c && ret_addr)
		cache_unlist(c, ret_addr);
	(void)tr;
}
