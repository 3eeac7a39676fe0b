/* intloop N: integer arithmetic loop (multiply, xor, shift, add) over N
 * iterations; prints a checksum so the loop cannot be optimized away. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 30000;
    uint64_t a = 0x9e3779b97f4a7c15ULL, b = 12345, acc = 0;
    for (long i = 0; i < n; i++) {
        a = a * 6364136223846793005ULL + 1442695040888963407ULL;
        b ^= a >> 29;
        b += (uint64_t)i * 3;
        if (b & 1)
            acc += b >> 7;
        else
            acc ^= b << 3;
    }
    printf("intloop %ld: %llu\n", n, (unsigned long long)(acc ^ a));
    return 0;
}
