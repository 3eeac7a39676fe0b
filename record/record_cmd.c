/* prof record: options, launching the program under ptrace, the recording's
 * meta data and summary. The loop itself is tracer.c. */
#include "prof/commands.h"
#include "affinity.h"
#include "decode_memo.h"
#include "warm_start.h"
#include "cpu_intercept.h"
#include "progress.h"
#include "sample.h"
#include "supervise.h"
#include "tracer.h"
#include "verify.h"
#include "writer.h"
#include "prof/log.h"
#include "prof/lines_prefetch.h"
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
	const char *cpu_name;  /* --cpu; NULL: host (or x86-64-v3 with --reproducible) */
	bool reproducible;     /* --reproducible: and a fixed environment */
	struct cpu_view cpu;   /* what topt.cpu points to */
};

/* --reproducible's environment for the program: nothing of the caller's,
 * so two runs on two machines read the same strings (README). */
static char *const fixed_environment[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/", "LC_ALL=C", "TZ=UTC0", NULL,
};

static volatile sig_atomic_t interrupted_by;
static volatile sig_atomic_t interrupts;
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
	if (sig == SIGALRM) {
		time_up = 1;
	} else {
		interrupted_by = sig;
		interrupts++;
	}
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
	"                        runs; any other file is never replaced; not '-':\n"
	"                        a database needs a file)\n"
	"  -m, --mode MODE       cache (default: exact, runs the program from a code\n"
	"                        cache prof writes into it: stops only at new code,\n"
	"                        syscalls and signals), block (exact, one stop per\n"
	"                        basic block),\n"
	"                        step (exact, single-steps every instruction) or\n"
	"                        sample (statistical, full speed, with call stacks)\n"
	"  -F, --freq HZ         sample mode only: samples per second (default 999, max 10000)\n"
	"      --clock cpu|wall  sample mode only: threads on CPU, weighted by CPU time\n"
	"                        (default), or every thread, blocked ones too\n"
	"  -p, --pid PID         attach to a running process (all its threads);\n"
	"                        detach at the end and leave it running\n"
	"  -d, --duration SECS   stop recording after SECS seconds\n"
	"  -q, --quiet           no progress line and no summary\n"
	"      --no-follow-fork  trace only the first process; children run untraced\n"
	"      --no-pin          do not pin tracer and program to one CPU\n"
	"      --no-scratch      block and cache mode only: map no scratch page (so no code\n"
	"                        cache either); single-step what block mode would run out\n"
	"                        of line (as where the kernel refuses the page)\n"
	"      --collect FUNC    count only while FUNC (a symbol name) is on the call\n"
	"                        stack of a thread, as callgrind's --toggle-collect:\n"
	"                        what it and its callees execute\n"
	"      --instr-atstart=no  count nothing until the program asks with valgrind's\n"
	"                        CALLGRIND_START_INSTRUMENTATION (as callgrind's option)\n"
	"      --collect-atstart=no  each thread counts nothing until it asks with\n"
	"                        CALLGRIND_TOGGLE_COLLECT (as callgrind's option)\n"
	"      --pretend-valgrind  RUNNING_ON_VALGRIND answers 1 (by default the program\n"
	"                        sees its native answer, 0: it runs as without valgrind)\n"
	"      --verify          record in block (or cache) mode, run again in step mode with\n"
	"                        address randomization off for both, and compare every\n"
	"                        instruction count (exit 3 when they differ)\n"
	"      --cpu MODEL       the CPU the program sees: host (default) or a virtual one,\n"
	"                        x86-64, x86-64-v2, x86-64-v3 or x86-64-v4 (the psABI\n"
	"                        levels): its cpuid and xgetbv are answered by prof, so\n"
	"                        glibc and the program choose the same code on any host\n"
	"                        that has the level's features\n"
	"      --no-aslr         launch the program with address randomization off\n"
	"                        (as setarch -R)\n"
	"      --reproducible    --cpu x86-64-v3 --no-aslr and a fixed environment (PATH,\n"
	"                        HOME, LC_ALL, TZ only): the same counts on every machine\n"
	"  -h, --help            this help\n"
	"\n"
	"prof record exits with the program's exit status (128+N if killed by signal N),\n"
	"126 or 127 when it cannot be run, 2 for bad options.\n";

/* Options that only some modes honour: given to another, they are refused
 * (one line), never silently ignored. */
struct given_options {
	bool freq, clock, no_scratch;
};

static int check_mode_options(const struct record_args *a, const struct given_options *given)
{
	const struct mode_ops *mode = a->topt.mode;
	const char *opt = given->freq && mode != &sample_mode ? "-F/--freq"
		: given->clock && mode != &sample_mode ? "--clock" : NULL;
	if (opt) {
		log_error("record: %s applies to sample mode only (this is %s mode)", opt, a->mode);
		return -1;
	}
	if (given->no_scratch && mode != &block_mode && mode != &cache_mode) {
		log_error("record: --no-scratch applies to block and cache mode only (this is %s mode)",
			  a->mode);
		return -1;
	}
	if (strcmp(a->output, "-") == 0) {
		log_error("record: -o -: a recording is an SQLite database, which needs a file it can "
			  "seek in, not a pipe; name a file (prof report then reads it)");
		return -1;
	}
	return 0;
}

/* What a launched program is shown (record --cpu, --no-aslr, --reproducible);
 * 0, or -1 after one error line. */
static int choose_cpu(struct record_args *a)
{
	if (a->attach_pid && (a->reproducible || a->topt.no_aslr ||
			      (a->cpu_name && strcmp(a->cpu_name, "host") != 0))) {
		log_error("record: %s applies to a program prof launches, not to -p: the running "
			  "process already asked its CPU and has its address layout",
			  a->reproducible ? "--reproducible" : a->topt.no_aslr ? "--no-aslr" : "--cpu");
		return -1;
	}
	const char *name = a->cpu_name ? a->cpu_name : a->reproducible ? "x86-64-v3" : "host";
	int level = cpu_level_parse(name);
	if (level < 0) {
		log_error("record: unknown CPU model '%s' (known: %s)", name, cpu_level_list());
		return -1;
	}
	struct cpu_view *v = &a->cpu;
	cpu_host_read(&v->host);
	v->level = level;
	a->topt.cpu = v;
	if (level == CPU_HOST)
		return 0;
	const char *lacks = cpu_host_lacks(&v->host, level);
	if (lacks) {
		log_error("record: the host lacks %s for --cpu %s", lacks, name);
		return -1;
	}
	v->faulting = cpu_faulting_offered();
	const char *fault_only = getenv("PROF_CPUID_FAULT_ONLY");
	v->fault_only = v->faulting && fault_only && *fault_only && strcmp(fault_only, "0") != 0;
	if (a->topt.mode == &sample_mode && !v->faulting) {
		log_error("record: --cpu in sample mode needs CPUID faulting, which this kernel or CPU "
			  "does not offer (the program runs freely: nothing else stops its cpuid); "
			  "record in an exact mode");
		return -1;
	}
	return 0;
}

static int parse_record_args(int argc, char **argv, struct record_args *a)
{
	struct given_options given_store = { 0 }, *given = &given_store;
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
		{ "cpu", required_argument, NULL, 'U' },
		{ "no-aslr", no_argument, NULL, 'A' },
		{ "reproducible", no_argument, NULL, 'R' },
		{ "instr-atstart", required_argument, NULL, 'I' },
		{ "collect-atstart", required_argument, NULL, 'T' },
		{ "pretend-valgrind", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	*a = (struct record_args){ .output = "prof.db", .mode = "cache",
				   .topt = { .follow_fork = true, .pin_cpu = true, .freq = 999 } };
	optind = 1;
	opterr = 0;
	int c;
	long long n;
	bool requests = false; /* an option about client requests */
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
		case 'S':
			a->topt.no_scratch = true;
			given->no_scratch = true;
			break;
		case 'V': a->verify = a->topt.no_aslr = true; break;
		case 'F':
			if ((n = parse_count(optarg)) < 1 || n > 10000) {
				log_error("record: --freq wants 1 to 10000 (Hz), not '%s'", optarg);
				return -1;
			}
			a->topt.freq = (unsigned)n;
			given->freq = true;
			break;
		case 'c':
			if (strcmp(optarg, "cpu") != 0 && strcmp(optarg, "wall") != 0) {
				log_error("record: --clock wants cpu or wall, not '%s'", optarg);
				return -1;
			}
			a->topt.clock_wall = strcmp(optarg, "wall") == 0;
			given->clock = true;
			break;
		case 'C':
			if (!*optarg) {
				log_error("record: --collect wants a function name");
				return -1;
			}
			a->topt.collect = optarg;
			break;
		case 'U': a->cpu_name = optarg; break;
		case 'A': a->topt.no_aslr = true; break;
		case 'R': a->reproducible = a->topt.no_aslr = true; break;
		case 'I':
		case 'T': {
			static const char *const yes_no[] = { "no", "yes" };
			int v = parse_choice("record", c == 'I' ? "--instr-atstart value" : "--collect-atstart value",
					     optarg, yes_no, 2);
			if (v < 0)
				return -1;
			*(c == 'I' ? &a->topt.instr_off_at_start : &a->topt.collect_off_at_start) = v == 0;
			requests = true;
			break;
		}
		case 'W':
			a->topt.pretend_valgrind = requests = true;
			break;
		case 'h': fputs(record_usage, stdout); exit(0);
		default:
			log_error("record: unknown or incomplete option '%s' (see 'prof record --help')",
				  argv[optind - 1]);
			return -1;
		}
	}
	static const char *const modes[] = { "cache", "block", "step", "sample" };
	static const struct mode_ops *const mode_of[] = { &cache_mode, &block_mode, &step_mode,
							  &sample_mode };
	int m = parse_choice("record", "mode", a->mode, modes, 4);
	if (m < 0)
		return -1;
	a->topt.mode = mode_of[m];
	if (a->topt.mode == &sample_mode)
		a->topt.pin_cpu = false; /* the program runs at full speed on its own CPU */
	if (check_mode_options(a, given) != 0)
		return -1;
	if (a->topt.collect && a->topt.mode == &sample_mode) {
		log_error("record: --collect counts exactly: cache, block or step mode");
		return -1;
	}
	if (requests && a->topt.mode == &sample_mode) {
		log_error("record: sample mode does not act on valgrind's client requests "
			  "(--instr-atstart, --collect-atstart, --pretend-valgrind): use an exact mode");
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
	return choose_cpu(a);
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
static pid_t launch(char *path, char **argv, char *const *envp, bool no_aslr, long seize_options,
		    int *code)
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
		execve(path, argv, envp ? envp : environ);
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
	 * its breakpoints, which must come out before they run free; with
	 * --cpu, their CPUID faulting too. */
	const struct cpu_view *cpu = tr->opt.cpu;
	bool faulting = cpu && cpu->level != CPU_HOST && cpu->faulting;
	if (tr->opt.follow_fork || tr->opt.mode == &block_mode || tr->opt.mode == &cache_mode ||
	    faulting)
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
		snprintf(syscalls, sizeof syscalls, "%llu syscall%s, ", (unsigned long long)tr->syscalls,
			 tr->syscalls == 1 ? "" : "s");
	char *killer = killed_by(tr), *lost, inexact[64] = "";
	uint64_t nlost = tracer_lost_list(tr, &lost);
	if (nlost)
		snprintf(inexact, sizeof inexact, "; %llu event%s cost exactness: ",
			 (unsigned long long)nlost, nlost == 1 ? "" : "s");
	char parts[32] = ""; /* the program dumped parts (client requests) */
	if (tr->parts_ended)
		snprintf(parts, sizeof parts, "%u parts, ", tr->parts_ended + 1);
	fprintf(stderr, "prof: %s %s, %llu thread%s, %s%s%.2f s -> %s%s%s%s%s%s\n",
		fmt_count(tr->insns, n, sizeof n), sampled ? "samples" : "instructions",
		(unsigned long long)tr->threads_seen, tr->threads_seen == 1 ? "" : "s", syscalls, parts,
		seconds, output, interrupted_by ? " (interrupted: incomplete)"
		: time_up && !tr->attached ? " (--duration elapsed, program killed: incomplete)" : "",
		killer ? ", program killed by " : "", killer ? killer : "", inexact, lost ? lost : "");
	free(killer);
	free(lost);
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

/* How prof answers the program's cpuid and xgetbv. */
static const char *interception(const struct record_args *a)
{
	const struct cpu_view *v = &a->cpu;
	if (v->level == CPU_HOST)
		return "none";
	if (a->topt.mode == &sample_mode)
		return "cpuid faulting (xgetbv not intercepted)";
	if (v->fault_only)
		return "cpuid faulting, xgetbv at block ends";
	return v->faulting ? "block ends, and cpuid faulting for the rest" : "block ends";
}

/* "off" when the program's addresses are not randomized. */
static const char *aslr_state(const struct record_args *a)
{
	char buf[32] = "";
	FILE *f = fopen("/proc/sys/kernel/randomize_va_space", "re");
	bool global_off = f && fgets(buf, sizeof buf, f) && buf[0] == '0';
	if (f)
		fclose(f);
	bool off = global_off || a->topt.no_aslr;
	if (a->attach_pid) {
		char path[64];
		unsigned long persona = 0;
		snprintf(path, sizeof path, "/proc/%d/personality", (int)a->attach_pid);
		f = fopen(path, "re");
		if (f && fscanf(f, "%lx", &persona) == 1 && (persona & ADDR_NO_RANDOMIZE))
			off = true;
		if (f)
			fclose(f);
	}
	return off ? "off" : "on";
}

/* What the program saw: the host's CPU, the model shown, its address layout. */
static void cpu_meta(const struct record_args *a, char *rows[][2])
{
	const struct cpu_host *h = &a->cpu.host;
	int host_level = cpu_host_level(h);
	rows[0][0] = "cpu_model", rows[0][1] = xstrdup(cpu_level_name(a->cpu.level));
	rows[1][0] = "cpu_host_vendor", rows[1][1] = xstrdup(h->vendor);
	rows[2][0] = "cpu_host_name", rows[2][1] = xstrdup(h->name);
	rows[3][0] = "cpu_host_level", rows[3][1] = xstrdup(host_level == CPU_HOST ? "below x86-64"
							   : cpu_level_name(host_level));
	rows[4][0] = "cpu_host_features", rows[4][1] = cpu_host_features(h);
	rows[5][0] = "cpu_interception", rows[5][1] = xstrdup(interception(a));
	rows[6][0] = "aslr", rows[6][1] = xstrdup(aslr_state(a));
	rows[7][0] = "environment", rows[7][1] = xstrdup(a->reproducible ? "fixed" : "inherited");
}
#define CPU_META_ROWS 8

/* Written to the file before the program runs (the writer has not started):
 * whatever happens later, a full disk included, the recording says what it is. */
static int write_start_meta(sqlite3 *db, const struct record_args *a)
{
	struct utsname u;
	uname(&u);
	char *rows[][2] = {
		{ "command", a->attach_pid ? attached_command(a->attach_pid) : join_argv(a->argv) },
		{ "attached_pid", a->attach_pid ? xasprintf("%d", (int)a->attach_pid) : NULL },
		{ "sample_freq", a->topt.mode == &sample_mode ? xasprintf("%u", a->topt.freq) : NULL },
		{ "sample_clock", a->topt.mode == &sample_mode
		  ? xstrdup(a->topt.clock_wall ? "wall" : "cpu") : NULL },
		{ "mode", xstrdup(a->mode) },
		{ "collect", a->topt.collect ? xstrdup(a->topt.collect) : NULL },
		/* Tail calls and PLT stubs' jumps open frames of their own
		 * (funcmap.c): the report need not guess what they cost. */
		{ "jump_frames", a->topt.mode != &sample_mode ? xstrdup("1") : NULL },
		{ "instr_atstart", a->topt.instr_off_at_start ? xstrdup("no") : NULL },
		{ "collect_atstart", a->topt.collect_off_at_start ? xstrdup("no") : NULL },
		{ "state", xstrdup("recording") },
		{ "recorder_pid", xasprintf("%d", (int)getpid()) },
		{ "recorder_start", xasprintf("%llu", proc_start_time((int)getpid())) },
		{ "start_time_ns", xasprintf("%llu", (unsigned long long)realtime_ns()) },
		{ "host", xstrdup(u.nodename) },
		{ "kernel", xasprintf("%s %s", u.sysname, u.release) },
		{ "prof_version", xstrdup(PROF_VERSION) },
	};
	int rc = store_exec(db, "BEGIN");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (rc == 0 && rows[i][1])
			rc = store_set_meta(db, rows[i][0], rows[i][1]);
		free(rows[i][1]);
	}
	char *cpu[CPU_META_ROWS][2];
	cpu_meta(a, cpu);
	for (size_t i = 0; i < CPU_META_ROWS; i++) {
		if (rc == 0)
			rc = store_set_meta(db, cpu[i][0], cpu[i][1]);
		free(cpu[i][1]);
	}
	if (rc == 0)
		rc = store_exec(db, "COMMIT");
	return rc;
}

static void write_end_meta(struct writer *w, const struct tracer *tr, uint64_t wall_ns)
{
	send_meta(w, "wall_ns", xasprintf("%llu", (unsigned long long)wall_ns));
	send_meta(w, "exit_status", xasprintf("%d", exit_code_of(tr)));
	char *killer = killed_by(tr);
	if (killer)
		send_meta(w, "killed_by", killer);
	char *lost;
	if (tracer_lost_list(tr, &lost))
		send_meta(w, "lost", lost);
}

/* The disk filled up: what the recording kept. Its WAL is not folded into the
 * file (that would need the space again): the two files are the recording. */
static void report_disk_full(const struct writer *w, const struct tracer *tr, const char *output)
{
	char kept[32], total[32];
	uint64_t all = w->kept + w->dropped;
	log_error("%s: the disk is full: kept the counts of %s of %s %s (%.1f%%), the rest is "
		  "lost; the recording is marked incomplete", output,
		  fmt_count(w->kept, kept, sizeof kept), fmt_count(all, total, sizeof total),
		  tr->opt.mode == &sample_mode ? "samples" : "instructions",
		  all ? 100.0 * (double)w->kept / (double)all : 100.0);
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
	if (names && names_write(db, tr->lines_ahead) != 0)
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
	return launch(path, a->argv, a->reproducible ? fixed_environment : NULL, a->topt.no_aslr,
		      seize ? ptrace_options(tr) : 0, code);
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
			     .interrupted = &interrupted_by, .interrupts = &interrupts, .time_up = &time_up, .tick = &tick,
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
	if (a->topt.mode != &sample_mode)
		tr.funcmap = funcmap_new();
	if (a->topt.mode == &cache_mode) {
		tr.decode_memo = decode_memo_new(DECODE_MEMO_MAX);
		tr.warm = warm_start_new();
	}
	if (!tr.classifier || write_start_meta(db, a) != 0 || writer_start(&w, db) != 0) {
		log_error("cannot start recording");
		abandon_target(a, pid);
		classifier_free(tr.classifier);
		funcmap_free(tr.funcmap);
		decode_memo_free(tr.decode_memo);
		warm_start_free(tr.warm);
		sqlite3_close(db);
		return 1;
	}
	affinity_unpin_helper(&a->affinity, w.thread);
	if (names && (tr.lines_ahead = lines_prefetch_start()))
		affinity_unpin_helper(&a->affinity, lines_prefetch_thread(tr.lines_ahead));
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
	tracer_flush_arcs(&tr);
	write_end_meta(&w, &tr, wall);
	/* Names while the binaries are the ones that ran; a recording without
	 * them still reads (from the binaries), so a failure only warns. */
	if (writer_finish(&w) != 0 || write_state_after(db, &tr, names && pid > 0) != 0)
		code = code ? code : 1;
	else
		store_seal(db);
	lines_prefetch_stop(tr.lines_ahead);
	if (w.disk_full)
		report_disk_full(&w, &tr, output);
	if (sqlite3_close(db) != SQLITE_OK)
		log_error("closing %s: %s", output, sqlite3_errmsg(db));
	if (pid > 0 && !a->topt.quiet)
		print_summary(&tr, output, (double)wall / 1e9);
	classifier_free(tr.classifier);
	funcmap_free(tr.funcmap);
	decode_memo_free(tr.decode_memo);
	warm_start_free(tr.warm);
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
	/* Checked under the lock, where it cannot change (another recorder may
	 * be creating it); what no recorder creates (a directory, a device
	 * named by mistake) is refused before, with no lock file beside it. */
	int lock = -1;
	struct stat st;
	bool regular = lstat(a.output, &st) != 0 || S_ISREG(st.st_mode);
	if ((!regular && store_check_output(a.output, err, sizeof err) != 0) ||
	    (lock = store_lock_output(a.output, err, sizeof err)) < 0 ||
	    store_check_output(a.output, err, sizeof err) != 0) {
		log_error("%s%s", strstr(err, ": being recorded by") ? "" : "record: ", err);
		store_unlock_output(lock, a.output);
		return 2;
	}
	int code = 1;
	char *path = check_target(&a, &code);
	if (!path) {
		store_unlock_output(lock, a.output);
		return code;
	}
	/* Handlers first: the supervisor's death may be signalled at once. */
	install_interrupt_handlers();
	pid_t supervisor = 0;
	int supervised = supervise_fork(&supervisor);
	if (supervised > 0 || (supervised == 0 && !supervisor)) {
		/* The supervisor, with the tracer's exit status; the tracer, which
		 * shares the lock, unlocks the output. */
		free(path);
		return supervised;
	}
	if (a.topt.pin_cpu && !a.attach_pid)
		affinity_pin(&a.affinity);
	code = record_once(&a, path, a.output, true);
	if (a.verify)
		code = verify_with_step(&a, path, code);
	store_unlock_output(lock, a.output);
	free(path);
	return code;
}
