/*
 * chatty.c - writes to its terminal while prof draws its progress line on
 * the same terminal (tests/integration/test_terminal.py). It asks for time,
 * not work: lines every 0.1 s, a silent second (the progress line shows), a
 * line written in two parts 0.6 s apart, then a few more lines.
 */
#include <stdio.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spin(double seconds)
{
	double end = now() + seconds;
	while (now() < end)
		;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 1; i <= 5; i++) {
		spin(0.1);
		printf("line %d of the program's output\n", i);
	}
	spin(1.0);
	printf("partial ");
	spin(0.6);
	printf("line ends here\n");
	for (int i = 6; i <= 8; i++)
		printf("line %d of the program's output\n", i);
	spin(0.5);
	return 0;
}
