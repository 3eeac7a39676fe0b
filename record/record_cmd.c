/* prof record: options, launching the program under ptrace, the recording's
 * meta data and summary. The loop itself is tracer.c. */
#include "prof/commands.h"
#include "affinity.h"
#include "progress.h"
#include "sample.h"
#include "tracer.h"
#include "verify.h"
#include "writer.h"
#include "prof/log.h"
#include "prof/names.h"
#include "prof/store.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

struct record_args {
	const char *output;
	const char *mode;
	pid_t attach_pid;      /* -p; 0 = launch argv */
	bool verify;           /* --verify: compare with a step-mode run */
	double duration;       /* --duration seconds; 0 = until the end */
	struct tracer_options topt;
	char **argv;   /* program and its arguments */
	struct affinity affinity; /* the pin, hidden from the program */
};

static volatile sig_atomic_t interrupted_by;
static volatile sig_atomic_t time_up;
static volatile sig_atomic_t tick;

/* A signal that lands between the tracer's flag check and its waitpid would
 * wait for the next child event, which a blocked program never makes: a
 * child that exits at once makes one, so waitpid always returns. A raw
 * clone, as fork's atfork handlers are not safe in a signal handler. */
static void wake_tracer(void)
{
	int saved = errno;
	if (syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) == 0)
		syscall(SYS_exit_group, 0);
	errno = saved;
}

static void on_interrupt(int sig)
{
	if (sig == SIGPROF) {
		tick = 1; /* the next tick interrupts a wait that missed this one */
		return;
	}
	if (sig == SIGALRM)
		time_up = 1;
	else
		interrupted_by = sig;
	wake_tracer();
}

static const char record_usage[] =
	"usage: prof record [options] [--] PROGRAM [ARGS...]\n"
	"       prof record [options] -p PID [--duration SECONDS]\n"
	"\n"
	"Runs PROGRAM (or attaches to process PID) under ptrace and records every\n"
	"instruction it executes, in every thread and child process.\n"
	"\n"
	"  -o, --output FILE     database to write (default prof.db; an existing\n"
	"                        recording is kept as FILE.old once the program\n"
	"                        runs; any other file is never replaced)\n"
	"  -m, --mode MODE       cache (default: exact, runs the program from a code\n"
	"                        cache prof writes into it: stops only at new code,\n"
	"                        syscalls and signals), block (exact, one stop per\n"
	"                        basic block),\n"
	"                        step (exact, single-steps every instruction) or\n"
	"                        sample (statistical, full speed, with call stacks)\n"
	"  -F, --freq HZ         sample mode: samples per second (default 999, max 10000)\n"
	"      --clock cpu|wall  sample mode: threads on CPU, weighted by CPU time\n"
	"                        (default), or every thread, blocked ones too\n"
	"  -p, --pid PID         attach to a running process (all its threads);\n"
	"                        detach at the end and leave it running\n"
	"  -d, --duration SECS   stop recording after SECS seconds\n"
	"  -q, --quiet           no progress line and no summary\n"
	"      --no-follow-fork  trace only the first process; children run untraced\n"
	"      --no-pin          do not pin tracer and program to one CPU\n"
	"      --no-scratch      block mode: map no scratch page; single-step what it would\n"
	"                        run out of line (as where the kernel refuses the page)\n"
	"      --collect FUNC    count only while FUNC (a symbol name) is on the call\n"
	"                        stack of a thread, as callgrind's --toggle-collect:\n"
	"                        what it and its callees execute (block, step)\n"
	"      --verify          record in block (or cache) mode, run again in step mode with\n"
	"                        address randomization off for both, and compare every\n"
	"                        instruction count (exit 3 when they differ)\n"
	"  -h, --help            this help\n"
	"\n"
	"prof record exits with the program's exit status (128+N if killed by signal N),\n"
	"126 or 127 when it cannot be run, 2 for bad options.\n";

static int parse_record_args(int argc, char **argv, struct record_args *a)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "no-follow-fork", no_argument, NULL, 'N' },
		{ "no-pin", no_argument, NULL, 'P' },
		{ "no-scratch", no_argument, NULL, 'S' },
		{ "verify", no_argument, NULL, 'V' },
		{ "freq", required_argument, NULL, 'F' },
		{ "clock", required_argument, NULL, 'c' },
		{ "collect", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	*a = (struct record_args){ .output = "prof.db", .mode = "cache",
				   .topt = { .follow_fork = true, .pin_cpu = true, .freq = 999 } };
	optind = 1;
	opterr = 0;
	int c;
	long long n;
	while ((c = getopt_long(argc, argv, "+o:m:qp:d:F:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if ((n = parse_count(optarg)) <= 0 || n > 0x7fffffff) {
				log_error("record: -p wants a process id, not '%s'", optarg);
				return -1;
			}
			a->attach_pid = (pid_t)n;
			break;
		case 'd':
			/* The timer counts microseconds; a year is a typo, not a limit. */
			if (parse_number("record", "duration", optarg, 0.001, 366 * 86400.0,
					 &a->duration) != 0)
				return -1;
			break;
		case 'o': a->output = optarg; break;
		case 'm': a->mode = optarg; break;
		case 'q': a->topt.quiet = true; break;
		case 'N': a->topt.follow_fork = false; break;
		case 'P': a->topt.pin_cpu = false; break;
		case 'S': a->topt.no_scratch = true; break;
		case 'V': a->verify = a->topt.no_aslr = true; break;
		case 'F':
			if ((n = parse_count(optarg)) < 1 || n > 10000) {
				log_error("record: --freq wants 1 to 10000 (Hz), not '%s'", optarg);
				return -1;
			}
			a->topt.freq = (unsigned)n;
			break;
		case 'c':
			if (strcmp(optarg, "cpu") != 0 && strcmp(optarg, "wall") != 0) {
				log_error("record: --clock wants cpu or wall, not '%s'", optarg);
				return -1;
			}
			a->topt.clock_wall = strcmp(optarg, "wall") == 0;
			break;
		case 'C':
			if (!*optarg) {
				log_error("record: --collect wants a function name");
				return -1;
			}
			a->topt.collect = optarg;
			break;
		case 'h': fputs(record_usage, stdout); exit(0);
		default:
			log_error("record: unknown or incomplete option '%s' (see 'prof record --help')",
				  argv[optind - 1]);
			return -1;
		}
	}
	if (strcmp(a->mode, "step") == 0) {
		a->topt.mode = &step_mode;
	} else if (strcmp(a->mode, "block") == 0) {
		a->topt.mode = &block_mode;
	} else if (strcmp(a->mode, "cache") == 0) {
		a->topt.mode = &cache_mode;
	} else if (strcmp(a->mode, "sample") == 0) {
		a->topt.mode = &sample_mode;
		a->topt.pin_cpu = false; /* the program runs at full speed on its own CPU */
	} else {
		log_error("record: unknown mode '%s' (available: block, cache, step, sample)", a->mode);
		return -1;
	}
	if (a->topt.collect && (a->topt.mode == &sample_mode || a->topt.mode == &cache_mode)) {
		log_error("record: --collect counts exactly in block or step mode");
		return -1;
	}
	bool exact_fast = a->topt.mode == &block_mode || a->topt.mode == &cache_mode;
	if (a->verify && (a->attach_pid || !exact_fast || a->duration > 0)) {
		log_error("record: --verify checks a launched program recorded in block or cache mode");
		return -1;
	}
	if (a->attach_pid && optind < argc) {
		log_error("record: give either -p PID or a program, not both");
		return -1;
	}
	if (!a->attach_pid && optind >= argc) {
		log_error("record: no program given (usage: prof record [options] -- PROGRAM [ARGS...])");
		return -1;
	}
	a->argv = argv + optind;
	return 0;
}

/* Finds the program as execvp would, so a missing or non-executable file is
 * reported before anything else happens (and before prof.db is replaced). */
static char *resolve_program(const char *name, int *exit_code)
{
	char *found = NULL;
	if (strchr(name, '/')) {
		found = xstrdup(name);
	} else {
		const char *path = getenv("PATH");
		char *dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
		for (char *save, *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
			char *cand = xasprintf("%s/%s", *d ? d : ".", name);
			if (access(cand, X_OK) == 0)
				found = cand;
			else
				free(cand);
		}
		free(dirs);
		if (!found) {
			log_error("cannot run '%s': command not found", name);
			*exit_code = 127;
			return NULL;
		}
	}
	struct stat st;
	if (stat(found, &st) != 0) {
		log_error("cannot run '%s': %s", name, strerror(errno));
		*exit_code = 127;
	} else if (!S_ISREG(st.st_mode) || access(found, X_OK) != 0) {
		log_error("cannot run '%s': %s", name,
			  S_ISDIR(st.st_mode) ? "is a directory" : "permission denied (not executable)");
		*exit_code = 126;
	} else {
		return found;
	}
	free(found);
	return NULL;
}

static char *join_argv(char **argv)
{
	size_t len = 1;
	for (char **p = argv; *p; p++)
		len += strlen(*p) + 1;
	char *s = xcalloc(len, 1);
	for (char **p = argv; *p; p++) {
		if (p != argv)
			strcat(s, " ");
		strcat(s, *p);
	}
	return s;
}

static void send_meta(struct writer *w, const char *key, char *value_owned)
{
	struct prof_event ev = { .kind = EV_META };
	ev.meta.key = xstrdup(key);
	ev.meta.value = value_owned;
	writer_send(w, &ev);
}

/* fork + PTRACE_TRACEME + exec; exec errors come back through a CLOEXEC pipe. */
/* Sample mode needs PTRACE_SEIZE (for PTRACE_INTERRUPT): the child stops
 * itself before exec, is seized, continued, and stops at its exec event. */
static int seize_stopped_child(pid_t pid, long options)
{
	int status;
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		return -1;
	if (ptrace(PTRACE_SEIZE, pid, 0, options | PTRACE_O_TRACEEXEC) != 0) {
		log_error("ptrace(SEIZE): %s", strerror(errno));
		return -1;
	}
	return kill(pid, SIGCONT);
}

static int wait_exec_event(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, __WALL) == pid) {
		if (!WIFSTOPPED(status))
			return -1;
		if (status >> 16 == PTRACE_EVENT_EXEC)
			return 0;
		int sig = status >> 16 == 0 && WSTOPSIG(status) != SIGCONT ? WSTOPSIG(status) : 0;
		if (ptrace(PTRACE_CONT, pid, 0, sig) != 0)
			return -1;
	}
	return -1;
}

/* Says why the child did not run; returns prof record's exit code, as a
 * shell's: 127 for a program not found, 126 for one that cannot run. */
static int report_launch_error(const char *name, int child_errno)
{
	if (child_errno == -EPERM) {
		log_error("cannot trace '%s': ptrace refused (EPERM): running under another "
			  "tracer, or a seccomp/container policy forbids ptrace", name);
		return 1;
	}
	if (child_errno < 0) {
		log_error("cannot trace '%s': %s", name, strerror(-child_errno));
		return 1;
	}
	if (child_errno == ENOEXEC)
		log_error("cannot run '%s': not an executable this machine can run "
			  "(exec format error)", name);
	else
		log_error("cannot run '%s': %s", name, strerror(child_errno));
	return child_errno == ENOENT ? 127 : 126;
}

/* Returns the child stopped after its exec, before its first instruction, or
 * -1 with the exit code in *code. */
static pid_t launch(char *path, char **argv, bool no_aslr, long seize_options, int *code)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		log_error("pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (no_aslr && personality(ADDR_NO_RANDOMIZE) == -1)
			_exit(127);
		if (seize_options ? raise(SIGSTOP) != 0 : ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) {
			int e = -errno; /* negative: tracing refused, not exec */
			ssize_t w = write(pfd[1], &e, sizeof e);
			(void)w;
			_exit(127);
		}
		execv(path, argv);
		int e = errno;
		ssize_t w = write(pfd[1], &e, sizeof e);
		(void)w;
		_exit(127);
	}
	close(pfd[1]);
	/* A seized child stops at every signal: walk it to its exec before
	 * reading the pipe, which closes at exec. */
	int seized = 0;
	if (seize_options)
		seized = seize_stopped_child(pid, seize_options) == 0 ? wait_exec_event(pid) : -1;
	int child_errno = 0;
	ssize_t n = read(pfd[0], &child_errno, sizeof child_errno);
	close(pfd[0]);
	if (n == (ssize_t)sizeof child_errno) {
		waitpid(pid, NULL, 0);
		*code = report_launch_error(argv[0], child_errno);
		return -1;
	}
	if (seize_options) {
		if (seized == 0)
			return pid;
		log_error("'%s' did not reach its exec under ptrace", argv[0]);
		kill(pid, SIGKILL);
		return -1;
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
		log_error("'%s' did not stop after exec as a traced program should", argv[0]);
		kill(pid, SIGKILL);
		return -1;
	}
	return pid;
}

static long ptrace_options(const struct tracer *tr)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
		    PTRACE_O_TRACECLONE;
	if (!tr->attached)
		opts |= PTRACE_O_EXITKILL; /* an attached process must survive us */
	/* Block mode traces even children it does not follow: they inherit
	 * its breakpoints, which must come out before they run free. */
	if (tr->opt.follow_fork || tr->opt.mode == &block_mode || tr->opt.mode == &cache_mode)
		opts |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	return opts;
}

static int start_tracing(struct tracer *tr, pid_t pid)
{
	if (ptrace(PTRACE_SETOPTIONS, pid, 0, ptrace_options(tr)) != 0) {
		log_error("ptrace(SETOPTIONS): %s", strerror(errno));
		kill(pid, SIGKILL);
		return -1;
	}
	tracer_adopt_first(tr, pid);
	return 0;
}

static void install_interrupt_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt; /* no SA_RESTART: waitpid must return EINTR */
	/* Every signal that would otherwise end prof ends the recording instead,
	 * so the database is finished and marked incomplete. */
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE };
	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
		sigaction(stops[i], &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGPROF, &sa, NULL);
}

/* Sample mode's clock: SIGPROF every period_ns, sent to this (tracer) thread
 * so it interrupts waitpid. */
static int start_sample_timer(uint64_t period_ns)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGPROF;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	timer_t timer;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
		log_error("cannot create the sampling timer: %s", strerror(errno));
		return -1;
	}
	time_t sec = (time_t)(period_ns / 1000000000u);
	long nsec = (long)(period_ns % 1000000000u);
	struct itimerspec its = { { sec, nsec }, { sec, nsec } };
	return timer_settime(timer, 0, &its, NULL);
}

static void arm_duration(double seconds)
{
	if (seconds <= 0)
		return;
	struct itimerval it = { { 0, 0 }, { (time_t)seconds,
					     (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6) } };
	if (setitimer(ITIMER_REAL, &it, NULL) != 0)
		log_warn("cannot arm --duration timer: %s", strerror(errno));
}

static int exit_code_of(const struct tracer *tr)
{
	if (interrupted_by && !tr->attached)
		return 128 + interrupted_by; /* we killed it */
	if (tr->main_ended && WIFEXITED(tr->main_status))
		return WEXITSTATUS(tr->main_status);
	if (tr->main_ended)
		return 128 + WTERMSIG(tr->main_status);
	return tr->attached ? 0 : 1; /* detached: the process runs on */
}

/* The name of the signal that killed the program ("SIGSEGV"), or NULL:
 * none did, or it was ours (Ctrl-C, --duration). Caller frees. */
static char *killed_by(const struct tracer *tr)
{
	if (interrupted_by || time_up || !tr->main_ended || !WIFSIGNALED(tr->main_status))
		return NULL;
	const char *abbrev = sigabbrev_np(WTERMSIG(tr->main_status));
	return abbrev ? xasprintf("SIG%s", abbrev) : xasprintf("signal %d", WTERMSIG(tr->main_status));
}

static void print_summary(const struct tracer *tr, const char *output, double seconds)
{
	char n[32];
	bool sampled = tr->opt.mode == &sample_mode;
	char syscalls[48] = ""; /* sample mode does not see them */
	if (!sampled)
		snprintf(syscalls, sizeof syscalls, "%llu syscalls, ", (unsigned long long)tr->syscalls);
	char *killer = killed_by(tr);
	fprintf(stderr, "prof: %s %s, %llu thread%s, %s%.2f s -> %s%s%s%s\n",
		fmt_count(tr->insns, n, sizeof n), sampled ? "samples" : "instructions",
		(unsigned long long)tr->threads_seen, tr->threads_seen == 1 ? "" : "s", syscalls,
		seconds, output, interrupted_by ? " (interrupted: incomplete)"
		: time_up && !tr->attached ? " (--duration elapsed, program killed: incomplete)" : "",
		killer ? ", program killed by " : "", killer ? killer : "");
	free(killer);
}

static char *attached_command(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	for (size_t i = 0; i + 1 < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
	return xasprintf("-p %d (%s)", (int)pid, buf);
}

static void write_start_meta(struct writer *w, const struct record_args *a)
{
	struct utsname u;
	uname(&u);
	send_meta(w, "command", a->attach_pid ? attached_command(a->attach_pid) : join_argv(a->argv));
	if (a->attach_pid)
		send_meta(w, "attached_pid", xasprintf("%d", (int)a->attach_pid));
	if (a->topt.mode == &sample_mode) {
		send_meta(w, "sample_freq", xasprintf("%u", a->topt.freq));
		send_meta(w, "sample_clock", xstrdup(a->topt.clock_wall ? "wall" : "cpu"));
	}
	send_meta(w, "mode", xstrdup(a->mode));
	if (a->topt.collect)
		send_meta(w, "collect", xstrdup(a->topt.collect));
	send_meta(w, "state", xstrdup("recording"));
	send_meta(w, "recorder_pid", xasprintf("%d", (int)getpid()));
	send_meta(w, "recorder_start", xasprintf("%llu", proc_start_time((int)getpid())));
	send_meta(w, "start_time_ns", xasprintf("%llu", (unsigned long long)realtime_ns()));
	send_meta(w, "host", xstrdup(u.nodename));
	send_meta(w, "kernel", xasprintf("%s %s", u.sysname, u.release));
	send_meta(w, "prof_version", xstrdup(PROF_VERSION));
}

static void write_end_meta(struct writer *w, const struct tracer *tr, uint64_t wall_ns)
{
	send_meta(w, "wall_ns", xasprintf("%llu", (unsigned long long)wall_ns));
	send_meta(w, "exit_status", xasprintf("%d", exit_code_of(tr)));
	char *killer = killed_by(tr);
	if (killer)
		send_meta(w, "killed_by", killer);
}

/* The last word of a recording, once everything else is in the file. */
static int write_state(sqlite3 *db, const struct tracer *tr)
{
	/* An attached recording ends by detaching: that is its normal end. */
	bool complete = tr->attached || (!interrupted_by && !time_up && tr->main_ended);
	return store_set_meta(db, "state", complete ? "complete" : "incomplete");
}

static int write_state_after(sqlite3 *db, const struct tracer *tr, bool names)
{
	if (names && names_write(db) != 0)
		log_warn("the recording holds no names: report will read them from the binaries");
	return write_state(db, tr);
}

/* Starts the program, stopped before its first instruction, or checks that
 * the process can be attached to; records nothing yet. Returns its pid, or
 * -1 with the exit code in *code. */
static pid_t begin_target(struct tracer *tr, const struct record_args *a, char *path, int *code)
{
	*code = 1;
	if (a->attach_pid)
		return tracer_attach_probe(a->attach_pid) == 0 ? a->attach_pid : -1;
	bool seize = a->topt.mode == &sample_mode;
	return launch(path, a->argv, a->topt.no_aslr, seize ? ptrace_options(tr) : 0, code);
}

/* The recording could not start: a launched program must not run untraced
 * (an attached one was left alone after the probe). */
static void abandon_target(const struct record_args *a, pid_t pid)
{
	if (a->attach_pid)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
}

/* Records the target, now running under us, from its first stop. */
static int adopt_target(struct tracer *tr, const struct record_args *a, pid_t pid)
{
	if (a->attach_pid) {
		if (tracer_attach_seize(pid, ptrace_options(tr)) != 0)
			return -1;
		tracer_attach(tr, pid, ptrace_options(tr));
		return 0;
	}
	return start_tracing(tr, pid);
}

/* Checks the target before prof.db is replaced: a typo must not cost a recording. */
static char *check_target(const struct record_args *a, int *code)
{
	if (!a->attach_pid)
		return resolve_program(a->argv[0], code);
	if (kill(a->attach_pid, 0) != 0 && errno == ESRCH) {
		log_error("cannot attach to %d: no such process", (int)a->attach_pid);
		*code = 1;
		return NULL;
	}
	return xasprintf("/proc/%d/exe", (int)a->attach_pid);
}

/* One recording of the target into output; returns prof record's exit code.
 * The output is replaced only once the program runs: a program that cannot
 * start costs no recording. */
static int record_once(struct record_args *a, const char *path, const char *output, bool names)
{
	char err[512];
	struct writer w;
	struct progress progress;
	struct tracer tr = { .opt = a->topt, .writer = &w, .progress = &progress,
			     .interrupted = &interrupted_by, .time_up = &time_up, .tick = &tick,
			     .attached = a->attach_pid != 0, .affinity = &a->affinity };
	int code;
	pid_t pid = begin_target(&tr, a, (char *)path, &code);
	if (pid <= 0)
		return code;
	sqlite3 *db = store_create(output, err, sizeof err);
	if (!db) {
		log_error("%s", err);
		abandon_target(a, pid);
		return 1;
	}
	tr.classifier = classifier_new();
	if (!tr.classifier || writer_start(&w, db) != 0) {
		log_error("cannot start recording");
		abandon_target(a, pid);
		classifier_free(tr.classifier);
		sqlite3_close(db);
		return 1;
	}
	write_start_meta(&w, a);
	uint64_t t0 = now_ns();
	code = 1;
	if (adopt_target(&tr, a, pid) != 0 ||
	    (a->topt.mode == &sample_mode && start_sample_timer(sample_tick_ns(&a->topt)) != 0))
		pid = -1;
	if (pid > 0) {
		arm_duration(a->duration);
		/* Sample mode sees no syscalls, so no writes: off when the program
		 * shares the terminal (a launched one always does). */
		bool sampling = a->topt.mode == &sample_mode;
		progress_init(&progress, !a->topt.quiet && !(sampling && progress_shares_terminal(pid)),
			      sampling ? "samples" : "instructions");
		tracer_run(&tr);
		progress_done(&progress);
		code = exit_code_of(&tr);
		if (a->topt.collect && !tr.collect_found)
			log_warn("record: --collect %s: no function of that name in the program or its "
				 "libraries; nothing was counted", a->topt.collect);
	}
	uint64_t wall = now_ns() - t0;
	write_end_meta(&w, &tr, wall);
	/* Names while the binaries are the ones that ran; a recording without
	 * them still reads (from the binaries), so a failure only warns. */
	if (writer_finish(&w) != 0 || write_state_after(db, &tr, names && pid > 0) != 0)
		code = code ? code : 1;
	else
		store_seal(db);
	if (sqlite3_close(db) != SQLITE_OK)
		log_error("closing %s: %s", output, sqlite3_errmsg(db));
	if (pid > 0 && !a->topt.quiet)
		print_summary(&tr, output, (double)wall / 1e9);
	classifier_free(tr.classifier);
	return code;
}

/* --verify: the same run again in step mode, compared instruction by instruction. */
static int verify_with_step(struct record_args *a, const char *path, int block_code)
{
	if (interrupted_by)
		return block_code;
	char *step_db = xasprintf("%s.verify-step", a->output);
	const char *fast_mode = a->topt.mode->name;
	a->topt.mode = &step_mode;
	a->mode = "step";
	if (!a->topt.quiet)
		fprintf(stderr, "prof: verifying: the same run in step mode (slow)...\n");
	int step_code = record_once(a, path, step_db, false);
	int rc = step_code == block_code ? verify_compare(a->output, step_db, fast_mode, a->topt.quiet) : -1;
	if (step_code != block_code)
		log_error("verify: the program exited %d in %s mode and %d in step mode",
			  block_code, fast_mode, step_code);
	unlink(step_db);
	char *wal = xasprintf("%s-wal", step_db), *shm = xasprintf("%s-shm", step_db);
	unlink(wal);
	unlink(shm);
	free(wal);
	free(shm);
	free(step_db);
	return rc == 0 ? block_code : VERIFY_MISMATCH_EXIT;
}

int cmd_record(int argc, char **argv)
{
	struct record_args a;
	if (parse_record_args(argc, argv, &a) != 0)
		return 2;
	char err[512];
	if (store_check_output(a.output, err, sizeof err) != 0) {
		log_error("record: %s", err);
		return 2;
	}
	int code = 1;
	char *path = check_target(&a, &code);
	if (!path)
		return code;
	install_interrupt_handlers();
	if (a.topt.pin_cpu && !a.attach_pid)
		affinity_pin(&a.affinity);
	code = record_once(&a, path, a.output, true);
	if (a.verify)
		code = verify_with_step(&a, path, code);
	free(path);
	return code;
}
