/* The differential fuzzer's generator: random instruction sequences,
 * encoded with Zydis's encoder (never by hand), as a case file the driver
 * runs natively and under prof.
 *
 * A case is a program of items (instructions, labels, table entries) in
 * nested groups. Every group can be dropped as a whole without breaking
 * the rest (a loop with its counter, a memory access with the lea that
 * sets its base register, a push with its pop), which is what the driver's
 * minimizer does: it asks for the same seed with groups dropped. */
#ifndef DIFFFUZZ_GEN_H
#define DIFFFUZZ_GEN_H

#include <Zydis/Zydis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- where things are (the case file says it again to the driver) ---- */

#define CODE_NEAR 0x30000000ull         /* code within 2 GB of the data */
#define CODE_FAR 0x500000000000ull      /* code that must get a region of its own */
#define SLOT_STRIDE 0x100000ull         /* each case of a batch has a slot */
#define RIPDATA_OFFSET 0x40000ull       /* from the code: RIP-relative data and tables */
#define RIPDATA_SIZE 8192
#define RIPDATA_TABLE 4096              /* tables start here: no random store goes there */
#define DATA_ADDR 0x40000000ull
#define DATA_SIZE 4096
#define STACK_ADDR 0x40100000ull
#define STACK_SIZE 8192
#define MAX_CODE 0x30000

/* ---- random numbers (xoshiro256**, seeded by splitmix64) ---- */

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
uint64_t rng_below(struct rng *r, uint64_t n);
bool rng_chance(struct rng *r, unsigned percent);

/* ---- the program ---- */

enum item_kind { IT_INSN, IT_LABEL, IT_TABLE };

/* How an instruction refers to a label: as a relative branch target, as
 * the absolute address of a RIP-relative memory operand, or as an
 * immediate holding its absolute address. */
enum label_use { LU_NONE, LU_BRANCH, LU_RIP, LU_IMM };

struct item {
	uint8_t kind;
	uint8_t label_use;
	uint8_t label_op;
	uint8_t len;
	int label;              /* defined (IT_LABEL), used (IT_INSN), stored (IT_TABLE) */
	int group;
	uint32_t needs;         /* instruction sets it needs (bits of the feature list) */
	uint32_t table_slot;    /* IT_TABLE: 8-byte slot of the ripdata table */
	ZydisEncoderRequest req;
	uint8_t bytes[16];
	uint64_t addr;
};

struct group {
	int parent;
	const char *what;
};

struct program {
	struct item *v;
	size_t n, cap;
	struct group *groups;
	int ngroups, groups_cap;
	int nlabels;
	uint64_t *label_addr;
	uint64_t base;          /* where the code will be: encodability is checked there */
};

void program_init(struct program *p);
void program_free(struct program *p);
int program_group(struct program *p, int parent, const char *what);
int program_label(struct program *p);
void program_place(struct program *p, int group, int label);
void program_table(struct program *p, int group, uint32_t slot, int label);
/* Appends an instruction; false (and nothing appended) when Zydis cannot
 * encode it. */
bool program_insn(struct program *p, int group, const ZydisEncoderRequest *req, int label,
		  enum label_use use, int op);
bool group_dropped(const struct program *p, int group, const bool *drop);
/* Lays out the kept items from base; returns the code size, 0 on failure. */
size_t program_layout(struct program *p, const bool *drop, uint64_t base, uint8_t *code,
		      size_t cap, uint8_t *table);

/* ---- generation ---- */

struct features {
	bool sse3, ssse3, sse41, sse42, avx, avx2, fma, avx512, adx, bmi1, bmi2, lzcnt, popcnt,
		movbe, pclmul, aes;
};

#define MAX_FUNCS 6
#define REG_RSP 4

struct gen {
	struct rng rng;
	struct features f;
	struct program *p;
	uint64_t code, ripdata, rsp0;
	bool near;              /* the code reaches DATA with a rel32 */
	uint32_t reserved;      /* general registers nothing may write now */
	uint32_t busy;          /* counter registers enclosing loops count with */
	int group;
	long mult;              /* how many times the current code runs */
	long spent, budget;     /* dynamic instructions, estimated */
	int depth;              /* structures nested here */
	int above;              /* bytes above RSP the code may read */
	bool small;             /* inside a rel8 loop: plain instructions only */
	bool flat;              /* plain instructions only, as many as wanted */
	bool dead;              /* never runs: anything goes */
	int nfuncs, func;       /* func: the one being generated, -1 for main */
	int func_label[MAX_FUNCS], func_args[MAX_FUNCS];
	long func_cost[MAX_FUNCS];
	uint32_t table_next;    /* next free ripdata table slot */
	int main_label;
};

/* gen_operands.c */
ZydisRegister gpr(int index, int bits);
int writable_reg(struct gen *g);
int writable_reg_except(struct gen *g, uint32_t also_avoid);
bool is_writable(const struct gen *g, int reg);
void set_reg(ZydisEncoderOperand *op, ZydisRegister r);
void set_imm(ZydisEncoderOperand *op, uint64_t v);
void request(ZydisEncoderRequest *r, ZydisMnemonic m, int nops);
uint64_t random_imm(struct gen *g, int bits);
bool emit(struct gen *g, const ZydisEncoderRequest *r);
bool emit2(struct gen *g, ZydisMnemonic m, ZydisRegister a, uint64_t imm);
bool set_register(struct gen *g, int reg, uint64_t value);
bool lea_rip(struct gen *g, int reg, uint64_t addr);
uint64_t random_address(struct gen *g, unsigned align);
bool memory_at(struct gen *g, ZydisEncoderOperand *op, uint64_t addr, unsigned size, bool store);
bool memory_operand(struct gen *g, ZydisEncoderOperand *op, unsigned size, unsigned align,
		    bool store);
void address_operand(struct gen *g, ZydisEncoderOperand *op, unsigned size);

/* gen_insn.c */
bool plain_insn(struct gen *g, bool flags_reader);
bool flag_test(struct gen *g);
bool string_op(struct gen *g);
bool divide(struct gen *g);
bool system_call(struct gen *g);
void count_insns(struct gen *g, long n);

/* gen_flow.c */
void generate(struct gen *g);

#endif
