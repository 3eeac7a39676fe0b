/* A self-contained SVG flame graph of the folded stacks (no JavaScript):
 * one rectangle per frame, as wide as its inclusive count, callers below
 * callees, siblings in the order of the folded lines (alphabetical); each
 * frame has a <title> (name, DSO, count, percent) that browsers show on
 * hover. Colors are warm, derived from a hash of the function name, so a
 * function has the same color everywhere. */
#include "report.h"
#include "folded.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 1200
#define PAD 10
#define FRAME_H 17
#define FONT_PX 12
#define CHAR_W (FONT_PX * 0.62)   /* average glyph width estimate, for clipping */
#define TOP 66                    /* below the header */
#define MIN_WIDTH 0.1             /* narrower frames (and their callees) are left out */
#define ROOT ((size_t)-1)

struct frame {
	size_t func;            /* node index; ROOT for "all" */
	size_t parent, first, last, next;
	size_t depth;
	uint64_t total;
	double x, cursor;       /* left edge; where the next child starts */
};

struct flame {
	struct frame *v;
	size_t n, cap, max_depth;
};

static size_t add_frame(struct flame *fl, size_t func, size_t parent)
{
	if (fl->n == fl->cap) {
		fl->cap = fl->cap ? 2 * fl->cap : 256;
		fl->v = xrealloc(fl->v, fl->cap * sizeof *fl->v);
	}
	fl->v[fl->n] = (struct frame){ func, parent, ROOT, ROOT, ROOT, 0, 0, 0, 0 };
	if (parent != ROOT) {
		struct frame *p = &fl->v[parent];
		fl->v[fl->n].depth = p->depth + 1;
		if (p->last == ROOT)
			p->first = fl->n;
		else
			fl->v[p->last].next = fl->n;
		p->last = fl->n;
		if (p->depth + 1 > fl->max_depth)
			fl->max_depth = p->depth + 1;
	}
	return fl->n++;
}

static size_t child_of(struct flame *fl, size_t parent, size_t func)
{
	size_t last = fl->v[parent].last; /* the lines are sorted: usually the last one */
	if (last != ROOT && fl->v[last].func == func)
		return last;
	for (size_t c = fl->v[parent].first; c != ROOT; c = fl->v[c].next)
		if (fl->v[c].func == func)
			return c;
	return add_frame(fl, func, parent);
}

/* Text for SVG: XML escapes; non-ASCII bytes become '?' so that clipping
 * never splits a character. */
static void put_xml(FILE *out, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(c >= 0x20 && c < 0x7f ? c : (c == '\n' ? c : '?'), out);
		}
	}
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h ^ (h >> 15);
}

/* Warm, from deep orange to light amber (red 215-255, green 85-190, blue
 * 25-75): never olive, and black text stays readable on all of them. */
static void warm_color(const char *name, char *buf, size_t len)
{
	uint32_t h = name_hash(name);
	snprintf(buf, len, "rgb(%u,%u,%u)", 215 + (h & 0xff) * 40 / 255,
		 85 + ((h >> 8) & 0xff) * 105 / 255, 25 + ((h >> 16) & 0xff) * 50 / 255);
}

static void draw_frame(FILE *out, const struct folded *f, const struct flame *fl,
		       const struct frame *fr, double scale, uint64_t total, const char *unit)
{
	const char *name = fr->func == ROOT ? "all" : f->g.nodes[fr->func].name;
	const char *label = fr->func == ROOT ? "all" : f->label[fr->func];
	double w = (double)fr->total * scale;
	double y = TOP + (double)(fl->max_depth - fr->depth) * FRAME_H;
	char cnt[32], color[32];
	warm_color(name, color, sizeof color);
	fputs("<g class=\"f\"><title>", out);
	put_xml(out, name, (size_t)-1);
	if (fr->func != ROOT && f->g.nodes[fr->func].dso[0]) {
		fputs(" (", out);
		put_xml(out, f->g.nodes[fr->func].dso, (size_t)-1);
		fputc(')', out);
	}
	fprintf(out, "\n%s %s, %.2f%%</title>", fmt_count(fr->total, cnt, sizeof cnt), unit,
		total ? 100.0 * (double)fr->total / (double)total : 0.0);
	fprintf(out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" rx=\"2\" fill=\"%s\"/>",
		fr->x, y, w, FRAME_H - 1, color);
	size_t fit = w > 6 ? (size_t)((w - 6) / CHAR_W) : 0, len = strlen(label);
	if (fit >= 3) {
		fprintf(out, "<text x=\"%.2f\" y=\"%.1f\">", fr->x + 3, y + FRAME_H - 5);
		put_xml(out, label, len <= fit ? len : fit - 2);
		fputs(len <= fit ? "" : "..", out);
		fputs("</text>", out);
	}
	fputs("</g>\n", out);
}

static void write_svg(FILE *out, const struct profile *p, const struct folded *f,
		      struct flame *fl)
{
	double scale = f->total ? (WIDTH - 2.0 * PAD) / (double)f->total : 0;
	int height = TOP + (int)(fl->max_depth + 1) * FRAME_H + PAD + 16;
	char cnt[32];
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\""
		" viewBox=\"0 0 %d %d\">\n", WIDTH, height, WIDTH, height);
	fputs("<style>\n"
	      "text { font-family: Verdana, \"DejaVu Sans\", sans-serif; font-size: 12px; fill: #000; }\n"
	      ".title { font-size: 17px; font-weight: bold; }\n"
	      ".sub { fill: #444; }\n"
	      ".f text { pointer-events: none; }\n"
	      ".f:hover rect { stroke: #000; stroke-width: 1; }\n"
	      "</style>\n"
	      "<defs><linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
	      "<stop offset=\"5%\" stop-color=\"#eeeeee\"/><stop offset=\"95%\" stop-color=\"#eeeeb0\"/>"
	      "</linearGradient></defs>\n", out);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#bg)\"/>\n",
		WIDTH, height);
	/* Header: the command (clipped; whole in its title) and the totals. */
	size_t fit = (size_t)((WIDTH - 2 * PAD) / (17 * 0.62)) - 12;
	fprintf(out, "<text class=\"title\" x=\"%d\" y=\"26\"><title>", PAD);
	put_xml(out, p->command, (size_t)-1);
	fputs("</title>Flame graph: ", out);
	put_xml(out, p->command, strlen(p->command) <= fit ? fit : fit - 2);
	fputs(strlen(p->command) <= fit ? "" : "..", out);
	fprintf(out, "</text>\n<text class=\"sub\" x=\"%d\" y=\"46\">", PAD);
	if (p->sampled)
		fprintf(out, "%s samples (%u Hz, %s clock)", fmt_count(p->total, cnt, sizeof cnt),
			p->sample_freq, p->sample_clock ? p->sample_clock : "cpu");
	else
		fprintf(out, "%s instructions (exact, %s mode)", fmt_count(p->total, cnt, sizeof cnt),
			p->mode);
	fprintf(out, " in %zu thread%s%s. Width: %s including callees; stacks %s."
		" Hover a frame for its count.</text>\n", p->nthreads, p->nthreads == 1 ? "" : "s",
		p->complete ? "" : " [INCOMPLETE]", p->sampled ? "samples" : "instructions",
		p->sampled ? "as sampled" : "rebuilt from the exact call graph");
	for (size_t i = 0; i < fl->n; i++) {
		struct frame *fr = &fl->v[i];
		if (fr->parent != ROOT) {
			struct frame *par = &fl->v[fr->parent];
			fr->x = par->cursor;
			par->cursor += (double)fr->total * scale;
		}
		fr->cursor = fr->x;
		/* Callees are never wider than their caller: a narrow frame
		 * leaves out its callees too. */
		if ((double)fr->total * scale < MIN_WIDTH)
			continue;
		draw_frame(out, f, fl, fr, scale, f->total, p->sampled ? "samples" : "instructions");
	}
	fputs("</svg>\n", out);
}

int report_svg(const char *path, const struct profile *p, const struct report_options *o)
{
	struct folded f;
	folded_build(p, &f);
	struct flame fl = { 0 };
	size_t root = add_frame(&fl, ROOT, ROOT);
	fl.v[root].x = PAD;
	for (size_t i = 0; i < f.nlines; i++) {
		const struct folded_line *l = &f.lines[i];
		size_t at = root;
		fl.v[root].total += l->count;
		for (size_t d = 0; d < l->depth; d++) {
			at = child_of(&fl, at, l->frames[d]);
			fl.v[at].total += l->count;
		}
	}
	bool to_stdout = strcmp(path, "-") == 0;
	FILE *out = to_stdout ? stdout : fopen(path, "w");
	int rc = 0;
	if (!out) {
		log_error("cannot write %s: %s", path, strerror(errno));
		rc = -1;
	} else {
		write_svg(out, p, &f, &fl);
		if (ferror(out) | (to_stdout ? fflush(out) : fclose(out))) {
			log_error("cannot write %s: %s", path, strerror(errno));
			rc = -1;
		}
	}
	free(fl.v);
	folded_free(&f);
	return rc;
}
