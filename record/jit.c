#include "jit.h"
#include "tracer.h"
#include "prof/jitfile.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_BYTES (1ull << 30)     /* read no more of one file than this */
#define MAX_MOVABLE (1u << 20)          /* code-load names kept for code-move records */
#define READ_CHUNK (1u << 20)
#define STALE_PREFIX 4096

struct jit_source {
	char *path;
	enum jit_source_kind kind;
	int fd;                 /* -1: not opened (yet) */
	bool given_up;          /* refused or malformed: not read again */
	dev_t dev;
	ino_t ino;
	uint64_t offset;        /* bytes of the file consumed */
	uint8_t *buf;           /* read, not parsed yet */
	size_t len, cap;
	bool header_done;       /* jitdump: the file header was read */
	bool skipping_line;     /* perf map: inside an overlong line */
	bool stale;             /* perf map: one was there before the process ran */
	ino_t stale_ino;
	off_t stale_size;
	uint64_t stale_hash;
	uint64_t bad, entries;
	char *problem;          /* the first problem found, for the one warning */
	struct jitdump_record *record;  /* jitdump: the one being parsed */
	char **names;           /* jitdump: the names of code loads, by code_index */
	uint64_t *indexes;
	size_t nnames;
};

/* The hash of a file's first bytes (up to n of them); false when unreadable. */
static bool prefix_hash(int fd, off_t n, uint64_t *h)
{
	uint8_t buf[STALE_PREFIX];
	size_t want = n < STALE_PREFIX ? (size_t)n : STALE_PREFIX;
	ssize_t got = pread(fd, buf, want, 0);
	if (got != (ssize_t)want)
		return false;
	*h = hash_fnv1a(buf, want);
	return true;
}

static int open_jit_file(const char *path)
{
	return open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
}

static struct jit_source *source_new(char *path, enum jit_source_kind kind)
{
	struct jit_source *s = xcalloc(1, sizeof *s);
	s->path = path;
	s->kind = kind;
	s->fd = -1;
	return s;
}

static void note_problem(struct jit_source *s, char *what)
{
	s->bad++;
	if (!s->problem)
		s->problem = what;
	else
		free(what);
}

static void give_up(struct jit_source *s, char *why)
{
	note_problem(s, why);
	s->given_up = true;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void read_uids(pid_t pid, uid_t *uid, uid_t *euid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	*uid = *euid = geteuid();
	while (f && fgets(line, sizeof line, f)) {
		unsigned long r, e;
		if (sscanf(line, "Uid: %lu %lu", &r, &e) == 2) {
			*uid = (uid_t)r;
			*euid = (uid_t)e;
		}
	}
	if (f)
		fclose(f);
}

void jit_files_init(struct jit_files *jf, pid_t pid, bool from_start)
{
	*jf = (struct jit_files){ 0 };
	read_uids(pid, &jf->uid, &jf->euid);
	struct jit_source *s = source_new(xasprintf("/tmp/perf-%d.map", (int)pid), JIT_PERF_MAP);
	jf->perf_map = s;
	int fd = from_start ? open_jit_file(s->path) : -1;
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    prefix_hash(fd, st.st_size, &s->stale_hash)) {
		s->stale = true;
		s->stale_ino = st.st_ino;
		s->stale_size = st.st_size;
	}
	if (fd >= 0)
		close(fd);
}

void jit_files_saw_maps(struct jit_files *jf, pid_t pid, const struct map_list *exec_maps)
{
	if (jf->jitdump || !jf->perf_map)
		return;
	char want[40];
	snprintf(want, sizeof want, "jit-%d.dump", (int)pid);
	for (size_t i = 0; i < exec_maps->n; i++) {
		const char *path = exec_maps->v[i].path;
		if (path[0] == '/' && strcmp(basename_of(path), want) == 0) {
			jf->jitdump = source_new(xstrdup(path), JIT_DUMP);
			return;
		}
	}
}

/* Only the program's own files are believed: one another user could write
 * would name its code as that user pleases. */
static bool owner_ok(const struct jit_files *jf, uid_t owner)
{
	return owner == 0 || owner == geteuid() || owner == jf->uid || owner == jf->euid;
}

/* Opens the file, or finds it replaced or truncated; false when there is
 * nothing to read now. */
static bool source_ready(const struct jit_files *jf, struct jit_source *s, struct stat *st)
{
	if (s->given_up)
		return false;
	if (s->fd >= 0) {
		struct stat now;
		if (stat(s->path, &now) == 0 && (now.st_ino != s->ino || now.st_dev != s->dev)) {
			close(s->fd); /* a new file at the path: read it from its start */
			s->fd = -1;
		}
	}
	if (s->fd < 0) {
		s->fd = open_jit_file(s->path);
		if (s->fd < 0) {
			if (errno != ENOENT)
				give_up(s, xasprintf("cannot open it: %s", strerror(errno)));
			return false;
		}
		if (fstat(s->fd, st) != 0 || !S_ISREG(st->st_mode)) {
			give_up(s, xstrdup("not a regular file"));
			return false;
		}
		if (!owner_ok(jf, st->st_uid)) {
			give_up(s, xasprintf("owned by uid %u, not by the program's user",
					     (unsigned)st->st_uid));
			return false;
		}
		uint64_t h;
		bool was_stale = s->stale && st->st_ino == s->stale_ino && st->st_size >= s->stale_size &&
				 prefix_hash(s->fd, s->stale_size, &h) && h == s->stale_hash;
		s->dev = st->st_dev;
		s->ino = st->st_ino;
		s->offset = was_stale ? (uint64_t)s->stale_size : 0;
		s->len = 0;
		s->header_done = s->skipping_line = false;
	}
	if (fstat(s->fd, st) != 0)
		return false;
	if ((uint64_t)st->st_size < s->offset) { /* truncated: written again from the start */
		s->offset = 0;
		s->len = 0;
		s->header_done = s->skipping_line = false;
	}
	return (uint64_t)st->st_size > s->offset;
}

static void emit_symbol(struct tracer *tr, struct proc *p, enum jit_source_kind kind,
			uint64_t start, uint64_t size, const char *name,
			const struct jitdump_record *r)
{
	struct prof_event ev = { .kind = EV_JIT_SYMBOL };
	ev.jit.proc = p->id;
	ev.jit.stamp = p->gens.clock;
	ev.jit.source = (uint8_t)kind;
	ev.jit.start = start;
	ev.jit.size = size;
	ev.jit.name = xstrdup(name);
	if (r) {
		ev.jit.code_index = r->code_index;
		ev.jit.has_load_ns = !(p->jit.jitdump_flags & 1); /* bit 0: TSC, not ns */
		ev.jit.load_ns = r->timestamp;
		if (r->code && r->code_size && tracer_take_code_budget(tr, r->code_size)) {
			ev.jit.code = xmalloc(r->code_size);
			memcpy(ev.jit.code, r->code, r->code_size);
		}
	}
	tracer_emit(tr, &ev);
}

/* ---- perf maps ---- */

static void perf_map_line(struct tracer *tr, struct proc *p, struct jit_source *s,
			  const char *line, size_t len)
{
	uint64_t start, size;
	char name[JIT_MAX_NAME + 8];
	if (len == 0)
		return;
	if (!perfmap_parse_line(line, len, &start, &size, name)) {
		note_problem(s, xasprintf("malformed line near byte %llu",
					  (unsigned long long)s->offset));
		return;
	}
	s->entries++;
	emit_symbol(tr, p, JIT_PERF_MAP, start, size, name, NULL);
}

/* Parses the complete lines of s->buf (all of it when at_end). */
static void parse_perf_map(struct tracer *tr, struct proc *p, struct jit_source *s, bool at_end)
{
	size_t pos = 0;
	while (pos < s->len) {
		const uint8_t *nl = memchr(s->buf + pos, '\n', s->len - pos);
		size_t end = nl ? (size_t)(nl - s->buf) : s->len;
		if (!nl && !at_end && end - pos <= PERFMAP_MAX_LINE)
			break; /* the rest of the line is still being written */
		if (s->skipping_line || end - pos > PERFMAP_MAX_LINE) {
			if (!s->skipping_line)
				note_problem(s, xasprintf("line longer than %d bytes", PERFMAP_MAX_LINE));
			s->skipping_line = !nl;
		} else {
			perf_map_line(tr, p, s, (const char *)s->buf + pos, end - pos);
		}
		s->offset += end - pos + (nl ? 1 : 0);
		pos = end + (nl ? 1 : 0);
	}
	if (s->len > pos) /* s->buf is NULL before the first read */
		memmove(s->buf, s->buf + pos, s->len - pos);
	s->len -= pos;
}

/* ---- jitdump ---- */

static void remember_name(struct jit_source *s, uint64_t code_index, const char *name)
{
	if (s->nnames >= MAX_MOVABLE)
		return;
	if ((s->nnames & (s->nnames - 1)) == 0) {
		size_t cap = s->nnames ? 2 * s->nnames : 1;
		s->names = xrealloc(s->names, cap * sizeof *s->names);
		s->indexes = xrealloc(s->indexes, cap * sizeof *s->indexes);
	}
	s->names[s->nnames] = xstrdup(name);
	s->indexes[s->nnames++] = code_index;
}

static const char *name_of_index(const struct jit_source *s, uint64_t code_index)
{
	for (size_t i = s->nnames; i-- > 0;) /* the latest load of that index */
		if (s->indexes[i] == code_index)
			return s->names[i];
	return NULL;
}

static void jitdump_record(struct tracer *tr, struct proc *p, struct jit_source *s,
			   const struct jitdump_record *r)
{
	if (r->id == JITDUMP_CODE_LOAD) {
		s->entries++;
		remember_name(s, r->code_index, r->name);
		if (r->code_size)
			emit_symbol(tr, p, JIT_DUMP, r->code_addr, r->code_size, r->name, r);
	} else if (r->id == JITDUMP_CODE_MOVE) {
		const char *name = name_of_index(s, r->code_index);
		if (!name) {
			note_problem(s, xasprintf("code move of unknown code index %llu",
						  (unsigned long long)r->code_index));
			return;
		}
		s->entries++;
		struct jitdump_record moved = *r;
		moved.code = NULL; /* the bytes are the load's */
		if (r->code_size)
			emit_symbol(tr, p, JIT_DUMP, r->code_addr, r->code_size, name, &moved);
	}
}

static void parse_jitdump(struct tracer *tr, struct proc *p, struct jit_source *s)
{
	size_t pos = 0;
	const char *why = NULL;
	enum jitdump_result res = JITDUMP_OK;
	if (!s->header_done) {
		struct jitdump_header h;
		res = jitdump_parse_header(s->buf, s->len, &h, &why);
		if (res == JITDUMP_OK) {
			s->header_done = true;
			p->jit.jitdump_flags = h.flags;
			pos = h.total_size;
		}
	}
	if (!s->record)
		s->record = xmalloc(sizeof *s->record); /* large: its name */
	while (res == JITDUMP_OK && pos < s->len) {
		res = jitdump_parse_record(s->buf + pos, s->len - pos, s->record, &why);
		if (res != JITDUMP_OK)
			break;
		jitdump_record(tr, p, s, s->record);
		pos += s->record->total_size;
	}
	s->offset += pos;
	memmove(s->buf, s->buf + pos, s->len - pos);
	s->len -= pos;
	if (res == JITDUMP_BAD)
		give_up(s, xasprintf("%s near byte %llu", why, (unsigned long long)s->offset));
}

/* ---- reading ---- */

static void poll_source(struct tracer *tr, struct proc *p, struct jit_source *s, bool at_end)
{
	struct stat st;
	if (!s)
		return;
	if (source_ready(&p->jit, s, &st)) {
		while (!s->given_up && (uint64_t)st.st_size > s->offset + s->len) {
			if (s->offset + s->len >= MAX_FILE_BYTES) {
				give_up(s, xasprintf("larger than %llu MiB: the rest is ignored",
						     MAX_FILE_BYTES >> 20));
				break;
			}
			if (s->len + READ_CHUNK > s->cap) { /* a large jitdump record grows it */
				s->cap = s->cap * 2 > s->len + READ_CHUNK ? s->cap * 2 : s->len + READ_CHUNK;
				s->buf = xrealloc(s->buf, s->cap);
			}
			ssize_t n = pread(s->fd, s->buf + s->len, READ_CHUNK, (off_t)(s->offset + s->len));
			if (n <= 0)
				break;
			s->len += (size_t)n;
			if (s->kind == JIT_PERF_MAP)
				parse_perf_map(tr, p, s, false);
			else
				parse_jitdump(tr, p, s);
		}
	}
	if (at_end && !s->given_up && s->kind == JIT_PERF_MAP)
		parse_perf_map(tr, p, s, true);
}

void jit_files_poll(struct tracer *tr, struct proc *p)
{
	poll_source(tr, p, p->jit.perf_map, false);
	poll_source(tr, p, p->jit.jitdump, false);
}

static void source_free(struct jit_source *s, pid_t pid)
{
	if (!s)
		return;
	if (s->problem) {
		char more[64] = "";
		if (s->bad > 1)
			snprintf(more, sizeof more, " (and %llu more)", (unsigned long long)(s->bad - 1));
		log_warn("%s (process %d): %s%s; %llu entr%s used", s->path, (int)pid, s->problem,
			 more, (unsigned long long)s->entries, s->entries == 1 ? "y" : "ies");
	}
	if (s->fd >= 0)
		close(s->fd);
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	free(s->indexes);
	free(s->problem);
	free(s->record);
	free(s->buf);
	free(s->path);
	free(s);
}

void jit_files_close(struct tracer *tr, struct proc *p)
{
	poll_source(tr, p, p->jit.perf_map, true);
	poll_source(tr, p, p->jit.jitdump, true);
	struct jit_source *jd = p->jit.jitdump;
	if (jd && !jd->given_up && jd->len)
		note_problem(jd, xasprintf("it ends inside a record, at byte %llu",
					   (unsigned long long)jd->offset));
	source_free(p->jit.perf_map, p->pid);
	source_free(p->jit.jitdump, p->pid);
	p->jit.perf_map = p->jit.jitdump = NULL;
}
