/* Which jumps leave one function for another, decided at record time from
 * the ELF symbols of the files the program mapped: a tail call (a direct
 * jmp or jcc to another function's entry) and a PLT stub's jump to its
 * target. The shadow call stack gives the function jumped to an activation
 * of its own, in every mode alike, so inclusive counts hold through PLT
 * stubs and tail calls, recursion included. */
#ifndef PROF_FUNCMAP_H
#define PROF_FUNCMAP_H

#include "prof/branch.h"
#include "prof/maps.h"
#include "prof/u64_table.h"

#include <stdbool.h>
#include <stdint.h>

enum jump_exit {
	JUMP_STAYS,         /* within its function, or nothing known */
	JUMP_ENTERS,        /* to the entry of another function (br's direct target) */
	JUMP_ENTERS_ANY,    /* a stub's indirect jump: enters the function it lands on (funcmap_lands) */
};

struct funcmap;
struct funcmap *funcmap_new(void);
void funcmap_free(struct funcmap *fm);

/* One process image's answers, by jump site (forgotten when its code maps change). */
struct funcmap_cache {
	struct u64_table by_site;
	struct u64_table entries;   /* address -> 2 when a function starts there, 1 when not */
};
void funcmap_cache_clear(struct funcmap_cache *c);

/* How the jump at site (decoded as br: BR_JMP or BR_JCC), when taken,
 * leaves its function (a jcc whose target is its next instruction never does). */
enum jump_exit funcmap_jump(struct funcmap *fm, struct funcmap_cache *c, const struct map_list *maps,
			    uint64_t site, const struct branch *br);
/* The answer for site if known already (false: decode it and ask
 * funcmap_jump), with the direct target of a JUMP_ENTERS jump. */
bool funcmap_cached(const struct funcmap_cache *c, uint64_t site, enum jump_exit *how,
		    uint64_t *target);
/* A JUMP_ENTERS_ANY jump landed at target: whether a function starts there
 * (a lazy PLT stub's first jump lands inside the stub itself). */
bool funcmap_lands(struct funcmap *fm, struct funcmap_cache *c, const struct map_list *maps,
		   uint64_t target);

#endif
