#include "progress.h"
#include "prof/util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define REFRESH_NS 250000000ull

void progress_init(struct progress *p, bool enabled)
{
	memset(p, 0, sizeof *p);
	p->enabled = enabled && isatty(STDERR_FILENO);
	p->start_ns = p->last_ns = now_ns();
}

void progress_tick(struct progress *p, uint64_t instructions)
{
	if (!p || !p->enabled || ++p->ticks % 256)
		return;
	uint64_t now = now_ns();
	if (now - p->last_ns < REFRESH_NS)
		return;
	double dt = (double)(now - p->last_ns) / 1e9;
	double rate = (double)(instructions - p->last_count) / dt;
	char count[32];
	fprintf(stderr, "\r\033[Kprof: %s instructions  %.1fk/s  %.1f s",
		fmt_count(instructions, count, sizeof count), rate / 1e3,
		(double)(now - p->start_ns) / 1e9);
	fflush(stderr);
	p->last_ns = now;
	p->last_count = instructions;
	p->shown = true;
}

void progress_done(struct progress *p)
{
	if (p->enabled && p->shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}
