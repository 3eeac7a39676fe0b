/*
 * cpus_allowed.c - the Cpus_allowed and Cpus_allowed_list lines of the
 * program's status files, read three ways: stdio (1 KiB reads on procfs, so
 * the lines may straddle two reads), read() 7 bytes at a time, and one
 * pread() of the whole file. prof pins the programs it traces to one CPU;
 * the output must be the same with and without prof.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void print_cpus(const char *how, const char *text)
{
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (strncmp(line, "Cpus_allowed", 12) == 0)
			printf("%s: %.*s\n", how, (int)len, line);
		line = end ? end + 1 : NULL;
	}
}

static void by_stdio(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	while (f && fgets(line, sizeof line, f))
		print_cpus("stdio", line);
	if (f)
		fclose(f);
}

static void by_small_reads(const char *path)
{
	static char text[16384];
	size_t n = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY);
	while (fd >= 0 && n + 7 < sizeof text && (got = read(fd, text + n, 7)) > 0)
		n += (size_t)got;
	text[n] = '\0';
	print_cpus("read 7", text);
	if (fd >= 0)
		close(fd);
}

static void by_pread(const char *path)
{
	static char text[16384];
	int fd = open(path, O_RDONLY);
	ssize_t got = fd >= 0 ? pread(fd, text, sizeof text - 1, 0) : -1;
	text[got > 0 ? got : 0] = '\0';
	print_cpus("pread", text);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	const char *paths[] = { "/proc/self/status", "/proc/thread-self/status" };
	for (int i = 0; i < 2; i++) {
		printf("%s\n", paths[i]);
		by_stdio(paths[i]);
		by_small_reads(paths[i]);
		by_pread(paths[i]);
	}
	return 0;
}
