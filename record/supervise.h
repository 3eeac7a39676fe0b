/* prof record runs as two processes: the one the user started (and may
 * signal, or kill outright) supervises the tracer, a child that does the
 * recording. Killed, the supervisor takes nothing with it: the tracer is
 * told (its parent-death signal) and ends as on Ctrl-C, detaching an
 * attached program cleanly and finishing the recording. */
#ifndef PROF_SUPERVISE_H
#define PROF_SUPERVISE_H

#include <sys/types.h>

/* Forks the tracer. In the tracer, returns 0 (carry on recording); in the
 * supervisor, returns only with the exit status prof must end with. -1 when
 * the fork failed (record in this process, unsupervised). */
int supervise_fork(pid_t *supervisor);

#endif
