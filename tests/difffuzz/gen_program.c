/* A generated program: items in groups, and their layout into bytes. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *grow(void *v, size_t elem, size_t *cap, size_t need)
{
	if (need <= *cap)
		return v;
	*cap = need * 2 + 16;
	v = realloc(v, *cap * elem);
	if (!v) {
		fprintf(stderr, "difffuzz_gen: out of memory\n");
		exit(1);
	}
	return v;
}

void program_init(struct program *p)
{
	memset(p, 0, sizeof *p);
	program_group(p, -1, "root");
}

void program_free(struct program *p)
{
	free(p->v);
	free(p->groups);
	free(p->label_addr);
}

int program_group(struct program *p, int parent, const char *what)
{
	size_t cap = (size_t)p->groups_cap;
	p->groups = grow(p->groups, sizeof *p->groups, &cap, (size_t)p->ngroups + 1);
	p->groups_cap = (int)cap;
	p->groups[p->ngroups] = (struct group){ parent, what };
	return p->ngroups++;
}

int program_label(struct program *p)
{
	return p->nlabels++;
}

static struct item *append(struct program *p, enum item_kind kind, int group)
{
	p->v = grow(p->v, sizeof *p->v, &p->cap, p->n + 1);
	struct item *it = &p->v[p->n++];
	memset(it, 0, sizeof *it);
	it->kind = (uint8_t)kind;
	it->group = group;
	it->label = -1;
	return it;
}

void program_place(struct program *p, int group, int label)
{
	append(p, IT_LABEL, group)->label = label;
}

void program_table(struct program *p, int group, uint32_t slot, int label)
{
	struct item *it = append(p, IT_TABLE, group);
	it->label = label;
	it->table_slot = slot;
}

/* Encodes it at addr with its label at target; Zydis takes absolute
 * addresses and works out the relative fields. */
static bool encode_at(struct item *it, uint64_t addr, uint64_t target)
{
	ZydisEncoderRequest r = it->req;
	if (it->label_use == LU_BRANCH || it->label_use == LU_IMM)
		r.operands[it->label_op].imm.u = target;
	else if (it->label_use == LU_RIP)
		r.operands[it->label_op].mem.displacement = (ZyanI64)target;
	ZyanUSize len = sizeof it->bytes;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(&r, it->bytes, &len, addr)))
		return false;
	it->len = (uint8_t)len;
	return true;
}

/* Encodable at all? Checked where the code will be (a label nearby). */
bool program_insn(struct program *p, int group, const ZydisEncoderRequest *req, int label,
		  enum label_use use, int op)
{
	struct item probe;
	memset(&probe, 0, sizeof probe);
	probe.req = *req;
	probe.req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	probe.label_use = (uint8_t)use;
	probe.label_op = (uint8_t)op;
	if (!encode_at(&probe, p->base, p->base))
		return false;
	struct item *it = append(p, IT_INSN, group);
	*it = probe;
	it->group = group;
	it->label = label;
	return true;
}

bool group_dropped(const struct program *p, int group, const bool *drop)
{
	for (; drop && group >= 0; group = p->groups[group].parent)
		if (drop[group])
			return true;
	return false;
}

static bool is_short_jump(const ZydisEncoderRequest *r)
{
	return r->branch_width == ZYDIS_BRANCH_WIDTH_8 && r->mnemonic != ZYDIS_MNEMONIC_LOOP &&
	       r->mnemonic != ZYDIS_MNEMONIC_LOOPE && r->mnemonic != ZYDIS_MNEMONIC_LOOPNE &&
	       r->mnemonic != ZYDIS_MNEMONIC_JRCXZ && r->mnemonic != ZYDIS_MNEMONIC_JECXZ;
}

/* Addresses from the current lengths; labels get theirs. */
static uint64_t assign(struct program *p, const bool *drop, uint64_t base)
{
	uint64_t at = base;
	for (size_t i = 0; i < p->n; i++) {
		struct item *it = &p->v[i];
		if (group_dropped(p, it->group, drop))
			continue;
		it->addr = at;
		if (it->kind == IT_LABEL)
			p->label_addr[it->label] = at;
		else if (it->kind == IT_INSN)
			at += it->len;
	}
	return at - base;
}

/* Encodes every kept instruction at its address; a short jump that does not
 * reach becomes a near one. Returns -1 on failure, else whether a length
 * changed. */
static int encode_all(struct program *p, const bool *drop)
{
	int changed = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct item *it = &p->v[i];
		if (it->kind != IT_INSN || group_dropped(p, it->group, drop))
			continue;
		uint64_t target = 0;
		if (it->label >= 0) {
			target = p->label_addr[it->label];
			if (target == UINT64_MAX)
				return -1;
		}
		uint8_t len = it->len;
		if (!encode_at(it, it->addr, target)) {
			if (it->label_use != LU_BRANCH || !is_short_jump(&it->req))
				return -1;
			it->req.branch_width = ZYDIS_BRANCH_WIDTH_32;
			changed = 1;
			continue;
		}
		changed |= it->len != len;
	}
	return changed;
}

size_t program_layout(struct program *p, const bool *drop, uint64_t base, uint8_t *code,
		      size_t cap, uint8_t *table)
{
	free(p->label_addr);
	p->label_addr = malloc((p->nlabels + 1) * sizeof *p->label_addr);
	for (int i = 0; i < p->nlabels; i++)
		p->label_addr[i] = UINT64_MAX;
	size_t size = 0;
	int changed = 1;
	for (int round = 0; changed && round < 20; round++) {
		size = assign(p, drop, base);
		changed = encode_all(p, drop);
		if (changed < 0)
			return 0;
	}
	if (changed || size > cap)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct item *it = &p->v[i];
		if (group_dropped(p, it->group, drop))
			continue;
		if (it->kind == IT_INSN)
			memcpy(code + (it->addr - base), it->bytes, it->len);
		if (it->kind == IT_TABLE) {
			uint64_t a = p->label_addr[it->label];
			if (a == UINT64_MAX)
				return 0;
			memcpy(table + 8 * it->table_slot, &a, 8);
		}
	}
	return size;
}
