/* The translator: a block of the program's code becomes a translation that
 * counts itself, its instructions copied (RIP-relative operands adjusted),
 * its control transfer rewritten into exits. See translate.h. */
#include "translate.h"
#include "decode_memo.h"
#include "cache.h"
#include "relocate.h"
#include "prof/util.h"

#include <stdlib.h>
#include <string.h>

struct trans *trans_copy(const struct trans *x)
{
	struct trans *y = xmalloc(sizeof *y);
	*y = *x;
	y->pc = xmalloc((x->n + 1) * sizeof *y->pc);
	memcpy(y->pc, x->pc, (x->n + 1) * sizeof *y->pc);
	y->cls = xmalloc(x->n + 1);
	memcpy(y->cls, x->cls, x->n + 1);
	y->off = xmalloc((x->n + 1) * sizeof *y->off);
	memcpy(y->off, x->off, (x->n + 1) * sizeof *y->off);
	return y;
}

void trans_free(struct trans *x)
{
	if (!x)
		return;
	free(x->pc);
	free(x->cls);
	free(x->off);
	free(x);
}

/* ---- scanning ---- */

bool translate_decode(const struct translate_source *src, uint64_t pc, struct scanned *s)
{
	memset(s, 0, sizeof *s);
	s->pc = pc;
	s->avail = src->read(src->ctx, pc, s->code);
	if (!s->avail)
		return false;
	bool known = decode_memo_find(src->memo, s);
	if (!known &&
	    !classifier_decode_branch(src->classifier, s->code, s->avail, pc, &s->info, &s->br))
		return false;
	if (src->saw)
		src->saw(src->ctx, pc, s->code, s->info.len);
	if (known)
		return true; /* only what decoded whole went into the memo */
	if (!s->info.len || !classifier_encoding(src->classifier, s->code, s->avail, pc, &s->enc) ||
	    s->enc.len != s->info.len)
		return false;
	decode_memo_add(src->memo, s);
	return true;
}

static bool is_transfer(const struct insn_info *i)
{
	return i->cls == CLASS_BRANCH || i->cls == CLASS_CALL || i->cls == CLASS_RET;
}

/* How an instruction ends a translation; -1: it is plain body, -2: it
 * cannot be translated (the translation stops before it). */
static int end_kind(const struct scanned *s)
{
	const struct branch *br = &s->br;
	if (s->info.is_rep)
		return TE_REP;
	if (s->info.cls == CLASS_SYSCALL)
		return s->info.is_syscall ? TE_SYSCALL : -2;
	if (!is_transfer(&s->info))
		return s->enc.rel_offset ? -2 : -1; /* xbegin and the like: relative, not a branch */
	switch (br->kind) {
	case BR_JCC:
		return br->to.direct ? TE_JCC : -2;
	case BR_JRCXZ:
	case BR_LOOP:
		return br->to.direct ? TE_SHORT_COND : -2;
	case BR_JMP:
		return br->to.direct ? TE_JMP : TE_IJMP;
	case BR_CALL:
		return br->to.direct ? TE_CALL : TE_ICALL;
	case BR_RET:
		return TE_RET;
	default:
		return -2;
	}
}

uint32_t translate_scan(const struct translate_source *src, uint64_t pc, struct scanned *s,
			int *kind, bool *gs)
{
	uint32_t n = 0;
	*gs = false;
	for (; n < MAX_TRANS_INSNS; n++) {
		if (!translate_decode(src, pc, &s[n]))
			break;
		if (s[n].enc.gs_prefix) {
			*gs = true;
			return 0;
		}
		if (src->refuses && src->refuses(src->ctx, &s[n]))
			break;
		int k = end_kind(&s[n]);
		if (k == -2 || (k == TE_REP && n > 0))
			break;
		pc += s[n].info.len;
		if (k >= 0) {
			*kind = k;
			return n + 1;
		}
	}
	*kind = TE_FALL;
	return n;
}

/* ---- flags liveness ---- */

/* Code read beyond a block: up to two runs of instructions. */
static void depend_on(uint64_t dep[2][2], uint64_t lo, uint64_t hi)
{
	for (int i = 0; i < 2; i++) {
		if (dep[i][1] == lo && dep[i][0] < dep[i][1]) {
			dep[i][1] = hi;
			return;
		}
		if (dep[i][0] >= dep[i][1]) {
			dep[i][0] = lo;
			dep[i][1] = hi;
			return;
		}
	}
	dep[1][1] = hi > dep[1][1] ? hi : dep[1][1]; /* not reached: at most one jump is followed */
	dep[1][0] = lo < dep[1][0] ? lo : dep[1][0];
}

/* Whether the status flags may be read at pc before being overwritten
 * (depth: how many direct jumps to follow); the code it reads goes into dep. */
static bool flags_live_at(const struct translate_source *src, uint64_t pc, int depth,
			  uint64_t dep[2][2])
{
	uint8_t written = 0;
	struct scanned s;
	for (int i = 0; i < 32; i++) {
		if (!translate_decode(src, pc, &s) || s.info.is_rep || (s.info.flags_read & ~written))
			return true;
		depend_on(dep, pc, pc + s.info.len);
		written |= s.info.flags_written;
		if (written == FLAGS_STATUS)
			return false;
		if (s.info.is_syscall) {
			pc += s.info.len; /* the kernel gives the flags back as they were */
			continue;
		}
		if (!is_transfer(&s.info) && s.info.cls != CLASS_SYSCALL) {
			pc += s.info.len;
			continue;
		}
		if (depth-- <= 0 || s.br.kind != BR_JMP || !s.br.to.direct)
			return true;
		pc = s.br.to.target;
	}
	return true;
}

/* Whether the counter update at the block's entry must save the flags. */
static bool block_flags_live(const struct translate_source *src, const struct scanned *s,
			     uint32_t n, int kind, uint64_t dep[2][2])
{
	uint8_t written = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (s[i].info.flags_read & ~written)
			return true;
		written |= s[i].info.flags_written;
		if (written == FLAGS_STATUS)
			return false;
	}
	uint64_t next = s[n - 1].pc + s[n - 1].info.len;
	switch (kind) {
	case TE_FALL:
	case TE_SYSCALL:
		return flags_live_at(src, next, 1, dep);
	case TE_JMP:
	case TE_CALL:
		return flags_live_at(src, s[n - 1].br.to.target, 1, dep);
	default:
		return true; /* the rest were decided inside the block or go who knows where */
	}
}

/* ---- writing ---- */

struct builder {
	struct translation *out;
	struct emit e;
	uint64_t lookup;        /* the region's lookup routine */
	enum jump_exit jump;    /* the terminator jumps into another function */
};

static void exit_to(struct builder *b, uint64_t target)
{
	b->out->ex[b->out->nex].target = target;
	b->out->ex[b->out->nex++].field = emit_jmp(&b->e, 0);
}

/* The two-way exit of jrcxz/loop (rel8 only): the original instruction
 * jumps over a short jump to the taken exit. */
static void short_cond(struct builder *b, const struct scanned *s)
{
	struct emit *e = &b->e;
	emit_bytes(e, s->code, s->info.len);
	size_t cond_end = e->n;
	static const uint8_t over[] = { 0xeb, 0x00 };
	emit_bytes(e, over, sizeof over);
	size_t over_end = e->n;
	exit_to(b, s->br.to.target);
	size_t fall = e->n;
	exit_to(b, s->pc + s->info.len);
	e->b[cond_end - 1] = (uint8_t)(over_end - cond_end);
	e->b[over_end - 1] = (uint8_t)(fall - over_end);
}

static void jump_to_lookup(struct builder *b)
{
	emit_jmp(&b->e, b->lookup);
}

/* A call's log entry carries its length: replay finds the return address. */
static uint64_t call_site(const struct scanned *s)
{
	return s->pc | (uint64_t)s->info.len << CACHE_LOG_LEN_SHIFT;
}

/* A jump into another function is logged as such: the call graph gives
 * the function an activation of its own (funcmap.h). */
static void log_jump(struct emit *e, uint64_t site, uint64_t target, bool target_in_tmp)
{
	emit_gs_store(e, R_RAX, CD_TMP_RAX);
	emit_log_call(e, site | CACHE_LOG_JUMP, target, target_in_tmp);
	emit_gs_load(e, R_RAX, CD_TMP_RAX);
}

/* jcc to a function's entry: only the taken way logs the jump. */
static void jcc_into_function(struct builder *b, const struct scanned *s)
{
	struct emit *e = &b->e;
	uint64_t field = emit_jcc(e, s->br.cond, 0);
	exit_to(b, s->pc + s->info.len);
	uint32_t rel = (uint32_t)(int32_t)(int64_t)(emit_here(e) - (field + 4));
	memcpy(e->b + (field - e->base), &rel, 4);
	log_jump(e, s->pc, s->br.to.target, false);
	exit_to(b, s->br.to.target);
}

/* The indirect call's or jump's target loaded into RAX (logged), then the lookup. */
static bool indirect(struct builder *b, struct trans *x, const struct scanned *s)
{
	struct emit *e = &b->e;
	emit_gs_store(e, R_RAX, CD_TMP_RAX);
	x->special_off = (uint32_t)e->n;
	if (!emit_load_operand(e, s->code, s->info.len, s->pc))
		return false;
	if (x->kind == TE_ICALL) {
		emit_gs_store(e, R_RAX, CD_TMP_T);
		emit_push_return(e, s->pc + s->info.len);
		emit_log_call(e, call_site(s), 0, true);
		emit_gs_load(e, R_RAX, CD_TMP_T);
	} else if (b->jump == JUMP_ENTERS_ANY) {
		emit_gs_store(e, R_RAX, CD_TMP_T);
		emit_log_call(e, s->pc | CACHE_LOG_JUMP, 0, true);
		emit_gs_load(e, R_RAX, CD_TMP_T);
	}
	jump_to_lookup(b);
	return true;
}

static void ret(struct builder *b, const struct scanned *s)
{
	static const uint8_t load_ret[] = { 0x48, 0x8b, 0x04, 0x24 }; /* mov rax, [rsp] */
	static const uint8_t lea_up[] = { 0x48, 0x8d, 0xa4, 0x24 };  /* lea rsp, [rsp+disp32] */
	struct emit *e = &b->e;
	uint32_t pop = 8u + s->info.ret_imm;
	emit_gs_store(e, R_RAX, CD_TMP_RAX);
	emit_log_ret(e);
	emit_bytes(e, load_ret, sizeof load_ret);
	emit_bytes(e, lea_up, sizeof lea_up);
	emit_bytes(e, &pop, 4);
	jump_to_lookup(b);
}

/* The block's control transfer; false when it cannot be written. */
static bool terminator(struct builder *b, struct trans *x, const struct scanned *s, uint32_t id)
{
	struct emit *e = &b->e;
	uint64_t next = s->pc + s->info.len;
	switch (x->kind) {
	case TE_SYSCALL:
		emit_bytes(e, s->code, s->info.len);
		x->off[x->n] = (uint32_t)e->n;
		exit_to(b, next);
		return true;
	case TE_JMP:
		if (b->jump == JUMP_ENTERS)
			log_jump(e, s->pc, s->br.to.target, false);
		exit_to(b, s->br.to.target);
		return true;
	case TE_JCC:
		if (b->jump == JUMP_ENTERS) {
			jcc_into_function(b, s);
			return true;
		}
		b->out->ex[b->out->nex].target = s->br.to.target;
		b->out->ex[b->out->nex++].field = emit_jcc(e, s->br.cond, 0);
		exit_to(b, next);
		return true;
	case TE_SHORT_COND:
		short_cond(b, s);
		return true;
	case TE_CALL:
		emit_push_return(e, next);
		emit_gs_store(e, R_RAX, CD_TMP_RAX);
		emit_log_call(e, call_site(s), s->br.to.target, false);
		emit_gs_load(e, R_RAX, CD_TMP_RAX);
		exit_to(b, s->br.to.target);
		return true;
	case TE_ICALL:
	case TE_IJMP:
		return indirect(b, x, s);
	case TE_RET:
		ret(b, s);
		return true;
	case TE_REP:
		x->special_off = (uint32_t)e->n + 9; /* after the store of RCX */
		emit_rep(e, s->code, s->info.len, s->info.rep_ecx, (uint32_t)(CD_COUNTERS + 8 * id));
		x->off[1] = (uint32_t)e->n;
		exit_to(b, next);
		return true;
	default:
		return false;
	}
}

/* Instructions before the terminator, copied (RIP-relative ones adjusted). */
static bool body(struct builder *b, struct trans *x, const struct scanned *s, uint32_t upto)
{
	for (uint32_t k = 0; k < upto; k++) {
		uint8_t out[16];
		x->off[k] = (uint32_t)b->e.n;
		if (relocate_insn(s[k].code, &s[k].enc, s[k].pc, emit_here(&b->e), out) != RELOCATE_OK)
			return false;
		emit_bytes(&b->e, out, s[k].enc.len);
	}
	return true;
}

/* Every exit gets a stub of its own after the code, an int3 the exit's
 * jump leads to until the cache links it. */
static void place_stubs(struct builder *b)
{
	for (int i = 0; i < b->out->nex; i++) {
		struct translate_exit *p = &b->out->ex[i];
		p->stub = emit_here(&b->e);
		emit_stub(&b->e);
		uint32_t rel = (uint32_t)(int32_t)(int64_t)(p->stub - (p->field + 4));
		memcpy(b->e.b + (p->field - b->e.base), &rel, 4);
	}
}

static struct trans *trans_alloc(const struct scanned *s, uint32_t n, int kind, uint32_t id)
{
	struct trans *x = xcalloc(1, sizeof *x);
	x->orig = s[0].pc;
	x->n = n;
	x->kind = (uint8_t)kind;
	x->id = id;
	x->rep_ecx = s[0].info.rep_ecx;
	x->pc = xmalloc((n + 1) * sizeof *x->pc);
	x->cls = xmalloc(n + 1);
	x->off = xcalloc(n + 1, sizeof *x->off);
	for (uint32_t k = 0; k < n; k++) {
		x->pc[k] = s[k].pc;
		x->cls[k] = s[k].info.cls;
	}
	x->pc[n] = s[n - 1].pc + s[n - 1].info.len;
	x->cls[n] = 0;
	return x;
}

bool translate_block(const struct translate_source *src, const struct scanned *s, uint32_t n,
		     int kind, const struct translate_place *where, struct translation *out)
{
	memset(out, 0, sizeof *out);
	struct trans *x = trans_alloc(s, n, kind, where->id);
	struct builder b = { .out = out, .lookup = where->lookup, .jump = where->jump };
	emit_init(&b.e, where->at);
	bool ok;
	if (kind == TE_REP) {
		ok = terminator(&b, x, &s[0], where->id);
	} else {
		emit_count(&b.e, (uint32_t)(CD_COUNTERS + 8 * where->id), n,
			   block_flags_live(src, s, n, kind, x->dep));
		uint32_t copied = kind == TE_FALL ? n : n - 1;
		ok = body(&b, x, s, copied);
		if (ok && kind == TE_FALL) {
			x->off[n] = (uint32_t)b.e.n;
			exit_to(&b, x->pc[n]);
		} else if (ok) {
			x->off[n - 1] = (uint32_t)b.e.n;
			ok = terminator(&b, x, &s[n - 1], where->id);
		}
	}
	if (ok)
		place_stubs(&b);
	x->entry = b.e.base;
	x->end = b.e.base + b.e.n;
	out->x = x;
	out->e = b.e;
	if (!ok)
		translation_free(out);
	return ok;
}

void translation_free(struct translation *out)
{
	trans_free(out->x);
	emit_free(&out->e);
	memset(out, 0, sizeof *out);
}
