#include "zydis_fallback.h"
#include "prof/util.h"

#include <Zydis/Zydis.h>
#include <stdlib.h>
#include <string.h>

struct zydis_fallback {
	ZydisDecoder decoder;
	ZydisFormatter intel, att;
};

struct zydis_fallback *zydis_fallback_new(void)
{
	struct zydis_fallback *z = xcalloc(1, sizeof *z);
	if (!ZYAN_SUCCESS(ZydisDecoderInit(&z->decoder, ZYDIS_MACHINE_MODE_LONG_64,
					   ZYDIS_STACK_WIDTH_64)) ||
	    !ZYAN_SUCCESS(ZydisFormatterInit(&z->intel, ZYDIS_FORMATTER_STYLE_INTEL)) ||
	    !ZYAN_SUCCESS(ZydisFormatterInit(&z->att, ZYDIS_FORMATTER_STYLE_ATT))) {
		free(z);
		return NULL;
	}
	return z;
}

void zydis_fallback_free(struct zydis_fallback *z)
{
	free(z);
}

/* What block mode must see as a block end, or must not run as plain code. */
static bool needs_tracer(const ZydisDecodedInstruction *i)
{
	switch (i->meta.category) {
	case ZYDIS_CATEGORY_CALL:
	case ZYDIS_CATEGORY_COND_BR:
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_RET:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET:
	case ZYDIS_CATEGORY_INTERRUPT:
	case ZYDIS_CATEGORY_SYSTEM:
	case ZYDIS_CATEGORY_STRINGOP:
	case ZYDIS_CATEGORY_IOSTRINGOP:
		return true;
	default:
		return (i->attributes & ZYDIS_ATTRIB_IS_RELATIVE) &&
		       i->meta.branch_type != ZYDIS_BRANCH_TYPE_NONE;
	}
}

static uint8_t status_flags(uint32_t zydis_flags)
{
	uint8_t f = 0;
	f |= zydis_flags & ZYDIS_CPUFLAG_CF ? FLAG_CF : 0;
	f |= zydis_flags & ZYDIS_CPUFLAG_PF ? FLAG_PF : 0;
	f |= zydis_flags & ZYDIS_CPUFLAG_AF ? FLAG_AF : 0;
	f |= zydis_flags & ZYDIS_CPUFLAG_ZF ? FLAG_ZF : 0;
	f |= zydis_flags & ZYDIS_CPUFLAG_SF ? FLAG_SF : 0;
	f |= zydis_flags & ZYDIS_CPUFLAG_OF ? FLAG_OF : 0;
	return f;
}

bool zydis_fallback_decode(const struct zydis_fallback *z, const uint8_t *code, size_t size,
			   struct insn_info *out)
{
	ZydisDecodedInstruction insn;
	if (!z || !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&z->decoder, NULL, code, size, &insn)) ||
	    needs_tracer(&insn))
		return false;
	memset(out, 0, sizeof *out);
	out->len = insn.length;
	out->flags_read = FLAGS_STATUS;
	if (insn.cpu_flags)
		/* Undefined flags may keep their value (see classes.c). */
		out->flags_written = status_flags(insn.cpu_flags->modified | insn.cpu_flags->set_0 |
						  insn.cpu_flags->set_1);
	if (insn.cpu_flags && !insn.cpu_flags->tested)
		out->flags_read = 0;
	/* The same guess as for bytes nobody decodes: VEX/EVEX are vector ops. */
	out->cls = insn.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY ? CLASS_OTHER : CLASS_SIMD;
	return true;
}

bool zydis_status_flags(const struct zydis_fallback *z, const uint8_t *code, size_t size,
			uint8_t *read, uint8_t *written)
{
	ZydisDecodedInstruction insn;
	if (!z || !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&z->decoder, NULL, code, size, &insn)))
		return false;
	*read = FLAGS_STATUS;
	*written = 0;
	if (insn.cpu_flags) {
		*read = status_flags(insn.cpu_flags->tested);
		/* Undefined flags may keep their value (see classes.c). */
		*written = status_flags(insn.cpu_flags->modified | insn.cpu_flags->set_0 |
					insn.cpu_flags->set_1);
	}
	return true;
}

bool zydis_fallback_encoding(const struct zydis_fallback *z, const uint8_t *code, size_t size,
			     struct insn_encoding *out)
{
	ZydisDecodedInstruction insn;
	memset(out, 0, sizeof *out);
	if (!z || !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&z->decoder, NULL, code, size, &insn)) ||
	    needs_tracer(&insn))
		return false;
	out->len = insn.length;
	/* Not a branch (needs_tracer): a relative instruction has a RIP-relative operand. */
	if ((insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE) && insn.raw.disp.size == 32)
		out->rip_disp_offset = insn.raw.disp.offset;
	else if (insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE)
		return false;
	out->gs_prefix = (insn.attributes & ZYDIS_ATTRIB_HAS_SEGMENT_GS) != 0;
	return true;
}

bool zydis_fallback_format(struct zydis_fallback *z, const uint8_t *code, size_t size,
			   uint64_t addr, bool att, char *buf, size_t buflen)
{
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!z || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&z->decoder, code, size, &insn, ops)))
		return false;
	return ZYAN_SUCCESS(ZydisFormatterFormatInstruction(att ? &z->att : &z->intel, &insn, ops,
							    insn.operand_count_visible, buf,
							    buflen, addr, NULL));
}
