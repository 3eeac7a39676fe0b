/* Perf map lines and jitdump records, parsed from untrusted bytes. */
#include "prof/jitfile.h"

#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

void jit_escape_name(const char *in, size_t len, char out[JIT_MAX_NAME + 8])
{
	size_t o = 0;
	for (size_t i = 0; i < len && in[i]; i++) {
		unsigned char c = (unsigned char)in[i];
		if (o >= JIT_MAX_NAME) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
			continue;
		}
		/* At most 4 bytes per escape: out has room past JIT_MAX_NAME. */
		static const char hex[] = "0123456789abcdef";
		out[o++] = '\\';
		if (c == '\n' || c == '\t' || c == '\r') {
			out[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		} else {
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* A hexadecimal number, 0x optional, at *p; false when there is none or
 * it does not fit 64 bits. */
static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	if (end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t v = 0;
	const char *digits = s;
	for (; s < end; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0'
		      : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
		      : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;
		if (d < 0)
			break;
		if (v >> 60)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (s == digits)
		return false;
	*p = s;
	*out = v;
	return true;
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

bool perfmap_parse_line(const char *line, size_t len, uint64_t *start, uint64_t *size,
			char name[JIT_MAX_NAME + 8])
{
	const char *p = line, *end = line + len;
	if (len && end[-1] == '\r')
		end--;
	p = skip_blanks(p, end);
	if (!parse_hex(&p, end, start) || p == end || (*p != ' ' && *p != '\t'))
		return false;
	p = skip_blanks(p, end);
	if (!parse_hex(&p, end, size) || p == end || (*p != ' ' && *p != '\t'))
		return false;
	p = skip_blanks(p, end);
	if (p == end || !*size || *size > JIT_MAX_CODE_SIZE || *start + *size < *start)
		return false;
	jit_escape_name(p, (size_t)(end - p), name);
	return name[0] != '\0';
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64_at(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

enum jitdump_result jitdump_parse_header(const uint8_t *buf, size_t len,
					 struct jitdump_header *h, const char **why)
{
	if (len < JITDUMP_HEADER_SIZE)
		return JITDUMP_MORE;
	uint32_t magic = u32_at(buf);
	*h = (struct jitdump_header){ .version = u32_at(buf + 4), .total_size = u32_at(buf + 8),
				      .elf_mach = u32_at(buf + 12), .pid = u32_at(buf + 20),
				      .timestamp = u64_at(buf + 24), .flags = u64_at(buf + 32) };
	if (magic != JITDUMP_MAGIC) {
		*why = magic == __builtin_bswap32(JITDUMP_MAGIC) ? "written in the other byte order"
								  : "not a jitdump file (bad magic)";
		return JITDUMP_BAD;
	}
	if (h->version != 1) {
		*why = "jitdump version other than 1";
		return JITDUMP_BAD;
	}
	if (h->total_size < JITDUMP_HEADER_SIZE || h->total_size > 4096) {
		*why = "impossible header size";
		return JITDUMP_BAD;
	}
	if (h->elf_mach != EM_X86_64) {
		*why = "code for another machine";
		return JITDUMP_BAD;
	}
	return len < h->total_size ? JITDUMP_MORE : JITDUMP_OK;
}

#define RECORD_HEADER 16
#define LOAD_FIXED (RECORD_HEADER + 40)   /* pid, tid, vma, code_addr, code_size, code_index */
#define MOVE_FIXED (RECORD_HEADER + 48)   /* pid, tid, vma, old, new, code_size, code_index */

static enum jitdump_result parse_load(const uint8_t *buf, struct jitdump_record *r,
				      const char **why)
{
	r->pid = u32_at(buf + 16);
	r->tid = u32_at(buf + 20);
	r->vma = u64_at(buf + 24);
	r->code_addr = u64_at(buf + 32);
	r->code_size = u64_at(buf + 40);
	r->code_index = u64_at(buf + 48);
	const char *name = (const char *)buf + LOAD_FIXED;
	size_t room = r->total_size - LOAD_FIXED;
	const char *nul = memchr(name, '\0', room);
	if (!nul) {
		*why = "a function name without its end";
		return JITDUMP_BAD;
	}
	size_t name_len = (size_t)(nul - name);
	if (r->code_size > room - name_len - 1 || r->code_size > JIT_MAX_CODE_SIZE ||
	    r->code_addr + r->code_size < r->code_addr) {
		*why = "code larger than its record";
		return JITDUMP_BAD;
	}
	jit_escape_name(name, name_len, r->name);
	if (!r->name[0])
		snprintf(r->name, sizeof r->name, "[jit 0x%llx]", (unsigned long long)r->code_addr);
	r->code = (const uint8_t *)nul + 1;
	return JITDUMP_OK;
}

enum jitdump_result jitdump_parse_record(const uint8_t *buf, size_t len,
					 struct jitdump_record *r, const char **why)
{
	memset(r, 0, offsetof(struct jitdump_record, name));
	r->name[0] = '\0';
	r->code = NULL;
	if (len < RECORD_HEADER)
		return JITDUMP_MORE;
	r->id = u32_at(buf);
	r->total_size = u32_at(buf + 4);
	r->timestamp = u64_at(buf + 8);
	if (r->total_size < RECORD_HEADER || r->total_size > JITDUMP_MAX_RECORD) {
		*why = "impossible record size";
		return JITDUMP_BAD;
	}
	if (len < r->total_size)
		return JITDUMP_MORE;
	switch (r->id) {
	case JITDUMP_CODE_LOAD:
		if (r->total_size < LOAD_FIXED + 1) {
			*why = "code-load record too short";
			return JITDUMP_BAD;
		}
		return parse_load(buf, r, why);
	case JITDUMP_CODE_MOVE:
		if (r->total_size < MOVE_FIXED) {
			*why = "code-move record too short";
			return JITDUMP_BAD;
		}
		r->pid = u32_at(buf + 16);
		r->tid = u32_at(buf + 20);
		r->vma = u64_at(buf + 24);
		r->old_code_addr = u64_at(buf + 32);
		r->code_addr = u64_at(buf + 40);
		r->code_size = u64_at(buf + 48);
		r->code_index = u64_at(buf + 56);
		if (r->code_size > JIT_MAX_CODE_SIZE || r->code_addr + r->code_size < r->code_addr) {
			*why = "impossible code size";
			return JITDUMP_BAD;
		}
		return JITDUMP_OK;
	default:
		return JITDUMP_OK;
	}
}
