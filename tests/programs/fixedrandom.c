/*
 * fixedrandom.c - an LD_PRELOAD library that answers getrandom(2) (the
 * libc function, getentropy, and syscall(SYS_getrandom, ...)) with the
 * same bytes every time.
 *
 * LuaJIT seeds the generator that places its machine code from getrandom:
 * with this and ASLR off, two runs of a script execute the same
 * instructions at the same addresses, so cache mode can be compared with
 * block and step mode per instruction on a real JIT
 * (tests/integration/test_codechange.py). glibc's own call (malloc's
 * tcache key) does not go through these symbols and changes no count.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/types.h>

static void fill(void *buf, size_t n)
{
	unsigned char *p = buf;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 37 + 11);
}

ssize_t getrandom(void *buf, size_t n, unsigned flags)
{
	(void)flags;
	fill(buf, n);
	return (ssize_t)n;
}

int getentropy(void *buf, size_t n)
{
	fill(buf, n);
	return 0;
}

long syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_getrandom) {
		fill((void *)a[0], (size_t)a[1]);
		return a[1];
	}
	long (*real)(long, ...) = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
