#include "code_seen.h"
#include "tracer.h"
#include "prof/u64_table.h"
#include "prof/util.h"

#include <string.h>

struct seen_insn {
	uint64_t pc;
	uint32_t gen;
	uint8_t len;
	uint8_t bytes[15];
};

struct code_seen {
	struct u64_table index;    /* hash of (gen, pc) -> index in v */
	struct seen_insn *v;
	size_t n, cap;
};

static uint64_t key_hash(uint32_t gen, uint64_t pc)
{
	uint64_t h = (pc ^ (uint64_t)gen << 47) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

struct find {
	const struct seen_insn *v;
	uint32_t gen;
	uint64_t pc;
};

static bool same_insn(uint64_t i, const void *ctx)
{
	const struct find *f = ctx;
	return f->v[i].pc == f->pc && f->v[i].gen == f->gen;
}

void code_seen_add(struct tracer *tr, struct proc *p, uint32_t gen, uint64_t pc,
		   const uint8_t *bytes, size_t len)
{
	if (!len || len > 15 || !p->id)
		return;
	if (!p->seen)
		p->seen = xcalloc(1, sizeof *p->seen);
	struct code_seen *s = p->seen;
	struct find f = { s->v, gen, pc };
	uint64_t h = key_hash(gen, pc), i;
	if (u64_table_find_same(&s->index, h, same_insn, &f, &i) || !tracer_take_code_budget(tr, len))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	struct seen_insn *e = &s->v[s->n];
	*e = (struct seen_insn){ .pc = pc, .gen = gen, .len = (uint8_t)len };
	memcpy(e->bytes, bytes, len);
	u64_table_add(&s->index, h, s->n++);
}

static int cmp_insn(const void *a, const void *b)
{
	const struct seen_insn *x = a, *y = b;
	if (x->gen != y->gen)
		return x->gen < y->gen ? -1 : 1;
	return x->pc < y->pc ? -1 : x->pc > y->pc;
}

static void emit_run(struct tracer *tr, struct proc *p, const struct seen_insn *from, size_t n)
{
	uint64_t len = from[n - 1].pc + from[n - 1].len - from[0].pc;
	struct prof_event ev = { .kind = EV_CODE_SEEN };
	ev.code_seen.proc = p->id;
	ev.code_seen.gen = from[0].gen;
	ev.code_seen.start = from[0].pc;
	ev.code_seen.len = (uint32_t)len;
	ev.code_seen.bytes = xmalloc(len);
	for (size_t i = 0; i < n; i++)
		memcpy(ev.code_seen.bytes + (from[i].pc - from[0].pc), from[i].bytes, from[i].len);
	tracer_emit(tr, &ev);
}

void code_seen_flush(struct tracer *tr, struct proc *p)
{
	struct code_seen *s = p->seen;
	if (!s)
		return;
	sort_array(s->v, s->n, sizeof *s->v, cmp_insn);
	/* Runs of instructions that follow each other without a gap or overlap
	 * (an overlap would be another decoding of the same bytes). */
	for (size_t i = 0, start = 0; i < s->n; i++) {
		bool ends = i + 1 == s->n || s->v[i + 1].gen != s->v[i].gen ||
			    s->v[i + 1].pc != s->v[i].pc + s->v[i].len || i + 1 - start >= 65536;
		if (ends) {
			emit_run(tr, p, &s->v[start], i + 1 - start);
			start = i + 1;
		}
	}
	u64_table_clear(&s->index);
	free(s->v);
	free(s);
	p->seen = NULL;
}
