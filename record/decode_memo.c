#include "decode_memo.h"
#include "translate.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

/* An entry's first bytes are its key: an instruction of up to 8 bytes is
 * found by them alone, a longer one among those sharing them (movabs with
 * different immediates) by comparing the rest. */
#define KEY_BYTES 8

struct memo_entry {
	uint8_t code[15];
	uint8_t len;
	struct insn_info info;
	struct insn_encoding enc;
	uint32_t br;            /* control transfers: 1 + its index in branches (0: none) */
};

struct decode_memo {
	struct memo_entry *v;
	size_t n, cap, max;
	/* A direct target as the distance from the instruction. Apart: one
	 * instruction in six or so is a control transfer, and entries stay
	 * small (about 50 bytes; one lookup touches one). */
	struct branch *branches;
	size_t nbranches, branches_cap;
	/* Open addressing, linear probing: a slot is the high 32 bits of the
	 * key's hash over 1 + the entry's index (0: empty), so that a probe
	 * reads one array and touches an entry only when its hash matches. */
	uint64_t *slots;
	size_t nslots;
	size_t hits, misses;
};

struct decode_memo *decode_memo_new(size_t max_entries)
{
	struct decode_memo *m = xcalloc(1, sizeof *m);
	m->max = max_entries;
	return m;
}

void decode_memo_free(struct decode_memo *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->branches);
	free(m->slots);
	free(m);
}

static uint32_t tag_of(const uint8_t *code, size_t avail)
{
	uint64_t k = 0;
	memcpy(&k, code, avail < KEY_BYTES ? avail : KEY_BYTES);
	return (uint32_t)(hash_pair(k, avail < KEY_BYTES ? avail : KEY_BYTES) >> 32);
}

static size_t home(const struct decode_memo *m, uint32_t tag)
{
	return tag & (m->nslots - 1);
}

bool decode_memo_find(struct decode_memo *m, struct scanned *s)
{
	if (!m)
		return false;
	uint32_t tag = tag_of(s->code, s->avail);
	for (size_t h = home(m, tag); m->nslots && m->slots[h]; h = (h + 1) & (m->nslots - 1)) {
		if (m->slots[h] >> 32 != tag)
			continue;
		const struct memo_entry *e = &m->v[(uint32_t)m->slots[h] - 1];
		if (e->len > s->avail || memcmp(e->code, s->code, e->len) != 0)
			continue;
		s->info = e->info;
		s->enc = e->enc;
		if (e->br) {
			s->br = m->branches[e->br - 1];
			if (s->br.to.direct)
				s->br.to.target += s->pc;
		}
		m->hits++;
		return true;
	}
	m->misses++;
	return false;
}

static void put_slot(struct decode_memo *m, uint64_t slot)
{
	size_t h = home(m, (uint32_t)(slot >> 32));
	while (m->slots[h])
		h = (h + 1) & (m->nslots - 1);
	m->slots[h] = slot;
}

/* Room for one more entry with the slots at most 3/4 full. */
static void reserve_slot(struct decode_memo *m)
{
	if ((m->n + 1) * 4 <= m->nslots * 3)
		return;
	uint64_t *old = m->slots;
	size_t nold = m->nslots;
	m->nslots = nold ? 2 * nold : 4096;
	m->slots = xcalloc(m->nslots, sizeof *m->slots);
	for (size_t i = 0; i < nold; i++)
		if (old[i])
			put_slot(m, old[i]);
	free(old);
}

static uint32_t add_branch(struct decode_memo *m, const struct scanned *s)
{
	static const struct branch none;
	if (memcmp(&s->br, &none, sizeof none) == 0) /* (decoders leave it all zero elsewhere) */
		return 0;
	if (m->nbranches == m->branches_cap) {
		m->branches_cap = m->branches_cap ? 2 * m->branches_cap : 1024;
		m->branches = xrealloc(m->branches, m->branches_cap * sizeof *m->branches);
	}
	struct branch *b = &m->branches[m->nbranches++];
	*b = s->br;
	if (b->to.direct)
		b->to.target -= s->pc;
	return (uint32_t)m->nbranches;
}

void decode_memo_add(struct decode_memo *m, const struct scanned *s)
{
	size_t len = s->info.len;
	if (!m || m->n >= m->max || m->n >= UINT32_MAX - 1 || len > sizeof m->v->code ||
	    len > s->avail)
		return;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 4096;
		m->v = xrealloc(m->v, m->cap * sizeof *m->v);
	}
	reserve_slot(m);
	struct memo_entry *e = &m->v[m->n];
	memset(e, 0, sizeof *e);
	memcpy(e->code, s->code, len);
	e->len = (uint8_t)len;
	e->info = s->info;
	e->enc = s->enc;
	e->br = add_branch(m, s);
	put_slot(m, (uint64_t)tag_of(s->code, s->avail) << 32 | (uint64_t)(m->n + 1));
	m->n++;
}

void decode_memo_stats(const struct decode_memo *m, size_t *hits, size_t *misses)
{
	*hits = m ? m->hits : 0;
	*misses = m ? m->misses : 0;
}
