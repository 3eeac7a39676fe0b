/*
 * tailcall.c - functions entered by a jump, for inclusive counts and
 * stacks: mid ends in a tail call (`jmp leaf`, -O2 sibling calls), and
 * main calls getpid through the PLT (linked -z now: the stub jumps
 * straight to getpid).
 *
 *   main -> mid -(jmp)-> leaf -> work    (a loop of N_WORK rounds)
 *   main -> getpid@plt -(jmp)-> getpid
 *
 * noipa keeps each function a separate symbol with its own code (no clones,
 * no inlining); the result goes to a volatile so nothing is left out.
 */
#include <unistd.h>

#define N_WORK 300

volatile unsigned sink;

__attribute__((noipa)) unsigned work(unsigned x)
{
    for (int i = 0; i < N_WORK; i++)
        x = x * 2654435761u + (unsigned)i;
    return x;
}

__attribute__((noipa)) unsigned leaf(unsigned x)
{
    return work(x) * 3 + 1;
}

__attribute__((noipa)) unsigned mid(unsigned x)
{
    return leaf(x * 7 + 1);
}

int main(int argc, char **argv)
{
    (void)argv;
    sink = mid((unsigned)argc);
    sink = (unsigned)getpid();
    return 0;
}
