/*
 * shmswap.c - code in System V shared memory, detached and another segment
 * attached at the same address, for the code cache's invalidation at shmdt
 * (test_codechange.py).
 *
 * Two segments of one page, attached SHM_EXEC, hold
 *   mov ecx, N; 1: dec ecx; jnz 1b; ret        2N + 2 instructions
 * with N = 100 in the first and 300 in the second. Three rounds attach
 * first, second, first again at the same address (shmdt in between) and
 * call the code CALLS = 3 times: per round 606, 1806, 606 instructions.
 * Prints the address in hex.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif
#define CALLS 3

static int ids[2] = { -1, -1 };

/* The segments go with the process, whatever way it ends but a kill. */
static void remove_segments(void)
{
	for (int i = 0; i < 2; i++)
		if (ids[i] >= 0)
			shmctl(ids[i], IPC_RMID, NULL);
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static int segment(uint32_t n)
{
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0)
		die("shmget");
	if (ids[0] < 0)
		ids[0] = id; /* removed at exit even if the second fails */
	uint8_t *p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		die("shmat");
	uint8_t body[] = { 0xb9, 0, 0, 0, 0, 0xff, 0xc9, 0x75, 0xfc, 0xc3 };
	memcpy(body + 1, &n, 4);
	memcpy(p, body, sizeof body);
	if (shmdt(p) != 0)
		die("shmdt");
	return id;
}

int main(void)
{
	int order[3] = { 0, 1, 0 };
	void *at = NULL;
	atexit(remove_segments);
	ids[0] = segment(100);
	ids[1] = segment(300);
	for (int r = 0; r < 3; r++) {
		void *p = shmat(ids[order[r]], at, SHM_EXEC | SHM_RDONLY);
		if (p == (void *)-1)
			die("shmat SHM_EXEC");
		at = p;
		void (*volatile code)(void) = (void (*)(void))p;
		for (int i = 0; i < CALLS; i++)
			code();
		if (r < 2 && shmdt(p) != 0)
			die("shmdt");
	}
	printf("%lx\n", (unsigned long)at);
	return 0;
}
