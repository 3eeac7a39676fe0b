/* memcpy_heavy N: N rounds of memset + memcpy + memmove over buffers of
 * varied sizes (8 bytes .. 4 KiB), so the profile is dominated by libc's
 * string/memory routines.  On ERMS CPUs glibc's memset uses REP STOSB above
 * 2 KiB, which single-stepping counts once per byte: natively this workload
 * executes far more instructions than valgrind (whose virtual CPU selects
 * another variant) reports -- a good test of REP handling.
 * Prints a checksum so the copies cannot be optimized away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#define BUF_SIZE 8192

static const size_t sizes[] = { 8, 13, 32, 64, 100, 255, 512, 1000, 2048, 4096 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 500;
    unsigned char *src = malloc(BUF_SIZE), *dst = malloc(BUF_SIZE);
    if (!src || !dst) {
        perror("malloc");
        return 1;
    }
    for (size_t i = 0; i < BUF_SIZE; i++)
        src[i] = (unsigned char)(i * 31 + 7);
    uint64_t sum = 0;
    for (long r = 0; r < n; r++) {
        size_t len = sizes[(size_t)r % NSIZES];
        size_t off = (size_t)r % 61;            /* vary alignment */
        memset(dst + off, (int)(r & 0xff), len);
        memcpy(dst + off, src + ((size_t)r % 97), len);
        memmove(dst + 1, dst, len / 2);
        /* make the result depend on the copied bytes */
        sum = sum * 131 + dst[off + len - 1] + dst[off] + dst[1 + len / 4];
    }
    printf("memcpy_heavy %ld: %llu\n", n, (unsigned long long)sum);
    free(src);
    free(dst);
    return 0;
}
