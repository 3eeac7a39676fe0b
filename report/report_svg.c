/* A self-contained, interactive SVG flame graph of the folded stacks: one
 * rectangle per frame, as wide as its inclusive count, callers below callees
 * (above them with --inverted, an icicle graph), siblings in the order of
 * the folded lines (alphabetical); each frame has a <title> (name, DSO,
 * count, percent) that browsers show on hover. Colors are warm, derived
 * from a hash of the function name, so a function has the same color
 * everywhere. A script in the file (flame_svg.js, compiled in) zooms into a
 * clicked frame, resets, and searches frames by regular expression showing
 * the matched share; frames carry what it needs (data-p: the parent frame,
 * data-n: the count, data-l: the label). The height fits the frames drawn,
 * not the deepest stack of a frame too narrow to see.
 *
 * The differential graph (prof diff --svg) takes its widths from the new
 * recording and colors each frame by how its inclusive count changed from
 * the base recording (frames matched by the names on their stack): red
 * grew, blue shrank, the deeper the more, white unchanged, as
 * flamegraph.pl's difffolded does. */
#include "report.h"
#include "folded.h"
#include "prof/diff.h"
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
	uint64_t base;          /* differential: the base recording's count of this stack */
	double x, cursor;       /* left edge; where the next child starts */
	bool drawn;
};

struct flame {
	struct frame *v;
	size_t n, cap, max_depth;
	bool inverted;
	const struct folded *base;   /* differential graph: the base recording */
	int64_t max_change;          /* differential: the largest |new - base| */
};

static size_t add_frame(struct flame *fl, size_t func, size_t parent)
{
	if (fl->n == fl->cap) {
		fl->cap = fl->cap ? 2 * fl->cap : 256;
		fl->v = xrealloc(fl->v, fl->cap * sizeof *fl->v);
	}
	fl->v[fl->n] = (struct frame){ func, parent, ROOT, ROOT, ROOT, 0, 0, 0, 0, 0, false };
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

/* Differential: red for growth, blue for shrinking, by the share of the
 * largest change; white when unchanged. */
static void change_color(const struct frame *fr, int64_t max_change, char *buf, size_t len)
{
	int64_t change = (int64_t)(fr->total - fr->base);
	double t = max_change ? (double)(change < 0 ? -change : change) / (double)max_change : 0;
	unsigned pale = (unsigned)(245 - 175 * t + 0.5);
	if (change > 0)
		snprintf(buf, len, "rgb(255,%u,%u)", pale, pale);
	else if (change < 0)
		snprintf(buf, len, "rgb(%u,%u,255)", pale, pale);
	else
		snprintf(buf, len, "rgb(245,245,245)");
}

static void frame_title(FILE *out, const struct folded *f, const struct flame *fl,
			const struct frame *fr, const char *unit)
{
	const char *name = fr->func == ROOT ? "all" : f->g.nodes[fr->func].name;
	uint64_t total = fl->v[0].total;
	char cnt[32], base[32];
	put_xml(out, name, (size_t)-1);
	if (fr->func != ROOT && f->g.nodes[fr->func].dso[0]) {
		fputs(" (", out);
		put_xml(out, f->g.nodes[fr->func].dso, (size_t)-1);
		fputc(')', out);
	}
	fprintf(out, "\n%s %s, %.2f%%", fmt_count(fr->total, cnt, sizeof cnt), unit,
		total ? 100.0 * (double)fr->total / (double)total : 0.0);
	if (fl->base) {
		int64_t change = (int64_t)(fr->total - fr->base);
		fprintf(out, "\nbase %s, change %s", fmt_count(fr->base, base, sizeof base),
			diff_fmt_delta(change, cnt, sizeof cnt));
		if (fr->base)
			fprintf(out, " (%+.2f%%)", 100.0 * (double)change / (double)fr->base);
	}
}

static double frame_y(const struct flame *fl, const struct frame *fr)
{
	size_t level = fl->inverted ? fr->depth : fl->max_depth - fr->depth;
	return TOP + (double)level * FRAME_H;
}

static void draw_frame(FILE *out, const struct folded *f, const struct flame *fl,
		       const struct frame *fr, double scale, const char *unit)
{
	const char *name = fr->func == ROOT ? "all" : f->g.nodes[fr->func].name;
	const char *label = fr->func == ROOT ? "all" : f->label[fr->func];
	double w = (double)fr->total * scale, y = frame_y(fl, fr);
	char color[32];
	if (fl->base)
		change_color(fr, fl->max_change, color, sizeof color);
	else
		warm_color(name, color, sizeof color);
	fprintf(out, "<g class=\"f\" id=\"f%zu\"", (size_t)(fr - fl->v));
	if (fr->parent != ROOT)
		fprintf(out, " data-p=\"f%zu\"", fr->parent);
	fprintf(out, " data-n=\"%llu\" data-l=\"", (unsigned long long)fr->total);
	put_xml(out, label, (size_t)-1);
	fputs("\"><title>", out);
	frame_title(out, f, fl, fr, unit);
	fprintf(out, "</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" rx=\"2\""
		" fill=\"%s\"/>", fr->x, y, w, FRAME_H - 1, color);
	size_t fit = w > 6 ? (size_t)((w - 6) / CHAR_W) : 0, len = strlen(label);
	fprintf(out, "<text x=\"%.2f\" y=\"%.1f\">", fr->x + 3, y + FRAME_H - 5);
	if (fit >= 3) {
		put_xml(out, label, len <= fit ? len : fit - 2);
		fputs(len <= fit ? "" : "..", out);
	}
	fputs("</text></g>\n", out);
}

/* Places every frame (x from its caller's cursor), marks those wide enough
 * to draw and returns the deepest drawn level. */
static size_t layout(struct flame *fl, double scale)
{
	size_t deepest = 0;
	fl->max_change = 0;
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
		fr->drawn = (double)fr->total * scale >= MIN_WIDTH;
		if (fr->drawn && fr->depth > deepest)
			deepest = fr->depth;
		int64_t change = (int64_t)(fr->total - fr->base);
		if (fr->drawn && i && llabs(change) > fl->max_change)
			fl->max_change = llabs(change);
	}
	return deepest;
}

extern const char flame_svg_js[];

static void header(FILE *out, const struct profile *p, const struct profile *base, int height,
		   bool inverted)
{
	char cnt[32], bcnt[32], dl[32];
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\""
		" viewBox=\"0 0 %d %d\" data-width=\"%d\" data-pad=\"%d\" data-inverted=\"%d\">\n",
		WIDTH, height, WIDTH, height, WIDTH, PAD, inverted);
	fputs("<style>\n"
	      "text { font-family: Verdana, \"DejaVu Sans\", sans-serif; font-size: 12px; fill: #000; }\n"
	      ".title { font-size: 17px; font-weight: bold; }\n"
	      ".sub { fill: #444; }\n"
	      ".f { cursor: pointer; }\n"
	      ".f text { pointer-events: none; }\n"
	      ".f:hover rect { stroke: #000; stroke-width: 1; }\n"
	      ".parent { opacity: 0.5; }\n"
	      ".hide { display: none; }\n"
	      ".button { cursor: pointer; fill: #333; }\n"
	      ".button:hover { text-decoration: underline; }\n"
	      "</style>\n"
	      "<defs><linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
	      "<stop offset=\"5%\" stop-color=\"#eeeeee\"/><stop offset=\"95%\" stop-color=\"#eeeeb0\"/>"
	      "</linearGradient></defs>\n", out);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#bg)\"/>\n",
		WIDTH, height);
	/* The command (clipped; whole in its title) and the totals. */
	const char *what = base ? "Differential flame graph: " : "Flame graph: ";
	size_t fit = (size_t)((WIDTH - 2 * PAD - 150) / (17 * 0.62)) - strlen(what);
	fprintf(out, "<text class=\"title\" x=\"%d\" y=\"26\"><title>", PAD);
	put_xml(out, p->command, (size_t)-1);
	fprintf(out, "</title>%s", what);
	put_xml(out, p->command, strlen(p->command) <= fit ? fit : fit - 2);
	fputs(strlen(p->command) <= fit ? "" : "..", out);
	fprintf(out, "</text>\n<text class=\"sub\" x=\"%d\" y=\"46\">", PAD);
	if (base)
		fprintf(out, "Width: the new recording, %s %s; color: change from the base recording"
			" (%s, %s): red grew, blue shrank.", fmt_count(p->total, cnt, sizeof cnt),
			p->sampled ? "samples" : "instructions", fmt_count(base->total, bcnt, sizeof bcnt),
			diff_fmt_delta((int64_t)(p->total - base->total), dl, sizeof dl));
	else if (p->sampled)
		fprintf(out, "%s samples (%u Hz, %s clock)", fmt_count(p->total, cnt, sizeof cnt),
			p->sample_freq, p->sample_clock ? p->sample_clock : "cpu");
	else
		fprintf(out, "%s instructions (exact, %s mode)", fmt_count(p->total, cnt, sizeof cnt),
			p->mode);
	if (!base)
		fprintf(out, " in %zu thread%s%s. Width: %s including callees; stacks %s.",
			p->nthreads, p->nthreads == 1 ? "" : "s", p->complete ? "" : " [INCOMPLETE]",
			p->sampled ? "samples" : "instructions",
			p->sampled ? "as sampled" : "rebuilt from the exact call graph");
	fputs(" Click a frame to zoom, Search (Ctrl-F) to highlight.</text>\n", out);
	fprintf(out, "<text id=\"unzoom\" class=\"button hide\" x=\"%d\" y=\"%d\">Reset Zoom</text>\n",
		PAD, height - 8);
	fprintf(out, "<text id=\"search\" class=\"button\" x=\"%d\" y=\"26\" text-anchor=\"end\">"
		"Search</text>\n", WIDTH - PAD);
	fprintf(out, "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"></text>\n",
		WIDTH - PAD, height - 8);
}

static void write_svg(FILE *out, const struct profile *p, const struct profile *base,
		      const struct folded *f, struct flame *fl)
{
	double scale = fl->v[0].total ? (WIDTH - 2.0 * PAD) / (double)fl->v[0].total : 0;
	fl->max_depth = layout(fl, scale);
	int height = TOP + (int)(fl->max_depth + 1) * FRAME_H + PAD + 16;
	header(out, p, base, height, fl->inverted);
	const char *unit = p->sampled ? "samples" : "instructions";
	for (size_t i = 0; i < fl->n; i++)
		if (fl->v[i].drawn)
			draw_frame(out, f, fl, &fl->v[i], scale, unit);
	fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n</svg>\n",
		flame_svg_js);
}

/* The tree of stack prefixes of the folded lines. */
static void build_tree(struct flame *fl, const struct folded *f)
{
	size_t root = add_frame(fl, ROOT, ROOT);
	fl->v[root].x = PAD;
	for (size_t i = 0; i < f->nlines; i++) {
		const struct folded_line *l = &f->lines[i];
		size_t at = root;
		fl->v[root].total += l->count;
		for (size_t d = 0; d < l->depth; d++) {
			at = child_of(fl, at, l->frames[d]);
			fl->v[at].total += l->count;
		}
	}
}

/* Differential: each base line's count goes to the frames of the new tree
 * whose stack has the same names, as far down as there is one. */
static void add_base_counts(struct flame *fl, const struct folded *nf, const struct folded *bf)
{
	for (size_t i = 0; i < bf->nlines; i++) {
		const struct folded_line *l = &bf->lines[i];
		size_t at = 0;
		fl->v[0].base += l->count;
		for (size_t d = 0; d < l->depth; d++) {
			const char *name = bf->label[l->frames[d]];
			size_t c = fl->v[at].first;
			while (c != ROOT && strcmp(nf->label[fl->v[c].func], name) != 0)
				c = fl->v[c].next;
			if (c == ROOT)
				break;
			at = c;
			fl->v[at].base += l->count;
		}
	}
}

static int write_file(const char *path, const struct profile *p, const struct profile *base,
		      const struct folded *f, struct flame *fl)
{
	bool to_stdout = strcmp(path, "-") == 0;
	FILE *out = to_stdout ? stdout : fopen(path, "w");
	if (!out) {
		log_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	write_svg(out, p, base, f, fl);
	if (ferror(out) | (to_stdout ? fflush(out) : fclose(out))) {
		log_error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int report_svg(const char *path, const struct profile *p, const struct report_options *o)
{
	struct folded f;
	folded_build(p, &f);
	struct flame fl = { .inverted = o->inverted };
	build_tree(&fl, &f);
	int rc = write_file(path, p, NULL, &f, &fl);
	free(fl.v);
	folded_free(&f);
	return rc;
}

int diff_svg(const char *path, const struct profile *base, const struct profile *new, bool inverted)
{
	struct folded nf, bf;
	folded_build(new, &nf);
	folded_build(base, &bf);
	struct flame fl = { .inverted = inverted, .base = &bf };
	build_tree(&fl, &nf);
	add_base_counts(&fl, &nf, &bf);
	int rc = write_file(path, new, base, &nf, &fl);
	free(fl.v);
	folded_free(&nf);
	folded_free(&bf);
	return rc;
}
