/* diskfull.c - an LD_PRELOAD library that makes the disk of one directory
 * fill up on demand, for testing prof where no small file system can be
 * mounted (no root, no CAP_SYS_ADMIN):
 *
 *   PROF_TEST_FULL_DIR=DIR   the directory whose "disk" fills
 *   PROF_TEST_FULL_FLAG=F    once the file F exists, the disk is full: a write
 *                            that would make a file in DIR longer fails with
 *                            ENOSPC, as does preallocating; deleting a file
 *                            of DIR frees its length for later growth.
 *
 * Writes within a file's length still succeed, as on a real full disk. Only
 * the calls SQLite and prof make are covered: write, pwrite64, posix_fallocate,
 * unlink. */
#include <dlfcn.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long long freed; /* bytes deleted since the disk filled */

static bool is_full(void)
{
	const char *flag = getenv("PROF_TEST_FULL_FLAG");
	return flag && access(flag, F_OK) == 0;
}

static bool in_dir(const char *path)
{
	const char *dir = getenv("PROF_TEST_FULL_DIR");
	size_t n = dir ? strlen(dir) : 0;
	return n && strncmp(path, dir, n) == 0 && path[n] == '/';
}

static bool fd_in_dir(int fd)
{
	char link[64], path[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	return in_dir(path);
}

/* Whether growing fd's file to end bytes fits; takes the room it uses. */
static bool room_for(int fd, off_t end)
{
	struct stat st;
	if (!is_full() || !fd_in_dir(fd) || fstat(fd, &st) != 0 || end <= st.st_size)
		return true;
	long long grow = (long long)(end - st.st_size);
	if (grow > freed)
		return false;
	freed -= grow;
	return true;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	if (!real)
		real = dlsym(RTLD_NEXT, "pwrite64");
	if (!room_for(fd, off + (off_t)n)) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		real = dlsym(RTLD_NEXT, "write");
	off_t at = lseek(fd, 0, SEEK_CUR);
	if (at >= 0 && !room_for(fd, at + (off_t)n)) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, n);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
	static int (*real)(int, off_t, off_t);
	if (!real)
		real = dlsym(RTLD_NEXT, "posix_fallocate");
	return room_for(fd, off + len) ? real(fd, off, len) : ENOSPC;
}

int unlink(const char *path)
{
	static int (*real)(const char *);
	if (!real)
		real = dlsym(RTLD_NEXT, "unlink");
	struct stat st;
	bool counts = is_full() && in_dir(path) && stat(path, &st) == 0;
	int rc = real(path);
	if (rc == 0 && counts)
		freed += st.st_size;
	return rc;
}
