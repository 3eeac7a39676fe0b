/* Internal to common/: the pieces that work on capstone's own types. */
#ifndef PROF_CAPSTONE_DECODE_H
#define PROF_CAPSTONE_DECODE_H

#include "prof/branch.h"

#include <capstone/capstone.h>

void branch_describe(const cs_insn *i, struct branch *br);

#endif
