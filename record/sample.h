/* Sample mode's side of prof's timer. */
#ifndef PROF_SAMPLE_H
#define PROF_SAMPLE_H

#include <stdint.h>

struct tracer_options;

/* The period of prof's timer for a recording with these options: the
 * sample period when prof samples by ptrace, several periods when the
 * kernel samples and the timer only collects its samples. */
uint64_t sample_tick_ns(const struct tracer_options *opt);

#endif
