/* A live progress line on stderr while recording (terminal only). */
#ifndef PROF_PROGRESS_H
#define PROF_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool enabled;
	uint64_t start_ns, last_ns;
	uint64_t last_count;
	unsigned ticks;
	bool shown;
};

void progress_init(struct progress *p, bool enabled);
/* Cheap to call on every stop: looks at the clock every few hundred calls. */
void progress_tick(struct progress *p, uint64_t instructions);
/* Erases the line so the summary starts on a clean one. */
void progress_done(struct progress *p);

#endif
