/* A live progress line on stderr while recording (terminal only). It never
 * mixes with the program's own output on the same terminal: the tracer
 * reports the program's reads and writes of that terminal, and the line is
 * erased before each and drawn again only once the program has ended its
 * line. */
#ifndef PROF_PROGRESS_H
#define PROF_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct progress {
	bool enabled;
	const char *unit;          /* "instructions" or "samples" */
	dev_t tty;                 /* the terminal stderr writes to */
	uint64_t start_ns, last_ns;
	uint64_t quiet_until_ns;   /* no redraw before (just after the program wrote) */
	uint64_t last_count;
	unsigned ticks;
	bool shown;                /* the line is on the screen now */
	int held;                  /* program reads and writes of the terminal under way */
	bool line_open;            /* the program's last output did not end its line */
};

void progress_init(struct progress *p, bool enabled, const char *unit);
/* Whether the program of pid has the terminal of our stderr as its stdin,
 * stdout or stderr (a launched program always has). */
bool progress_shares_terminal(pid_t pid);
/* Whether syscalls must be reported (the line is enabled). */
bool progress_watches_syscalls(const struct progress *p);
/* pid is about to make syscall nr: when it reads or writes our terminal, the
 * line is erased and held off. Returns true when it is held: then call
 * progress_syscall_exit once the call returned (or never will). */
bool progress_syscall_entry(struct progress *p, pid_t pid, long nr, const uint64_t args[6]);
/* ret < 0 or !returned: the call failed or did not come back. */
void progress_syscall_exit(struct progress *p, pid_t pid, long nr, const uint64_t args[6],
			   bool returned, int64_t ret);
/* Cheap to call on every stop: looks at the clock every few hundred calls. */
void progress_tick(struct progress *p, uint64_t count);
/* Erases the line so the summary starts on a clean one. */
void progress_done(struct progress *p);

#endif
