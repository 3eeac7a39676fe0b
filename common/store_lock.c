/* One recorder per output: an flock on PATH-lock, taken before anything at
 * PATH is looked at, renamed or created, and held for the whole recording.
 * The kernel drops it when its holder dies, however it dies. */
#include "prof/store.h"
#include "prof/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The pid holding an flock on the file st names, from /proc/locks; 0 if
 * none (its holder let it go), -1 if it cannot be told. */
static long flock_holder(const struct stat *st)
{
	char want[64], line[256];
	snprintf(want, sizeof want, "%02x:%02x:%llu", major(st->st_dev), minor(st->st_dev),
		 (unsigned long long)st->st_ino);
	FILE *f = fopen("/proc/locks", "re");
	long pid = f ? 0 : -1;
	while (f && !pid && fgets(line, sizeof line, f)) {
		char kind[16], dev_ino[64];
		long holder;
		/* "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF" */
		if (sscanf(line, "%*s %15s %*s %*s %ld %63s", kind, &holder, dev_ino) == 3 &&
		    strcmp(kind, "FLOCK") == 0 && strcmp(dev_ino, want) == 0)
			pid = holder > 0 ? holder : -1; /* 0: in a pid namespace we cannot see */
	}
	if (f)
		fclose(f);
	return pid;
}

int store_lock_output(const char *path, char *err, size_t errlen)
{
	char *lock_path = xasprintf("%s-lock", path);
	int fd = -1;
	/* A holder that finishes unlinks the file under its lock: a file
	 * opened just before that is locked in vain, so the lock counts only
	 * on the file the path still names. */
	for (;;) {
		fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			snprintf(err, errlen, "cannot create %s: %s", lock_path, strerror(errno));
			break;
		}
		struct stat held, named;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			long pid = fstat(fd, &held) == 0 ? flock_holder(&held) : -1;
			if (pid == 0) { /* released meanwhile: it is free now */
				close(fd);
				continue;
			}
			if (pid > 0)
				snprintf(err, errlen, "%s: being recorded by prof (pid %ld)", path, pid);
			else
				snprintf(err, errlen, "%s: being recorded by another prof", path);
			close(fd);
			fd = -1;
			break;
		}
		if (fstat(fd, &held) == 0 && stat(lock_path, &named) == 0 &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino)
			break;
		close(fd);
	}
	free(lock_path);
	return fd;
}

void store_unlock_output(int fd, const char *path)
{
	if (fd < 0)
		return;
	char *lock_path = xasprintf("%s-lock", path);
	unlink(lock_path);
	free(lock_path);
	close(fd);
}
