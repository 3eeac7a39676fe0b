/* blocked.c - says "blocked" on stdout, then blocks for ever and makes no
 * more syscalls: in pause() ("pause", the default) or in a read() of a
 * pipe nobody writes ("read"). Only a signal can end prof's wait for it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fds[2];
	if (pipe(fds) != 0)
		return 1;
	printf("blocked\n");
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "read") == 0) {
		char c;
		return read(fds[0], &c, 1) == 1 ? 0 : 2;
	}
	for (;;)
		pause();
}
