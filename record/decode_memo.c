#include "decode_memo.h"
#include "translate.h"
#include "prof/u64_table.h"
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
	struct u64_table index;   /* hash of the first bytes -> entry */
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
	u64_table_clear(&m->index);
	free(m);
}

static uint64_t key_of(const uint8_t *code, size_t avail)
{
	uint64_t k = 0;
	memcpy(&k, code, avail < KEY_BYTES ? avail : KEY_BYTES);
	return hash_pair(k, avail < KEY_BYTES ? avail : KEY_BYTES);
}

struct probe {
	const struct decode_memo *m;
	const struct scanned *s;
};

static bool same_bytes(uint64_t val, const void *ctx)
{
	const struct probe *p = ctx;
	const struct memo_entry *e = &p->m->v[val];
	return e->len <= p->s->avail && memcmp(e->code, p->s->code, e->len) == 0;
}

bool decode_memo_find(struct decode_memo *m, struct scanned *s)
{
	struct probe p = { m, s };
	uint64_t i;
	if (!m || !u64_table_find_same(&m->index, key_of(s->code, s->avail), same_bytes, &p, &i)) {
		if (m)
			m->misses++;
		return false;
	}
	const struct memo_entry *e = &m->v[i];
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

void decode_memo_add(struct decode_memo *m, const struct scanned *s)
{
	size_t len = s->info.len;
	if (!m || m->n >= m->max || len > sizeof m->v->code || len > s->avail)
		return;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 4096;
		m->v = xrealloc(m->v, m->cap * sizeof *m->v);
	}
	struct memo_entry *e = &m->v[m->n];
	memset(e, 0, sizeof *e);
	memcpy(e->code, s->code, len);
	e->len = (uint8_t)len;
	e->info = s->info;
	e->enc = s->enc;
	static const struct branch none;
	if (memcmp(&s->br, &none, sizeof none) != 0) { /* (decoders leave it all zero elsewhere) */
		if (m->nbranches == m->branches_cap) {
			m->branches_cap = m->branches_cap ? 2 * m->branches_cap : 1024;
			m->branches = xrealloc(m->branches, m->branches_cap * sizeof *m->branches);
		}
		struct branch *b = &m->branches[m->nbranches++];
		*b = s->br;
		if (b->to.direct)
			b->to.target -= s->pc;
		e->br = (uint32_t)m->nbranches;
	}
	u64_table_add(&m->index, key_of(s->code, s->avail), m->n++);
}

void decode_memo_stats(const struct decode_memo *m, size_t *hits, size_t *misses)
{
	*hits = m ? m->hits : 0;
	*misses = m ? m->misses : 0;
}
