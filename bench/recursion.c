/* recursion N: naive recursive Fibonacci fib(N); deep call/ret traffic. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static unsigned long fib(int n)
{
    if (n < 2)
        return (unsigned long)n;
    return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 21;
    if (n < 0 || n > 60) {
        fprintf(stderr, "recursion: N must be in 0..60\n");
        return 2;
    }
    printf("recursion fib(%d) = %lu\n", n, fib(n));
    return 0;
}
