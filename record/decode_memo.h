/* Instructions decoded once per recording. Decoding (capstone, then Zydis
 * for the flags) is most of what translating a block costs, and a program
 * run again (cc1 once per file of a build, git once per command of a test
 * suite) decodes the same bytes at other addresses. What an instruction
 * decodes to depends on its bytes alone, except a direct branch's target,
 * which is kept relative to the instruction: an entry is found by the
 * bytes it was decoded from, so it holds wherever those bytes are (another
 * process, another load address, code a JIT wrote again) and is never
 * invalidated. */
#ifndef PROF_DECODE_MEMO_H
#define PROF_DECODE_MEMO_H

#include <stdbool.h>
#include <stddef.h>

struct decode_memo;
struct scanned;

/* At most max_entries instructions are kept (then no more are added):
 * about 70 bytes each (entry, index slot, branch; 42 MB for cc1's 580,000). */
#define DECODE_MEMO_MAX (1u << 20)
struct decode_memo *decode_memo_new(size_t max_entries);
void decode_memo_free(struct decode_memo *m);
/* s->pc, s->code and s->avail set: fills s->info, s->br and s->enc as a
 * decode of those bytes at s->pc would; false when not known. */
bool decode_memo_find(struct decode_memo *m, struct scanned *s);
/* s decoded (translate_decode succeeded). */
void decode_memo_add(struct decode_memo *m, const struct scanned *s);
/* How many lookups found their instruction, and how many did not (PROF_DEBUG). */
void decode_memo_stats(const struct decode_memo *m, size_t *hits, size_t *misses);

#endif
