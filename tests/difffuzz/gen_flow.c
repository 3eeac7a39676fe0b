/* Control flow: the structures a case is made of (conditionals, bounded
 * loops, calls, indirect jumps and calls, switches, returns to pushed
 * addresses, push/pop and pushf/popf around code), and its functions.
 *
 * Everything terminates by construction: loops count down a register
 * nothing else in them may write, and branches other than loops go
 * forward. Loop counters live in "counter" registers (rbx, rbp, r12-r15):
 * functions never change them (a function that loops saves its counter
 * with push and pop), so a call inside a loop is safe. */
#include "gen.h"

#include <string.h>

#define COUNTERS ((1u << 3) | (1u << 5) | (1u << 12) | (1u << 13) | (1u << 14) | (1u << 15))
#define R_RCX 1
#define MAX_DEPTH 3
#define SMALL_BYTES 80 /* a body a rel8 loop or jrcxz still reaches over */

static const ZydisMnemonic jcc[16] = {
	ZYDIS_MNEMONIC_JO,  ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB,  ZYDIS_MNEMONIC_JNB,
	ZYDIS_MNEMONIC_JZ,  ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE,
	ZYDIS_MNEMONIC_JS,  ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JP,  ZYDIS_MNEMONIC_JNP,
	ZYDIS_MNEMONIC_JL,  ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JLE, ZYDIS_MNEMONIC_JNLE,
};

static void block(struct gen *g, int n);

static int open_group(struct gen *g, const char *what)
{
	int parent = g->group;
	g->group = program_group(g->p, parent, what);
	return parent;
}

static void here(struct gen *g, int label)
{
	program_place(g->p, g->group, label);
}

/* A jump, call or loop to label (rel8 when short, a near one if the
 * layout finds it does not reach). */
static bool branch(struct gen *g, ZydisMnemonic m, int label, bool short_form, bool addr32)
{
	ZydisEncoderRequest r;
	request(&r, m, 1);
	set_imm(&r.operands[0], 0);
	r.branch_type = ZYDIS_BRANCH_TYPE_NONE;
	r.branch_width = short_form ? ZYDIS_BRANCH_WIDTH_8 : ZYDIS_BRANCH_WIDTH_32;
	if (addr32)
		r.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_32;
	if (!program_insn(g->p, g->group, &r, label, LU_BRANCH, 0))
		return false;
	count_insns(g, 1);
	return true;
}

/* reg = the address of label: lea reg, [rip + label], or mov reg, label
 * when the code is below 4 GB. */
static bool address_of(struct gen *g, int reg, int label)
{
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_LEA, 2);
	set_reg(&r.operands[0], gpr(reg, 64));
	r.operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
	r.operands[1].mem.base = ZYDIS_REGISTER_RIP;
	r.operands[1].mem.size = 8;
	enum label_use use = LU_RIP;
	if (g->code >> 31 == 0 && rng_chance(&g->rng, 40)) {
		request(&r, ZYDIS_MNEMONIC_MOV, 2);
		set_reg(&r.operands[0], gpr(reg, 32));
		set_imm(&r.operands[1], 0);
		use = LU_IMM;
	}
	if (!program_insn(g->p, g->group, &r, label, use, 1))
		return false;
	count_insns(g, 1);
	return true;
}

static bool simple(struct gen *g, ZydisMnemonic m)
{
	ZydisEncoderRequest r;
	request(&r, m, 0);
	return emit(g, &r);
}

/* The first instruction of a block often reads the flags: a block's
 * entry is where prof puts its counter update. */
static void block_start(struct gen *g)
{
	if (!rng_chance(&g->rng, 40))
		return;
	int parent = open_group(g, "insn");
	size_t mark = g->p->n;
	if (!plain_insn(g, true))
		g->p->n = mark;
	g->group = parent;
}

static bool room(const struct gen *g, long cost)
{
	return g->dead || g->spent + g->mult * cost <= g->budget;
}

static size_t bytes_since(const struct gen *g, size_t mark)
{
	size_t n = 0;
	for (size_t i = mark; i < g->p->n; i++)
		n += g->p->v[i].len;
	return n;
}

static int small_count(struct gen *g)
{
	return rng_chance(&g->rng, 15) ? 0 : 1 + (int)rng_below(&g->rng, 4);
}

/* ---- conditionals ---- */

static bool if_then(struct gen *g)
{
	int label = program_label(g->p);
	if (rng_chance(&g->rng, 60))
		flag_test(g);
	if (!branch(g, jcc[rng_below(&g->rng, 16)], label, rng_chance(&g->rng, 50), false))
		return false;
	block(g, small_count(g));
	here(g, label);
	block_start(g);
	return true;
}

static bool if_else(struct gen *g)
{
	int other = program_label(g->p), end = program_label(g->p);
	if (rng_chance(&g->rng, 60))
		flag_test(g);
	if (!branch(g, jcc[rng_below(&g->rng, 16)], other, rng_chance(&g->rng, 50), false))
		return false;
	block(g, small_count(g));
	if (!branch(g, ZYDIS_MNEMONIC_JMP, end, rng_chance(&g->rng, 50), false))
		return false;
	here(g, other);
	block_start(g);
	block(g, small_count(g));
	here(g, end);
	block_start(g);
	return true;
}

/* jrcxz over a short block (RCX whatever it is, or made 0 or 1). */
static bool skip_if_rcx_zero(struct gen *g)
{
	if (rng_chance(&g->rng, 50) && is_writable(g, R_RCX) &&
	    !set_register(g, R_RCX, rng_below(&g->rng, 2)))
		return false;
	int label = program_label(g->p);
	bool addr32 = rng_chance(&g->rng, 30);
	if (!branch(g, addr32 ? ZYDIS_MNEMONIC_JECXZ : ZYDIS_MNEMONIC_JRCXZ, label, true, false))
		return false;
	bool small = g->small;
	g->small = true;
	block(g, small_count(g));
	g->small = small;
	here(g, label);
	block_start(g);
	return true;
}

/* ---- loops ---- */

/* A counter register no enclosing loop counts with (in main, also one
 * no enclosing structure holds). */
static int free_counter(struct gen *g)
{
	int ok[6], n = 0;
	for (int r = 0; r < 16; r++)
		if ((COUNTERS & (1u << r)) && !(g->busy & (1u << r)) &&
		    (g->func >= 0 || is_writable(g, r)))
			ok[n++] = r;
	return n ? ok[rng_below(&g->rng, (uint64_t)n)] : -1;
}

static bool push_reg(struct gen *g, int reg, bool push)
{
	ZydisEncoderRequest r;
	request(&r, push ? ZYDIS_MNEMONIC_PUSH : ZYDIS_MNEMONIC_POP, 1);
	set_reg(&r.operands[0], gpr(reg, 64));
	if (!emit(g, &r))
		return false;
	g->above += push ? 8 : -8;
	return true;
}

/* mov c, n; top: body; dec c; jnz top (or counting up to n). Inside a
 * function the counter is saved around the loop. */
static bool counted_loop(struct gen *g)
{
	int c = free_counter(g);
	long n = 1 + (long)rng_below(&g->rng, rng_chance(&g->rng, 80) ? 3 : 6);
	bool up = rng_chance(&g->rng, 30), wide = rng_chance(&g->rng, 40);
	if (c < 0 || !room(g, 4 * n))
		return false;
	bool save = g->func >= 0;
	if (save && !push_reg(g, c, true))
		return false;
	if (!set_register(g, c, up ? 0 : (uint64_t)n))
		return false;
	int top = program_label(g->p);
	here(g, top);
	uint32_t reserved = g->reserved, busy = g->busy;
	g->reserved |= 1u << c;
	g->busy |= 1u << c;
	g->mult *= n;
	block_start(g);
	block(g, (int)rng_below(&g->rng, 5));
	bool ok;
	ZydisRegister reg = gpr(c, wide ? 64 : 32);
	if (up)
		ok = emit2(g, ZYDIS_MNEMONIC_ADD, reg, 1) && emit2(g, ZYDIS_MNEMONIC_CMP, reg, (uint64_t)n) &&
		     branch(g, ZYDIS_MNEMONIC_JB, top, rng_chance(&g->rng, 50), false);
	else
		ok = emit2(g, ZYDIS_MNEMONIC_SUB, reg, 1) &&
		     branch(g, ZYDIS_MNEMONIC_JNZ, top, rng_chance(&g->rng, 50), false);
	g->mult /= n;
	g->reserved = reserved;
	g->busy = busy;
	return ok && (!save || push_reg(g, c, false));
}

/* mov ecx, n; top: short body; loop/loope/loopne top; or guarded by jrcxz
 * so that n may be 0. With the address-size prefix ECX counts and RCX's
 * upper half is noise. */
static bool loop_insn(struct gen *g)
{
	static const ZydisMnemonic loops[3] = { ZYDIS_MNEMONIC_LOOP, ZYDIS_MNEMONIC_LOOPE,
						ZYDIS_MNEMONIC_LOOPNE };
	bool guarded = rng_chance(&g->rng, 40), addr32 = rng_chance(&g->rng, 30);
	long n = (long)rng_below(&g->rng, 4) + (guarded ? 0 : 1);
	if (!is_writable(g, R_RCX) || !room(g, 8 * (n + 1)))
		return false;
	uint64_t value = (uint64_t)n | (addr32 ? rng_next(&g->rng) << 32 : 0);
	if (!set_register(g, R_RCX, value))
		return false;
	int top = program_label(g->p), skip = program_label(g->p);
	if (guarded && !branch(g, addr32 ? ZYDIS_MNEMONIC_JECXZ : ZYDIS_MNEMONIC_JRCXZ, skip, true,
			       false))
		return false;
	here(g, top);
	uint32_t reserved = g->reserved;
	bool small = g->small;
	g->reserved |= 1u << R_RCX;
	g->small = true;
	g->mult *= n ? n : 1;
	block_start(g);
	block(g, small_count(g));
	g->mult /= n ? n : 1;
	g->small = small;
	g->reserved = reserved;
	if (!branch(g, loops[rng_below(&g->rng, 3)], top, true, addr32))
		return false;
	here(g, skip);
	block_start(g);
	return true;
}

/* ---- calls ---- */

static uint32_t new_slots(struct gen *g, uint32_t n)
{
	uint32_t s = g->table_next;
	g->table_next += n;
	return s;
}

static uint64_t slot_addr(const struct gen *g, uint32_t slot)
{
	return g->ripdata + RIPDATA_TABLE + 8ull * slot;
}

static bool push_value(struct gen *g)
{
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_PUSH, 1);
	switch (rng_below(&g->rng, 3)) {
	case 0:
		set_imm(&r.operands[0], random_imm(g, 32));
		break;
	case 1:
		set_reg(&r.operands[0], gpr((int)rng_below(&g->rng, 16), 64));
		break;
	default:
		if (!memory_operand(g, &r.operands[0], 8, 1, false))
			return false;
		break;
	}
	if (!emit(g, &r))
		return false;
	g->above += 8;
	return true;
}

/* An indirect transfer (m: jmp or call) to label through a register or
 * through memory (a table slot, reached RIP-relative or through
 * registers). */
static bool indirect(struct gen *g, ZydisMnemonic m, int label)
{
	ZydisEncoderRequest r;
	request(&r, m, 1);
	if (rng_chance(&g->rng, 40)) {
		int reg = writable_reg(g);
		if (reg < 0 || !address_of(g, reg, label))
			return false;
		set_reg(&r.operands[0], gpr(reg, 64));
	} else {
		uint32_t slot = new_slots(g, 1);
		program_table(g->p, g->group, slot, label);
		if (!memory_at(g, &r.operands[0], slot_addr(g, slot), 8, false))
			return false;
	}
	return emit(g, &r);
}

static bool call(struct gen *g)
{
	int f = g->func + 1 + (int)rng_below(&g->rng, (uint64_t)(g->nfuncs - g->func - 1));
	if (!room(g, g->func_cost[f] + 4))
		return false;
	int above = g->above;
	for (int i = 0; i < g->func_args[f]; i++)
		if (!push_value(g))
			return false;
	bool ok = rng_chance(&g->rng, 50)
			  ? branch(g, ZYDIS_MNEMONIC_CALL, g->func_label[f], false, false)
			  : indirect(g, ZYDIS_MNEMONIC_CALL, g->func_label[f]);
	g->above = above; /* ret imm took the arguments */
	count_insns(g, g->func_cost[f]);
	block_start(g);
	return ok;
}

/* ---- jumps ---- */

/* Code that never runs, after an unconditional transfer. */
static void dead_code(struct gen *g)
{
	bool dead = g->dead;
	g->dead = true;
	for (int i = (int)rng_below(&g->rng, 3); i > 0; i--)
		plain_insn(g, false);
	g->dead = dead;
}

static bool jump_forward(struct gen *g)
{
	int label = program_label(g->p);
	bool ok;
	switch (rng_below(&g->rng, 3)) {
	case 0:
		ok = branch(g, ZYDIS_MNEMONIC_JMP, label, rng_chance(&g->rng, 50), false);
		break;
	case 1: { /* lea r, [rip + label]; push r; ret */
		int reg = writable_reg(g);
		ok = reg >= 0 && address_of(g, reg, label) && push_reg(g, reg, true) &&
		     simple(g, ZYDIS_MNEMONIC_RET);
		g->above -= 8;
		break;
	}
	default:
		ok = indirect(g, ZYDIS_MNEMONIC_JMP, label);
		break;
	}
	dead_code(g);
	here(g, label);
	block_start(g);
	return ok;
}

/* call next; (dead); next: pop r: the address after the call in r. */
static bool call_pop(struct gen *g)
{
	int label = program_label(g->p), reg = writable_reg(g);
	if (reg < 0 || !branch(g, ZYDIS_MNEMONIC_CALL, label, false, false))
		return false;
	if (rng_chance(&g->rng, 50))
		dead_code(g);
	here(g, label);
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_POP, 1);
	set_reg(&r.operands[0], gpr(reg, 64));
	return emit(g, &r);
}

/* i = some register & 3; jmp [table + i*8]; four cases, each back to the
 * end. */
static bool switch_jump(struct gen *g)
{
	int i = writable_reg(g), b = i < 0 ? -1 : writable_reg_except(g, 1u << i);
	if (b < 0)
		return false;
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_MOV, 2);
	set_reg(&r.operands[0], gpr(i, 32));
	set_reg(&r.operands[1], gpr((int)rng_below(&g->rng, 16), 32));
	uint32_t slot = new_slots(g, 4);
	if (!emit(g, &r) || !emit2(g, ZYDIS_MNEMONIC_AND, gpr(i, 32), 3) ||
	    !lea_rip(g, b, slot_addr(g, slot)))
		return false;
	request(&r, ZYDIS_MNEMONIC_JMP, 1);
	r.operands[0].type = ZYDIS_OPERAND_TYPE_MEMORY;
	r.operands[0].mem.base = gpr(b, 64);
	r.operands[0].mem.index = gpr(i, 64);
	r.operands[0].mem.scale = 8;
	r.operands[0].mem.size = 8;
	if (!emit(g, &r))
		return false;
	int cases[4], end = program_label(g->p);
	for (int k = 0; k < 4; k++)
		cases[k] = program_label(g->p);
	for (int k = 0; k < 4; k++)
		program_table(g->p, g->group, slot + (uint32_t)k, cases[rng_below(&g->rng, 4)]);
	for (int k = 0; k < 4; k++) {
		here(g, cases[k]);
		block_start(g);
		block(g, small_count(g));
		if (!branch(g, ZYDIS_MNEMONIC_JMP, end, rng_chance(&g->rng, 50), false))
			return false;
	}
	here(g, end);
	block_start(g);
	return true;
}

/* ---- the stack ---- */

static bool push_pop(struct gen *g)
{
	if (!push_value(g))
		return false;
	block(g, small_count(g));
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_POP, 1);
	int reg = writable_reg(g);
	if (rng_chance(&g->rng, 30) || reg < 0) {
		uint64_t addr = random_address(g, 1);
		if (!memory_at(g, &r.operands[0], addr, 8, true))
			return false;
	} else {
		set_reg(&r.operands[0], gpr(reg, 64));
	}
	g->above -= 8;
	return emit(g, &r);
}

/* pushfq; (flip some status flags or DF in the saved copy); body; popfq. */
static bool saved_flags(struct gen *g)
{
	if (!simple(g, ZYDIS_MNEMONIC_PUSHFQ))
		return false;
	g->above += 8;
	if (rng_chance(&g->rng, 50)) {
		ZydisEncoderRequest r;
		request(&r, ZYDIS_MNEMONIC_XOR, 2);
		r.operands[0].type = ZYDIS_OPERAND_TYPE_MEMORY;
		r.operands[0].mem.base = ZYDIS_REGISTER_RSP;
		r.operands[0].mem.size = 8;
		set_imm(&r.operands[1], rng_next(&g->rng) & 0xcd5);
		if (!emit(g, &r))
			return false;
	}
	block(g, small_count(g));
	g->above -= 8;
	return simple(g, ZYDIS_MNEMONIC_POPFQ);
}

/* mov [rsp - d], r; some instructions; op r', [rsp - d]: the red zone
 * keeps what the code stores there. */
static bool red_zone_pair(struct gen *g)
{
	static const ZydisMnemonic loads[] = { ZYDIS_MNEMONIC_MOV, ZYDIS_MNEMONIC_ADD,
					       ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_ADC,
					       ZYDIS_MNEMONIC_CMP };
	int64_t d = 8 * (1 + (int64_t)rng_below(&g->rng, 16));
	int to = writable_reg(g);
	if (to < 0)
		return false;
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_MOV, 2);
	r.operands[0].type = ZYDIS_OPERAND_TYPE_MEMORY;
	r.operands[0].mem.base = ZYDIS_REGISTER_RSP;
	r.operands[0].mem.displacement = -d;
	r.operands[0].mem.size = 8;
	set_reg(&r.operands[1], gpr((int)rng_below(&g->rng, 16), 64));
	if (!emit(g, &r))
		return false;
	bool small = g->small;
	g->small = true;
	block(g, (int)rng_below(&g->rng, 3));
	g->small = small;
	ZydisEncoderOperand mem = r.operands[0];
	request(&r, loads[rng_below(&g->rng, sizeof loads / sizeof loads[0])], 2);
	set_reg(&r.operands[0], gpr(to, 64));
	r.operands[1] = mem;
	return emit(g, &r);
}

/* More straight-line code than prof translates as one block (200
 * instructions): the translation ends in the middle and goes on. */
static bool long_run(struct gen *g)
{
	bool flat = g->flat;
	g->flat = true;
	block(g, 150 + (int)rng_below(&g->rng, 150));
	g->flat = flat;
	return true;
}

/* ---- blocks ---- */

enum shape {
	S_PLAIN, S_IF, S_IF_ELSE, S_JRCXZ, S_LOOP, S_LOOP_INSN, S_CALL, S_JUMP, S_CALL_POP,
	S_SWITCH, S_PUSH_POP, S_PUSHF, S_STRING, S_DIV, S_SYSCALL, S_RED_ZONE, S_LONG, NSHAPES
};

static const struct {
	const char *name;
	int weight;
	bool nests; /* holds blocks of its own */
} shapes[NSHAPES] = {
	[S_PLAIN] = { "insn", 40, false },     [S_IF] = { "if", 6, true },
	[S_IF_ELSE] = { "if-else", 4, true },  [S_JRCXZ] = { "jrcxz", 2, true },
	[S_LOOP] = { "loop", 4, true },        [S_LOOP_INSN] = { "loop-insn", 3, true },
	[S_CALL] = { "call", 5, false },       [S_JUMP] = { "jump", 3, false },
	[S_CALL_POP] = { "call-pop", 1, false }, [S_SWITCH] = { "switch", 2, true },
	[S_PUSH_POP] = { "push-pop", 3, true }, [S_PUSHF] = { "pushf-popf", 2, true },
	[S_STRING] = { "string", 5, false },   [S_DIV] = { "div", 1, false },
	[S_SYSCALL] = { "syscall", 1, false }, [S_RED_ZONE] = { "red-zone", 2, false },
	[S_LONG] = { "long-run", 1, true },
};

static enum shape pick_shape(struct gen *g)
{
	int total = 0;
	for (int s = 0; s < NSHAPES; s++)
		total += shapes[s].weight;
	int x = (int)rng_below(&g->rng, (uint64_t)total);
	for (int s = 0; s < NSHAPES; s++) {
		x -= shapes[s].weight;
		if (x < 0)
			return (enum shape)s;
	}
	return S_PLAIN;
}

static bool make(struct gen *g, enum shape s)
{
	switch (s) {
	case S_IF: return if_then(g);
	case S_IF_ELSE: return if_else(g);
	case S_JRCXZ: return skip_if_rcx_zero(g);
	case S_LOOP: return counted_loop(g);
	case S_LOOP_INSN: return loop_insn(g);
	case S_CALL: return call(g);
	case S_JUMP: return jump_forward(g);
	case S_CALL_POP: return call_pop(g);
	case S_SWITCH: return switch_jump(g);
	case S_PUSH_POP: return push_pop(g);
	case S_PUSHF: return saved_flags(g);
	case S_STRING: return string_op(g);
	case S_DIV: return divide(g);
	case S_SYSCALL: return system_call(g);
	case S_RED_ZONE: return red_zone_pair(g);
	case S_LONG: return long_run(g);
	default: return plain_insn(g, false);
	}
}

/* n structures or instructions, each a group of its own; one that cannot
 * be made here is taken back whole. */
static void block(struct gen *g, int n)
{
	size_t start = g->p->n;
	for (int i = 0; i < n && room(g, 1); i++) {
		enum shape s = g->small || g->flat ? S_PLAIN : pick_shape(g);
		if (shapes[s].nests && g->depth >= MAX_DEPTH)
			s = S_PLAIN;
		if (s == S_CALL && g->func + 1 >= g->nfuncs)
			s = S_PLAIN;
		if (g->dead && s != S_PLAIN)
			s = S_PLAIN;
		size_t mark = g->p->n;
		long spent = g->spent, mult = g->mult;
		int above = g->above, ngroups = g->p->ngroups, nlabels = g->p->nlabels;
		uint32_t slots = g->table_next, reserved = g->reserved, busy = g->busy;
		bool small = g->small, dead = g->dead, flat = g->flat;
		int parent = open_group(g, shapes[s].name);
		g->depth++;
		bool ok = make(g, s);
		g->depth--;
		g->group = parent;
		if (ok && !(g->small && bytes_since(g, start) > SMALL_BYTES))
			continue;
		g->p->n = mark;
		g->p->ngroups = ngroups;
		g->p->nlabels = nlabels;
		g->spent = spent;
		g->mult = mult;
		g->above = above;
		g->table_next = slots;
		g->reserved = reserved;
		g->busy = busy;
		g->small = small;
		g->dead = dead;
		g->flat = flat;
		if (g->small)
			break;
	}
}

/* ---- the whole case ---- */

static void function(struct gen *g, int f)
{
	long spent = g->spent;
	g->spent = 0;
	g->func = f;
	g->group = 0;
	g->above = 8 + 8 * g->func_args[f];
	g->reserved = COUNTERS;
	here(g, g->func_label[f]);
	block_start(g);
	block(g, 2 + (int)rng_below(&g->rng, 8));
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_RET, g->func_args[f] ? 1 : 0);
	if (g->func_args[f])
		set_imm(&r.operands[0], 8ull * (uint64_t)g->func_args[f]);
	emit(g, &r);
	g->func_cost[f] = g->spent;
	g->spent = spent;
}

/* Functions first (the last one first: each may call those after it),
 * then the main sequence, which ends with a jump to the harness's exit
 * through the first table slot. */
void generate(struct gen *g)
{
	g->nfuncs = (int)rng_below(&g->rng, MAX_FUNCS + 1);
	for (int f = 0; f < g->nfuncs; f++) {
		g->func_label[f] = program_label(g->p);
		g->func_args[f] = rng_chance(&g->rng, 25) ? 1 + (int)rng_below(&g->rng, 2) : 0;
	}
	g->table_next = 1;
	for (int f = g->nfuncs - 1; f >= 0; f--)
		function(g, f);
	g->func = -1;
	g->group = 0;
	g->reserved = 0;
	g->above = (int)(STACK_ADDR + STACK_SIZE - g->rsp0);
	g->main_label = program_label(g->p);
	here(g, g->main_label);
	block_start(g);
	block(g, 10 + (int)rng_below(&g->rng, 40));
	ZydisEncoderRequest r;
	request(&r, ZYDIS_MNEMONIC_JMP, 1);
	r.operands[0].type = ZYDIS_OPERAND_TYPE_MEMORY;
	r.operands[0].mem.base = ZYDIS_REGISTER_RIP;
	r.operands[0].mem.displacement = (ZyanI64)slot_addr(g, 0);
	r.operands[0].mem.size = 8;
	program_insn(g->p, 0, &r, -1, LU_NONE, 0);
}
