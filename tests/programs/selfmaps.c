/* Prints what the program sees of its own address space: /proc/self/maps
 * read with stdio, then checks that other ways of reading it (a few bytes
 * at a time, pread, readv, lseek back to 0) give the same text, and prints
 * the range lines of /proc/self/smaps. Built not PIE (and static, and
 * static-pie): its libraries and its own mmaps go where the kernel's
 * top-down allocation puts them, which prof must not move. The output is the same with and without prof (address
 * randomization off for both). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_TEXT (1 << 20)

/* The whole file through read(2) calls of chunk bytes. */
static size_t read_all(int fd, char *buf, size_t chunk)
{
	size_t len = 0;
	ssize_t n;
	while (len + chunk < MAX_TEXT && (n = read(fd, buf + len, chunk)) > 0)
		len += (size_t)n;
	return len;
}

static void check(const char *what, int ok)
{
	if (!ok) {
		printf("MISMATCH: %s\n", what);
		exit(1);
	}
}

int main(void)
{
	static char whole[MAX_TEXT], small[MAX_TEXT], part[256], line[512];
	/* Where the kernel puts the program's own next mapping (top-down from
	 * its libraries, or from a static-pie executable). */
	void *own = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("its mmap: %p\n", own);
	fflush(stdout);
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return 2;
	size_t len = read_all(fd, whole, 65536);
	check("empty", len > 200);

	check("lseek to 0", lseek(fd, 0, SEEK_SET) == 0);
	check("read 7 bytes at a time", read_all(fd, small, 7) == len && !memcmp(small, whole, len));
	check("read at the end", read(fd, part, sizeof part) == 0);

	check("pread", pread(fd, part, 100, 150) == 100 && !memcmp(part, whole + 150, 100));
	check("pread past the end", pread(fd, part, 100, (off_t)len) == 0);

	check("lseek to 0, again", lseek(fd, 0, SEEK_SET) == 0);
	struct iovec iov[2] = { { part, 10 }, { part + 10, 90 } };
	check("readv", readv(fd, iov, 2) == 100 && !memcmp(part, whole, 100));
	check("position after readv", lseek(fd, 0, SEEK_CUR) == 100);
	close(fd);

	FILE *f = fopen("/proc/self/maps", "r");
	check("fopen", f != NULL);
	while (fgets(line, sizeof line, f))
		fputs(line, stdout);
	fclose(f);

	f = fopen("/proc/self/smaps", "r");
	while (f && fgets(line, sizeof line, f))
		if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'))
			printf("smaps %s", line);
	if (f)
		fclose(f);
	return 0;
}
