/* hashmix N: builds N keys with snprintf, hashes them (FNV-1a) and inserts
 * them into a small open-addressing table (linear probing, strcmp on
 * collision, strdup'd keys), then looks a few of them up.  Calls into libc
 * (snprintf, strlen, strcmp, strdup/malloc, free) so a profile shows
 * several functions in several objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#define TABLE_BITS 10
#define TABLE_SIZE (1u << TABLE_BITS)
#define KEY_COST 40 /* N units per key */

struct slot {
    char *key;
    uint32_t hash;
    unsigned count;
};

static struct slot table[TABLE_SIZE];

__attribute__((noinline)) static uint32_t fnv1a(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

__attribute__((noinline)) static struct slot *insert(const char *key, size_t len)
{
    uint32_t h = fnv1a(key, len);
    for (uint32_t i = 0; i < TABLE_SIZE; i++) {
        struct slot *s = &table[(h + i) & (TABLE_SIZE - 1)];
        if (!s->key) {
            s->key = strdup(key);
            if (!s->key) {
                perror("strdup");
                exit(1);
            }
            s->hash = h;
            s->count = 1;
            return s;
        }
        if (s->hash == h && strcmp(s->key, key) == 0) {
            s->count++;
            return s;
        }
    }
    return NULL; /* table full */
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    if (n < 0) {
        fprintf(stderr, "hashmix: N must be >= 0\n");
        return 2;
    }
    /* Work is linear in N: N / KEY_COST keys are built, hashed and inserted
     * (about 1,400 instructions per key, mostly in snprintf; "hashmix 20000"
     * = 500 keys, about 0.8M instructions with the loader).  Keys repeat
     * modulo 251 distinct values, so the table never fills and repeated keys
     * take the hash-match + strcmp path. */
    long keys = n / KEY_COST;
    char buf[64];
    unsigned long inserted = 0, full = 0;
    for (long i = 0; i < keys; i++) {
        long k = i % 251;
        int len = snprintf(buf, sizeof buf, "key-%ld-%lx", k,
                           (unsigned long)k * 2654435761u % 97);
        if (insert(buf, (size_t)len))
            inserted++;
        else
            full++;
    }
    unsigned long used = 0, maxcount = 0, sum = 0;
    for (unsigned i = 0; i < TABLE_SIZE; i++) {
        if (table[i].key) {
            used++;
            sum += table[i].hash;
            if (table[i].count > maxcount)
                maxcount = table[i].count;
            free(table[i].key);
        }
    }
    printf("hashmix %ld: keys %ld inserted %lu full %lu used %lu max %lu sum %lu\n",
           n, keys, inserted, full, used, maxcount, sum);
    return 0;
}
