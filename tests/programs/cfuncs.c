/*
 * cfuncs.c - oracle program for per-function counts against callgrind.
 *
 * Dynamically linked against libc, built -O1 -g -fno-inline so that every
 * function below stays a separate symbol. The work is deterministic (no
 * input, no time, no randomness); only libc/ld.so startup and printf vary
 * with the libc build. The functions are not static so that -O1 cannot
 * rename them (no .constprop/.isra clones).
 *
 *   fill_data   - a loop writing N_DATA words (a multiplicative mix)
 *   sum_data    - a loop summing them
 *   fib         - naive recursion, fib(15) = 610: 1973 calls
 *   hash_text   - FNV-1a over a static string buffer
 *
 * Checked (gcc 12, -O1): single-stepping and
 *   valgrind --tool=callgrind --skip-plt=no --separate-recs=1
 * agree exactly on fib 28605, fill_data 16006, sum_data 10008,
 * hash_text 1293, main 27. With callgrind's defaults, main shows 32
 * (--skip-plt=yes charges the 5 lazy-binding PLT instructions of the
 * printf call to the caller) and fib is split into fib + fib'2 (recursion
 * levels; the sum is 28605). Whole-program totals do not match: under
 * valgrind, ld.so and libc run a different path (valgrind's preload
 * objects, emulated CPUID selecting other ifuncs).
 */
#include <stdio.h>

#define N_DATA 2000

unsigned data[N_DATA];

static const char text[] =
    "prof counts instructions with ptrace: every instruction once, "
    "a REP string instruction once per iteration, the dynamic loader "
    "included. This buffer is hashed with FNV-1a, byte by byte.";

void fill_data(unsigned *a, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = (unsigned)i * 2654435761u ^ ((unsigned)i >> 3);
}

unsigned long sum_data(const unsigned *a, int n)
{
    unsigned long s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] & 0xffff;
    return s;
}

int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

unsigned hash_text(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

int main(void)
{
    fill_data(data, N_DATA);
    unsigned long s = sum_data(data, N_DATA);
    int f = fib(15);
    unsigned h = hash_text(text);
    printf("sum=%lu fib=%d hash=%08x\n", s, f, h);
    return 0;
}
