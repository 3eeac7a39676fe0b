/* What being traced takes away from a program, said once in a warning
 * rather than left to surprise: the privileges of a setuid, setgid or
 * file-capability program (the kernel does not grant them to a program
 * traced by a tracer without CAP_SYS_PTRACE), and ptrace itself (a process
 * has one tracer, and prof is it). */
#include "tracer.h"
#include "prof/log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CAP_SETGID_BIT 6
#define CAP_SETUID_BIT 7
#define CAP_SYS_PTRACE_BIT 19

/* prof's capability set NAME ("CapEff", "CapPrm") from its status file. */
static uint64_t own_caps(const char *name)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t n = strlen(name);
	uint64_t caps = 0;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			caps = strtoull(line + n + 1, NULL, 16);
	if (f)
		fclose(f);
	return caps;
}

static bool in_my_groups(gid_t gid)
{
	if (gid == getegid())
		return true;
	gid_t groups[256];
	int n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* The permitted set of exe's file capabilities (security.capability,
 * struct vfs_cap_data: magic, then permitted and inheritable words, low
 * then high), 0 without. */
static uint64_t file_caps(const char *exe)
{
	uint32_t raw[6] = { 0 };
	ssize_t n = getxattr(exe, "security.capability", raw, sizeof raw);
	if (n < 12)
		return 0;
	return raw[1] | (n >= 20 ? (uint64_t)raw[3] << 32 : 0);
}

/* What exe would have had natively and loses under prof, in words
 * ("setuid root"), or NULL. The kernel keeps them for a traced program when
 * its tracer has CAP_SYS_PTRACE; else it resets the set-ids unless the
 * program (with prof's own credentials) may set them anyway, and gives only
 * the file capabilities prof's permitted set has. A nosuid file system
 * ignores set-id bits natively too. */
static const char *privilege_lost(const char *exe, char *buf, size_t len)
{
	struct stat st;
	struct statvfs fs;
	uint64_t eff = own_caps("CapEff");
	if ((eff & (1ull << CAP_SYS_PTRACE_BIT)) || stat(exe, &st) != 0 ||
	    (statvfs(exe, &fs) == 0 && (fs.f_flag & ST_NOSUID)))
		return NULL;
	bool may_set_ids = eff & (1ull << CAP_SETUID_BIT);
	if ((st.st_mode & S_ISUID) && st.st_uid != geteuid() && !may_set_ids) {
		struct passwd *pw = getpwuid(st.st_uid);
		if (pw)
			snprintf(buf, len, "setuid %s", pw->pw_name);
		else
			snprintf(buf, len, "setuid uid %u", (unsigned)st.st_uid);
		return buf;
	}
	if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && !in_my_groups(st.st_gid) &&
	    !may_set_ids && !(eff & (1ull << CAP_SETGID_BIT))) {
		struct group *gr = getgrgid(st.st_gid);
		if (gr)
			snprintf(buf, len, "setgid %s", gr->gr_name);
		else
			snprintf(buf, len, "setgid gid %u", (unsigned)st.st_gid);
		return buf;
	}
	if (file_caps(exe) & ~own_caps("CapPrm")) {
		snprintf(buf, len, "given file capabilities prof does not have");
		return buf;
	}
	return NULL;
}

void privilege_check_exec(struct tracer *tr, pid_t pid)
{
	if (tr->privilege_warned)
		return;
	char link[64], exe[4096], what[128];
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, exe, sizeof exe - 1);
	if (n <= 0)
		return; /* unreadable: it did change credentials, so nothing was lost */
	exe[n] = '\0';
	if (!privilege_lost(exe, what, sizeof what))
		return;
	tr->privilege_warned = true;
	log_warn("%s is %s, which the kernel does not grant a program whose tracer lacks "
		 "CAP_SYS_PTRACE: it runs with your privileges (as under strace or gdb)", exe, what);
}

/* TracerPid of pid, 0 when none or unknown. */
static long tracer_pid_of(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	long tracer = 0;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "TracerPid:", 10) == 0)
			tracer = strtol(line + 10, NULL, 10);
	if (f)
		fclose(f);
	return tracer;
}

void privilege_check_syscall(struct tracer *tr, struct tracee *t, int64_t ret)
{
	if (t->sys_nr != SYS_ptrace || ret != -EPERM || tr->ptrace_warned)
		return;
	/* Refused because prof traces the process: PTRACE_TRACEME of a traced
	 * one, or attaching to one prof traces (strace's and gdb's child). */
	long request = (long)t->sys_regs.rdi;
	pid_t target = (pid_t)t->sys_regs.rsi;
	bool ours = request == PTRACE_TRACEME ||
		    ((request == PTRACE_ATTACH || request == PTRACE_SEIZE) &&
		     tracer_pid_of(target) == (long)getpid());
	if (!ours)
		return;
	tr->ptrace_warned = true;
	char link[64], exe[4096];
	snprintf(link, sizeof link, "/proc/%d/exe", (int)t->proc->pid);
	ssize_t n = readlink(link, exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	log_warn("%s (pid %d) called ptrace and was refused: prof is already its tracer%s, and a "
		 "process has only one (a debugger or strace cannot work under prof)",
		 n > 0 ? exe : "the program", (int)t->proc->pid,
		 request == PTRACE_TRACEME ? "" : " (of the process it attaches to)");
}
