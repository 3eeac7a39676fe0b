#include "scratch.h"
#include "inject.h"
#include "relocate.h"
#include "tracer.h"
#include "prof/log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

bool scratch_in_mmap_area(const struct map_list *exec_maps, uint64_t addr)
{
	uint64_t top = 0;
	for (size_t i = 0; i < exec_maps->n; i++)
		if (exec_maps->v[i].end > top && exec_maps->v[i].end < (1ull << 47))
			top = exec_maps->v[i].end;
	return addr >= (1ull << 32) && addr < top && top - addr < (4ull << 40);
}

/* Just below the lowest file-backed code: the program's own mmaps grow down
 * from the top, its heap up from the executable, so a page here moves
 * nothing of the program's (its libraries load where they would unseen).
 * Unless that file is itself among the mmaps (a static-pie executable):
 * then a terabyte lower. */
static uint64_t quiet_address(const struct map_list *exec_maps)
{
	uint64_t low = 0;
	for (size_t i = 0; i < exec_maps->n; i++) {
		const struct map_entry *m = &exec_maps->v[i];
		/* The file's first page lies pgoff below its code (ELF segments in order). */
		uint64_t file_start = m->start - m->pgoff;
		if (m->path[0] == '/' && m->pgoff <= m->start && (!low || file_start < low))
			low = file_start;
	}
	if (low && scratch_in_mmap_area(exec_maps, low))
		return low > 2 * SCRATCH_FAR_BELOW ? low - SCRATCH_FAR_BELOW - SCRATCH_SIZE : 0;
	return low > 2 * SCRATCH_SIZE ? low - SCRATCH_SIZE : 0;
}

static int64_t inject_mmap(struct tracer *tr, struct tracee *t, uint64_t addr, uint64_t flags,
			   struct injection *inj, bool *ran)
{
	const uint64_t args[6] = { addr, SCRATCH_SIZE, PROT_READ | PROT_EXEC,
				   MAP_PRIVATE | MAP_ANONYMOUS | flags, (uint64_t)-1, 0 };
	*ran = inject_syscall(tr, t, 0, SYS_mmap, args, false, inj);
	return inj->ret;
}

bool scratch_map(struct tracer *tr, struct tracee *t, struct scratch *s, struct injection *inj)
{
	bool ran = false;
	uint64_t want = quiet_address(&t->proc->maps);
	int64_t ret = -EEXIST;
	if (want)
		ret = inject_mmap(tr, t, want, MAP_FIXED_NOREPLACE, inj, &ran);
	if (ret == -EEXIST || ret == -EINVAL)
		ret = inject_mmap(tr, t, 0, 0, inj, &ran);
	if (ret == -ESRCH)
		return false; /* t died meanwhile */
	if (!ran || (ret < 0 && ret > -4096)) {
		s->refused = true;
		if (t->proc->as_limit.cannot || t->proc->refused_syscalls)
			return false; /* prof said why already */
		log_warn("process %d refuses an executable scratch page (mmap: %s): "
			 "its REP string instructions are single-stepped",
			 t->proc->pid, strerror(ran ? (int)-ret : EIO));
		return false;
	}
	s->base = (uint64_t)ret;
	if (!tracer_write_code(t->tid, s->base, inject_stub_code, INJECT_STUB_LEN)) {
		log_warn("process %d: cannot write its scratch page", t->proc->pid);
		s->refused = true;
		return false;
	}
	s->used = SCRATCH_SLOT_SIZE; /* the stub's slot */
	return true;
}

void scratch_unmap(struct tracer *tr, struct tracee *t, struct scratch *s, bool at_syscall_entry)
{
	if (!s->base)
		return;
	const uint64_t args[6] = { s->base, SCRATCH_SIZE, 0, 0, 0, 0 };
	struct injection inj = { 0 };
	/* The stub's int3 is gone with the page: the fetch fault ends it. */
	if (!inject_syscall(tr, t, s->base, SYS_munmap, args, at_syscall_entry, &inj) || inj.ret != 0)
		tracer_lost(tr, "the scratch page left mapped", "process %d: %lld", t->proc->pid,
			    (long long)inj.ret);
	inject_queue_held(tr, t, &inj); /* detaching: the program gets it */
	s->base = 0;
	s->used = 0;
	u64_table_clear(&s->slots);
}

uint64_t scratch_slot(struct tracer *tr, struct tracee *t, struct scratch *s, uint64_t pc,
		      const uint8_t *code, size_t len)
{
	uint64_t slot;
	if (u64_table_get(&s->slots, pc, &slot))
		return slot;
	if (!s->base || s->used + SCRATCH_SLOT_SIZE > SCRATCH_SIZE)
		return 0;
	slot = s->base + s->used;
	struct insn_encoding enc;
	uint8_t copy[SCRATCH_SLOT_SIZE];
	if (!classifier_encoding(tr->classifier, code, len, pc, &enc) ||
	    relocate_insn(code, &enc, pc, slot, copy) != RELOCATE_OK)
		return 0;
	copy[enc.len] = 0xcc;
	if (!tracer_write_code(t->tid, slot, copy, enc.len + 1u))
		return 0;
	s->used += SCRATCH_SLOT_SIZE;
	u64_table_put(&s->slots, pc, slot);
	return slot;
}

bool scratch_holds(const struct scratch *s, uint64_t addr)
{
	return s->base && addr >= s->base && addr < s->base + SCRATCH_SIZE;
}

void scratch_forget_slots(struct scratch *s)
{
	u64_table_clear(&s->slots);
}

void scratch_copy(struct scratch *dst, const struct scratch *src)
{
	*dst = *src;
	u64_table_copy(&dst->slots, &src->slots);
}

void scratch_free(struct scratch *s)
{
	u64_table_clear(&s->slots);
}
