/* Internal to common/: Debian 12's capstone 4 cannot decode many AVX-512
 * instructions (kmovd, vpcmpeqb into a mask register, vptestnmb...) that
 * glibc's string functions run on every AVX-512 machine. Zydis decodes them:
 * it supplies the length and a text form where capstone gives up. */
#ifndef PROF_ZYDIS_FALLBACK_H
#define PROF_ZYDIS_FALLBACK_H

#include "prof/classes.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zydis_fallback;
struct zydis_fallback *zydis_fallback_new(void);
void zydis_fallback_free(struct zydis_fallback *z);
/* Decodes what capstone could not. True only for an instruction that runs in
 * place like any other: no control transfer, no system or string operation
 * (those stay undecodable, and the tracer single-steps them). */
bool zydis_fallback_decode(const struct zydis_fallback *z, const uint8_t *code, size_t size,
			   struct insn_info *out);
/* Where the position-dependent fields of such an instruction lie. */
bool zydis_fallback_encoding(const struct zydis_fallback *z, const uint8_t *code, size_t size,
			     struct insn_encoding *out);
/* The status flags (FLAG_*) the instruction may read, and those it always
 * overwrites, from Zydis's tables; false when Zydis cannot decode it. */
bool zydis_status_flags(const struct zydis_fallback *z, const uint8_t *code, size_t size,
			uint8_t *read, uint8_t *written);
bool zydis_fallback_format(struct zydis_fallback *z, const uint8_t *code, size_t size,
			   uint64_t addr, bool att, char *buf, size_t buflen);

#endif
