/* thread_exec.c - a non-leader thread calls execv(argv[1]): the new image
 * takes over the leader's pid, every other thread is gone. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static char **program;

static void *exec_it(void *arg)
{
	execv(program[0], program);
	perror("execv");
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	program = argv + 1;
	pthread_t t;
	pthread_create(&t, NULL, exec_it, NULL);
	pthread_join(t, NULL); /* never returns: the exec replaces us */
	return 1;
}
