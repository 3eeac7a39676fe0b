/* prof record -p PID: PTRACE_SEIZE every thread of a running process, and
 * detaching from it at the end so it runs on unharmed. */
#include "tracer.h"
#include "sandbox.h"
#include "prof/log.h"
#include "prof/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static long read_status_field(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	long value = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			value = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return value;
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The one-letter state of /proc/PID/stat ('Z' zombie...), or 0 when pid is gone. */
static char process_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	const char *close = strrchr(buf, ')'); /* the command name may hold anything */
	return close && close[1] == ' ' ? close[2] : 0;
}

/* Bit CAP_SYS_PTRACE (19) of prof's effective capabilities. */
static bool may_ptrace_anyone(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long caps = 0;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "CapEff:", 7) == 0)
			caps = strtoull(line + 7, NULL, 16);
	if (f)
		fclose(f);
	return caps & (1ull << 19);
}

/* EPERM has several causes; say which one applies, as strace does. Each is
 * checked after the refusal, so a cause that came and went (a tracer that
 * detached meanwhile) is named among the possible ones, never denied. */
static void explain_attach_error(pid_t pid, int err)
{
	char state = process_state(pid);
	if (err == ESRCH || (err == EPERM && !state)) {
		log_error("cannot attach to %d: %s", (int)pid,
			  err == ESRCH ? "no such process" : "it exited while prof was attaching");
		return;
	}
	if (err != EPERM) {
		log_error("cannot attach to %d: %s", (int)pid, strerror(err));
		return;
	}
	long tracer = read_status_field(pid, "TracerPid");
	long uid = read_status_field(pid, "Uid");
	int scope = read_int_file("/proc/sys/kernel/yama/ptrace_scope");
	bool privileged = may_ptrace_anyone();
	if (state == 'Z' || state == 'X')
		log_error("cannot attach to %d: it has exited (a zombie its parent has not "
			  "reaped yet): there is nothing left to trace", (int)pid);
	else if (tracer > 0)
		log_error("cannot attach to %d: it is already traced by process %ld "
			  "(a debugger, strace or another prof)", (int)pid, tracer);
	else if (scope == 3)
		log_error("cannot attach to %d: kernel.yama.ptrace_scope=3 forbids attaching", (int)pid);
	else if (scope >= 1 && !privileged)
		log_error("cannot attach to %d: ptrace refused by kernel.yama.ptrace_scope=%d "
			  "(run as root, or sysctl kernel.yama.ptrace_scope=0)", (int)pid, scope);
	else if (!privileged && uid >= 0 && uid != (long)geteuid())
		log_error("cannot attach to %d: it runs as another user (uid %ld) and prof lacks "
			  "CAP_SYS_PTRACE", (int)pid, uid);
	else if (!privileged)
		log_error("cannot attach to %d: it is not dumpable (a setuid or setgid program, or "
			  "one that called prctl(PR_SET_DUMPABLE, 0)) and prof lacks CAP_SYS_PTRACE",
			  (int)pid);
	else
		log_error("cannot attach to %d: ptrace refused (EPERM) although prof may trace any "
			  "process: a security module (SELinux, AppArmor) forbids it, or it was being "
			  "traced or exiting at that moment", (int)pid);
}

/* The leader left by pthread_exit while other threads run on: ptrace
 * refuses a zombie, so prof attaches to the others only. */
static bool leader_is_zombie(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	bool zombie = false;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "State:", 6) == 0)
			zombie = strchr(line, 'Z') != NULL;
	if (f)
		fclose(f);
	return zombie;
}

/* A live thread of pid other than its leader (0: none). */
static pid_t live_thread(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	pid_t found = 0;
	struct dirent *e;
	while (d && !found && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid > 0 && tid != pid)
			found = tid;
	}
	if (d)
		closedir(d);
	return found;
}

static pid_t read_ppid(pid_t pid)
{
	long ppid = read_status_field(pid, "PPid");
	return ppid > 0 ? (pid_t)ppid : 0;
}

static bool is_known(struct tracer *tr, pid_t tid)
{
	for (size_t i = 0; i < tr->nthreads; i++)
		if (tr->threads[i]->tid == tid)
			return true;
	return false;
}

/* Seizes threads of pid not seized yet; returns how many were added and sets
 * *listed to how many the directory listed. Threads created after their
 * creator was seized arrive through PTRACE_EVENT_CLONE. */
static int seize_new_threads(struct tracer *tr, struct proc *p, long options, long *listed)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)p->pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int added = 0;
	struct dirent *e;
	*listed = 0;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		*listed += tid > 0;
		if (tid <= 0 || is_known(tr, tid))
			continue;
		if (ptrace(PTRACE_SEIZE, tid, 0, options) != 0) {
			log_debug("seize %d: %s", tid, strerror(errno));
			continue; /* it exited meanwhile */
		}
		tracer_thread_add(tr, tid, p);
		if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
			log_debug("interrupt %d: %s", tid, strerror(errno));
		added++;
	}
	closedir(d);
	return added;
}

/* Seizes every thread of p. A pass that adds none is not enough: a thread
 * not yet seized may start others meanwhile, and a listing of the task
 * directory skips entries when threads exit during it. So passes go on
 * until one lists as many threads as the kernel counts, before and after,
 * and all of them seized: a thread left unseized would die of the first
 * int3 prof writes (busy with churning threads did, 1 attach in ~100). */
static void seize_all_threads(struct tracer *tr, struct proc *p, long options)
{
	for (int pass = 0; pass < 100000; pass++) {
		long listed = 0, before = read_status_field(p->pid, "Threads");
		int added = seize_new_threads(tr, p, options, &listed);
		long after = read_status_field(p->pid, "Threads");
		log_debug("attach pass %d: %d added, %ld listed, %ld then %ld threads", pass, added,
			  listed, before, after);
		if (!added && (listed == before && before == after))
			return;
		if (before < 0 || after < 0)
			return; /* the process is gone: the loop will see its exit */
	}
	log_warn("process %d: its threads kept changing while prof attached: some may not be traced",
		 (int)p->pid);
}

/* Waits until every seized thread has stopped, keeping each status for the
 * loop: the first thread to begin may then change the process (block mode
 * injects its scratch page) while no other runs. */
static void wait_first_stops(struct tracer *tr)
{
	for (size_t i = 0; i < tr->nthreads; i++) {
		int status;
		pid_t tid = tr->threads[i]->tid;
		if (tracer_wait_thread(tr, tid, &status))
			tracer_defer_status(tr, tid, status);
	}
}

int tracer_attach_seize(pid_t pid, long options)
{
	if (pid == getpid() || pid == getppid()) {
		log_error("cannot attach to %d: that is prof itself", (int)pid);
		return -1;
	}
	if (read_status_field(pid, "Tgid") == (long)getpid()) {
		log_error("cannot attach to %d: it is a thread of prof itself", (int)pid);
		return -1;
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, options) == 0)
		return 0;
	int err = errno;
	if (err == EPERM && leader_is_zombie(pid) && live_thread(pid))
		return 0; /* tracer_attach seizes the live threads */
	explain_attach_error(pid, err);
	return -1;
}

int tracer_attach_probe(pid_t pid)
{
	/* No options: the probe must not adopt threads or children it makes. */
	if (tracer_attach_seize(pid, 0) != 0)
		return -1;
	if (leader_is_zombie(pid)) {
		pid_t other = live_thread(pid);
		if (!other) {
			log_error("cannot attach to %d: it exited while prof was attaching", (int)pid);
			return -1;
		}
		if (tracer_attach_seize(other, 0) != 0)
			return -1;
		pid = other;
	}
	int status = 0;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0 || waitpid(pid, &status, __WALL) != pid ||
	    !WIFSTOPPED(status)) {
		log_error("cannot attach to %d: it did not stop under ptrace", (int)pid);
		return -1;
	}
	/* A signal-delivery stop holds a signal the program must still get. */
	int pass = status >> 16 == 0 ? WSTOPSIG(status) : 0;
	if (ptrace(PTRACE_DETACH, pid, 0, pass) != 0) {
		log_error("cannot attach to %d: detaching after the check: %s", (int)pid, strerror(errno));
		return -1;
	}
	return 0;
}

void tracer_attach(struct tracer *tr, pid_t pid, long options)
{
	tr->attached = true;
	tr->main_pid = pid;
	struct proc *p = tracer_proc_new(tr, pid, read_ppid(pid), false);
	if (!leader_is_zombie(pid)) {
		tracer_thread_add(tr, pid, p);
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0)
			log_debug("interrupt %d: %s", pid, strerror(errno));
	} else {
		p->mm_tid = live_thread(pid);
	}
	seize_all_threads(tr, p, options);
	wait_first_stops(tr);
	sandbox_read_attached(&p->sandbox, p->mm_tid);
}
