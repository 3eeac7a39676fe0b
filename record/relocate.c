#include "relocate.h"

#include <string.h>

static int64_t read_signed(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 1:
		return (int8_t)p[0];
	case 2: {
		int16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	default: {
		int32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	}
}

static bool fits(int64_t v, unsigned size)
{
	int64_t lim = (int64_t)1 << (8 * size - 1);
	return v >= -lim && v < lim;
}

/* Adds delta to the little-endian signed field of size bytes at p. */
static bool adjust(uint8_t *p, unsigned size, int64_t delta)
{
	int64_t v = read_signed(p, size) + delta;
	if (!fits(v, size))
		return false;
	memcpy(p, &v, size); /* little-endian: the low bytes */
	return true;
}

enum relocate_result relocate_insn(const uint8_t *code, const struct insn_encoding *enc,
				   uint64_t from, uint64_t to, uint8_t *out)
{
	if (enc->is_syscall)
		return RELOCATE_REFUSED;
	memcpy(out, code, enc->len);
	/* Both fields are relative to the end of the instruction, which moves
	 * by to - from: subtract that to keep the absolute address. */
	int64_t delta = (int64_t)(from - to);
	if (enc->rip_disp_offset && !adjust(out + enc->rip_disp_offset, 4, delta))
		return RELOCATE_OUT_OF_RANGE;
	if (enc->rel_offset && !adjust(out + enc->rel_offset, enc->rel_size, delta))
		return RELOCATE_OUT_OF_RANGE;
	return RELOCATE_OK;
}
